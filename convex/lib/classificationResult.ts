/**
 * What leaves the server after a classification. Clients get the top few
 * classes with rounded probabilities, never the full vector at full
 * precision: every extra digit and class makes it cheaper to distil a copy
 * of the MLP from query answers (see docs/security.md).
 */

export const RESULT_TOP_K = 3;
export const RESULT_DECIMALS = 3;
/** Confidence histogram bins over [0, 1]: bin i holds [i/10, (i+1)/10), and 1.0 falls in the last bin. */
export const CONFIDENCE_BINS = 10;

export interface ClassScore {
  label: string;
  probability: number;
}

export function roundProbability(probability: number, decimals = RESULT_DECIMALS): number {
  const scale = 10 ** decimals;
  return Math.round(probability * scale) / scale;
}

/** The k most probable classes, highest first (ties keep class order), rounded. */
export function topClasses(
  probabilities: ArrayLike<number>,
  classes: readonly string[],
  k = RESULT_TOP_K,
  decimals = RESULT_DECIMALS,
): ClassScore[] {
  if (probabilities.length !== classes.length) {
    throw new Error(`topClasses: ${probabilities.length} probabilities for ${classes.length} classes`);
  }
  const order = Array.from({ length: classes.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, Math.min(k, classes.length)).map((i) => ({
    label: classes[i],
    probability: roundProbability(probabilities[i], decimals),
  }));
}

export function confidenceBin(confidence: number, bins = CONFIDENCE_BINS): number {
  if (!Number.isFinite(confidence) || confidence <= 0) return 0;
  return Math.min(bins - 1, Math.floor(confidence * bins));
}

export function confidenceBinBounds(bin: number, bins = CONFIDENCE_BINS): { lower: number; upper: number } {
  return { lower: bin / bins, upper: (bin + 1) / bins };
}

/** What a client gets back for a stored classification: the top classes, rounded, and the version that answered. */
export function toClassificationResult<VersionId>(
  probabilities: ArrayLike<number>,
  version: { _id: VersionId; number: number; name: string; summary: { classes: readonly string[] } },
): { label: string; confidence: number; top: ClassScore[]; versionId: VersionId; versionNumber: number; versionName: string } {
  const top = topClasses(probabilities, version.summary.classes);
  return {
    label: top[0].label,
    confidence: top[0].probability,
    top,
    versionId: version._id,
    versionNumber: version.number,
    versionName: version.name,
  };
}
