/**
 * values[from..from+count) ← softmax of themselves, in place, shifted by their
 * maximum so that no exp overflows. Returns log Σ exp(values), the
 * log-partition a cross-entropy loss needs.
 */
export function softmaxInPlace(values: { [index: number]: number }, from: number, count: number): number {
  let max = -Infinity;
  for (let c = 0; c < count; c++) if (values[from + c] > max) max = values[from + c];
  let sum = 0;
  for (let c = 0; c < count; c++) {
    const e = Math.exp(values[from + c] - max);
    values[from + c] = e;
    sum += e;
  }
  for (let c = 0; c < count; c++) values[from + c] /= sum;
  return max + Math.log(sum);
}
