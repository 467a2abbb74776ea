/**
 * Building blocks for seeding a year of use straight into the tables, in
 * transactions that each stay inside Convex's per-transaction write limits
 * (16,000 documents, 16 MiB): the harness enforces them on `t.run` too.
 *
 * Creation times: convex-test stamps `_creationTime` with the transaction's
 * time, so seeding day by day under a fake clock (vi.useFakeTimers) gives
 * documents the creation times a year of use would.
 */
import { vi } from "vitest";
import { utcDay } from "../../convex/lib/days";
import { ensureAuthEnv, makeBackend, type Backend } from "../convex/harness";
import type { CounterRow } from "../convex/counterTally";

export const DAY_MS = 86_400_000;
/** The year every scale case lives in: 2026 has 365 days. */
export const YEAR_START_MS = Date.UTC(2026, 0, 1);
export const YEAR_DAYS = 365;

/** Counter rows per seeding transaction: well inside Convex's 16,000 documents (and 16 MiB: a row is about 150 bytes). */
export const SEED_DOCUMENTS_PER_TRANSACTION = 12_000;

export function dayStart(dayIndex: number): number {
  return YEAR_START_MS + dayIndex * DAY_MS;
}

export function dayName(dayIndex: number): string {
  return utcDay(dayStart(dayIndex));
}

/**
 * A fresh backend (Convex's production limits) under a fake clock set to the
 * day before the year. "date only" leaves timers real, for cases that
 * schedule nothing; the scheduler needs all timers faked to be driven.
 */
export async function yearBackend(clock: "all timers" | "date only"): Promise<Backend> {
  await ensureAuthEnv();
  vi.useFakeTimers(clock === "date only" ? { toFake: ["Date"] } : undefined);
  vi.setSystemTime(YEAR_START_MS - DAY_MS);
  return makeBackend();
}

/** Moves the fake clock (forward only: convex-test's commit clock never goes back). */
export function setClock(ms: number): void {
  if (ms < Date.now()) throw new Error(`setClock: ${new Date(ms).toISOString()} is before the clock's ${new Date(Date.now()).toISOString()}`);
  vi.setSystemTime(ms);
}

/** Float32 values spread like CLIP projections (no zeros): what a features document holds. */
export function randomFeatures(random: () => number, dim = 512): Float32Array {
  const features = new Float32Array(dim);
  for (let i = 0; i < dim; i++) features[i] = (random() - 0.5) * 2 + 0.001;
  return features;
}

/** Picks an index by weight. */
export function weightedPick(random: () => number, weights: readonly number[]): number {
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let remaining = random() * total;
  for (let i = 0; i < weights.length; i++) {
    remaining -= weights[i];
    if (remaining < 0) return i;
  }
  return weights.length - 1;
}

/** Inserts the counter rows in transactions of at most `perTransaction` documents. */
export async function insertCounterRows(t: Backend, rows: readonly CounterRow[], perTransaction = SEED_DOCUMENTS_PER_TRANSACTION): Promise<void> {
  for (let start = 0; start < rows.length; start += perTransaction) {
    const batch = rows.slice(start, start + perTransaction);
    await t.run(async (ctx) => {
      for (const row of batch) await ctx.db.insert("analyticsCounts", row);
    });
  }
}
