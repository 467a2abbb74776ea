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
  | { kind: "maxMs"; value: number };

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

export function evaluateTarget(target: Target, subjectMs: number, ratio: number): TargetVerdict {
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
  notes?: string[];
}): BenchFigure {
  const ratio = fields.ratio ?? fields.subject.ms / fields.reference.ms;
  return {
    id: fields.id,
    label: fields.label,
    subject: fields.subject,
    reference: fields.reference,
    ratio,
    target: fields.target ? evaluateTarget(fields.target, fields.subject.ms, ratio) : undefined,
    values: fields.values ?? {},
    notes: fields.notes ?? [],
  };
}

export { formatRatio };
