/**
 * What every benchmark stage reports: a measured subject, the reference it
 * was measured against in the same run, their ratio, and how that compares
 * with the target for the stage.
 */

/** Targets from the performance issue. */
export type Target =
  /** subject time / reference time must not exceed `value`. */
  | { kind: "maxRatio"; value: number }
  /** reference time / subject time must be at least `value`. */
  | { kind: "minSpeedup"; value: number }
  /** the subject's absolute time must not exceed `value` milliseconds. */
  | { kind: "maxMs"; value: number }
  /** the largest transaction of the measured call must read at most `value` bytes. */
  | { kind: "maxBytesRead"; value: number };

/** Documents and bytes a measured call read from the database, as convex-test's transaction limits count them. */
export interface FigureReads {
  /** What one item is: "classification", "vector", "labelled item", "page". */
  item: string;
  /** Items the measured call(s) handled. */
  items: number;
  perItem: { documents: number; bytes: number };
  /** Documents and bytes written per item, for the cost table. */
  writtenPerItem: { documents: number; bytes: number };
  /** The call's largest single transaction: what a limit or a budget applies to. */
  largestTransaction: { documents: number; bytes: number };
  transactions: number;
}

export interface TargetVerdict {
  /** "≤ 2× reference", "≥ 10× faster", "≤ 0.5 ms". */
  text: string;
  met: boolean;
  /** "met", or how far off: "missed: 6.20× vs ≤ 2× (3.10× too slow)". */
  verdict: string;
}

export interface TimedSide {
  name: string;
  /** Median milliseconds per unit of work (one call, one image or one vector as the figure says). */
  ms: number;
}

export interface BenchFigure {
  /** Stable key for --json consumers, e.g. "forward.single". */
  id: string;
  label: string;
  subject: TimedSide;
  reference: TimedSide;
  /** subject.ms / reference.ms (median of paired trials where the stage pairs them). */
  ratio: number;
  target?: TargetVerdict;
  /** Other measured values, e.g. maxAbsDifference or vectorsPerSecond. */
  values: Record<string, number>;
  /** Database reads per item, for the stages that run Convex functions. */
  reads?: FigureReads;
  notes: string[];
}

export interface StageReport {
  stage: string;
  figures: BenchFigure[];
  /** Set when the stage could not run here, with the reason and how to enable it. */
  skipped?: string;
}

function formatRatio(value: number): string {
  if (value < 1) return `${value.toPrecision(2)}×`;
  return `${value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

/** "10.8×", or for a subject faster than its reference "0.27× (3.7× faster)". */
export function formatRatioWithSpeedup(value: number): string {
  return value < 1 ? `${formatRatio(value)} (${formatRatio(1 / value)} faster)` : formatRatio(value);
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 1) return `${ms.toFixed(ms >= 100 ? 0 : 2)} ms`;
  return `${(ms * 1000).toFixed(ms >= 0.1 ? 0 : 1)} µs`;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1_000_000) return `${(bytes / 1_000_000).toFixed(2)} MB`;
  if (bytes >= 1000) return `${(bytes / 1000).toFixed(1)} KB`;
  return `${Math.round(bytes)} B`;
}

/** "10 docs, 653.2 KB per classification". */
export function formatReads(reads: FigureReads): string {
  const documents = reads.perItem.documents;
  const shown = Number.isInteger(documents) ? String(documents) : documents.toFixed(2);
  return `${shown} docs, ${formatBytes(reads.perItem.bytes)} per ${reads.item}`;
}

export function evaluateTarget(target: Target, subjectMs: number, ratio: number, reads?: FigureReads): TargetVerdict {
  switch (target.kind) {
    case "maxRatio": {
      const text = `≤ ${target.value}× reference`;
      const met = ratio <= target.value;
      return { text, met, verdict: met ? "met" : `missed: ${formatRatio(ratio)} vs ≤ ${target.value}× (${formatRatio(ratio / target.value)} too slow)` };
    }
    case "minSpeedup": {
      const text = `≥ ${target.value}× faster`;
      const speedup = 1 / ratio;
      const met = speedup >= target.value;
      return { text, met, verdict: met ? "met" : `missed: ${formatRatio(speedup)} faster vs ≥ ${target.value}× (${formatRatio(target.value / speedup)} short)` };
    }
    case "maxMs": {
      const text = `≤ ${formatMs(target.value)}`;
      const met = subjectMs <= target.value;
      return { text, met, verdict: met ? "met" : `missed: ${formatMs(subjectMs)} vs ≤ ${formatMs(target.value)} (${formatRatio(subjectMs / target.value)} too slow)` };
    }
    case "maxBytesRead": {
      const text = `≤ ${formatBytes(target.value)} read per transaction`;
      if (reads === undefined) return { text, met: false, verdict: "missed: the figure carries no reads to check" };
      const largest = reads.largestTransaction.bytes;
      const met = largest <= target.value;
      return { text, met, verdict: met ? "met" : `missed: the largest transaction read ${formatBytes(largest)} vs ≤ ${formatBytes(target.value)}` };
    }
  }
}

export function makeFigure(fields: {
  id: string;
  label: string;
  subject: TimedSide;
  reference: TimedSide;
  ratio?: number;
  target?: Target;
  values?: Record<string, number>;
  reads?: FigureReads;
  notes?: string[];
}): BenchFigure {
  const ratio = fields.ratio ?? fields.subject.ms / fields.reference.ms;
  return {
    id: fields.id,
    label: fields.label,
    subject: fields.subject,
    reference: fields.reference,
    ratio,
    target: fields.target ? evaluateTarget(fields.target, fields.subject.ms, ratio, fields.reads) : undefined,
    values: fields.values ?? {},
    ...(fields.reads ? { reads: fields.reads } : {}),
    notes: fields.notes ?? [],
  };
}

/** The reads of one measured call, spread over the `items` it handled. */
export function readsPerItem(
  reads: { transactions: ReadonlyArray<{ documentsRead: number; bytesRead: number; documentsWritten?: number; bytesWritten?: number }> },
  item: string,
  items: number,
): FigureReads {
  if (!(items > 0)) throw new Error(`readsPerItem needs a positive item count, got ${items}`);
  let documents = 0;
  let bytes = 0;
  let documentsWritten = 0;
  let bytesWritten = 0;
  let largest = { documents: 0, bytes: 0 };
  for (const transaction of reads.transactions) {
    documents += transaction.documentsRead;
    bytes += transaction.bytesRead;
    documentsWritten += transaction.documentsWritten ?? 0;
    bytesWritten += transaction.bytesWritten ?? 0;
    if (transaction.bytesRead > largest.bytes) largest = { documents: transaction.documentsRead, bytes: transaction.bytesRead };
  }
  return {
    item,
    items,
    perItem: { documents: documents / items, bytes: bytes / items },
    writtenPerItem: { documents: documentsWritten / items, bytes: bytesWritten / items },
    largestTransaction: largest,
    transactions: reads.transactions.length,
  };
}

export { formatRatio };
