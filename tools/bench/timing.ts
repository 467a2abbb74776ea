/**
 * Timing for the benchmark. The machine is shared (2 cores, other work
 * running), so a subject and its reference are always timed in interleaved
 * trials (A, B, A, B, ...) and compared trial by trial: a burst of load hits
 * both sides of a pair instead of skewing one side's median.
 */

export interface TimingOptions {
  /** Trials per side; the reported figures are medians over them. */
  trials: number;
  /** Each trial repeats the call until it has run at least this long. */
  minTrialMs: number;
  /** Calls are made (and discarded) for this long before calibration, for the JIT and caches; at least one call. */
  warmupMs: number;
}

export interface Timing {
  /** Median time of one call, in milliseconds. */
  medianMs: number;
  minMs: number;
  maxMs: number;
  trials: number;
  callsPerTrial: number;
}

export interface PairedTiming {
  subject: Timing;
  reference: Timing;
  /** Median over trials of subject time / reference time (the two of a trial run back to back). */
  ratio: number;
}

export type TimedCall = () => unknown;

export const defaultTimingOptions: TimingOptions = { trials: 15, minTrialMs: 40, warmupMs: 200 };

/** Keeps results observable so the JIT cannot drop a call whose result is unused. */
let sink = 0;
function consume(value: unknown): void {
  if (typeof value === "number") sink += value;
  else if (value !== null && typeof value === "object") sink += 1;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty list");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === "function";
}

/**
 * A call site that stays synchronous for synchronous functions, so a sub-
 * microsecond kernel is not charged for an await it would never pay in use.
 */
async function runCalls(call: TimedCall, count: number, asynchronous: boolean): Promise<number> {
  const started = performance.now();
  if (asynchronous) {
    for (let i = 0; i < count; i++) consume(await call());
  } else {
    for (let i = 0; i < count; i++) consume(call());
  }
  return performance.now() - started;
}

async function warmUp(call: TimedCall, options: TimingOptions): Promise<{ asynchronous: boolean; callsPerTrial: number }> {
  const first = call();
  const asynchronous = isPromise(first);
  consume(asynchronous ? await first : first);
  const warmupEnds = performance.now() + options.warmupMs;
  while (performance.now() < warmupEnds) await runCalls(call, 1, asynchronous);
  // Calibrate: grow the count until one batch takes a tenth of a trial, then scale up.
  let count = 1;
  let elapsed = await runCalls(call, count, asynchronous);
  while (elapsed < options.minTrialMs / 10 && count < 1e7) {
    count *= 4;
    elapsed = await runCalls(call, count, asynchronous);
  }
  const perCall = Math.max(elapsed / count, 1e-6);
  return { asynchronous, callsPerTrial: Math.max(1, Math.ceil(options.minTrialMs / perCall)) };
}

function summarize(samples: number[], callsPerTrial: number): Timing {
  return { medianMs: median(samples), minMs: Math.min(...samples), maxMs: Math.max(...samples), trials: samples.length, callsPerTrial };
}

/** Times `subject` against `reference` in interleaved trials (see the file comment). */
export async function comparePaired(subject: TimedCall, reference: TimedCall, options: TimingOptions = defaultTimingOptions): Promise<PairedTiming> {
  if (!(options.trials >= 1)) throw new Error(`timing: trials must be at least 1, got ${options.trials}`);
  const subjectPlan = await warmUp(subject, options);
  const referencePlan = await warmUp(reference, options);
  const subjectSamples: number[] = [];
  const referenceSamples: number[] = [];
  const ratios: number[] = [];
  for (let trial = 0; trial < options.trials; trial++) {
    const s = (await runCalls(subject, subjectPlan.callsPerTrial, subjectPlan.asynchronous)) / subjectPlan.callsPerTrial;
    const r = (await runCalls(reference, referencePlan.callsPerTrial, referencePlan.asynchronous)) / referencePlan.callsPerTrial;
    subjectSamples.push(s);
    referenceSamples.push(r);
    ratios.push(s / r);
  }
  return {
    subject: summarize(subjectSamples, subjectPlan.callsPerTrial),
    reference: summarize(referenceSamples, referencePlan.callsPerTrial),
    ratio: median(ratios),
  };
}

/** Exposed so the sink is never provably dead. */
export function timingSink(): number {
  return sink;
}
