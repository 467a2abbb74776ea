/**
 * Drift between two class-count vectors (e.g. predictions in two time
 * windows). Pure: used by the analytics query and the dashboard.
 *
 * Both measures are symmetric in A and B and decompose into non-negative
 * per-class terms, so the per-class breakdown sums to the total and shows
 * which classes moved.
 * - Jensen–Shannon divergence, base 2, bounded [0, 1]: 0 for identical
 *   distributions, 1 for disjoint ones. It needs no smoothing: the mixture
 *   M = (P + Q)/2 is positive wherever P or Q is, and 0·log 0 is taken as 0.
 * - Population stability index, natural log (the usual reading: < 0.1 stable,
 *   0.1–0.25 moderate, > 0.25 major shift): Σ (p − q)·ln(p/q). It is infinite
 *   when a class is empty in one window only, so each share is floored at
 *   `epsilon` (default 1e-4, i.e. "at most 1 in 10 000") before the sum.
 *   Shares are not renormalised afterwards, matching common PSI practice.
 */
import { InputProblemsError } from "./inputProblems.ts";

export const DEFAULT_PSI_EPSILON = 1e-4;

export class DriftInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "DriftInputError", `invalid drift input: ${problems.join("; ")}`);
  }
}

function validateCounts(counts: readonly number[], name: string, problems: string[]): void {
  counts.forEach((count, index) => {
    if (!Number.isFinite(count) || count < 0) problems.push(`${name}[${index}] must be a finite count ≥ 0, got ${count}`);
  });
}

function totalOf(counts: readonly number[]): number {
  return counts.reduce((sum, count) => sum + count, 0);
}

function sharesOf(counts: readonly number[], total: number): number[] | null {
  return total === 0 ? null : counts.map((count) => count / total);
}

/** Shares of each class (summing to 1); null when there are no counts at all. */
export function classDistribution(counts: readonly number[]): number[] | null {
  const problems: string[] = [];
  validateCounts(counts, "counts", problems);
  if (problems.length > 0) throw new DriftInputError(problems);
  return sharesOf(counts, totalOf(counts));
}

function plogp(share: number, mixture: number): number {
  return share === 0 ? 0 : share * Math.log2(share / mixture);
}

/** One class's term of the Jensen–Shannon divergence. */
export function jensenShannonTerm(shareA: number, shareB: number): number {
  const mixture = (shareA + shareB) / 2;
  return 0.5 * plogp(shareA, mixture) + 0.5 * plogp(shareB, mixture);
}

/** One class's term of the PSI, with both shares floored at `epsilon`. */
export function psiTerm(shareA: number, shareB: number, epsilon = DEFAULT_PSI_EPSILON): number {
  const a = Math.max(shareA, epsilon);
  const b = Math.max(shareB, epsilon);
  return (b - a) * Math.log(b / a);
}

export interface ClassDrift {
  label: string;
  countA: number;
  countB: number;
  /** Share of window A; 0 when A is empty. */
  shareA: number;
  shareB: number;
  /** This class's term of the total; null when either window is empty. */
  jensenShannon: number | null;
  psi: number | null;
}

export interface DriftReport {
  totalA: number;
  totalB: number;
  /** Null when either window has no counts: there is nothing to compare. */
  jensenShannon: number | null;
  psi: number | null;
  epsilon: number;
  perClass: ClassDrift[];
}

/**
 * Drift from window A (the reference) to window B over the same `labels`.
 * Throws when the vectors do not line up or hold negative counts.
 */
export function distributionDrift(
  labels: readonly string[],
  countsA: readonly number[],
  countsB: readonly number[],
  options: { epsilon?: number } = {},
): DriftReport {
  const epsilon = options.epsilon ?? DEFAULT_PSI_EPSILON;
  const problems: string[] = [];
  if (countsA.length !== labels.length || countsB.length !== labels.length) {
    problems.push(`expected one count per label (${labels.length}), got countsA: ${countsA.length}, countsB: ${countsB.length}`);
  }
  if (!(epsilon > 0 && epsilon < 1)) problems.push(`epsilon must be in (0, 1), got ${epsilon}`);
  validateCounts(countsA, "countsA", problems);
  validateCounts(countsB, "countsB", problems);
  if (problems.length > 0) throw new DriftInputError(problems);

  const totalA = totalOf(countsA);
  const totalB = totalOf(countsB);
  const sharesA = sharesOf(countsA, totalA);
  const sharesB = sharesOf(countsB, totalB);
  const comparable = sharesA !== null && sharesB !== null;
  const perClass = labels.map((label, index) => {
    const shareA = sharesA?.[index] ?? 0;
    const shareB = sharesB?.[index] ?? 0;
    return {
      label,
      countA: countsA[index],
      countB: countsB[index],
      shareA,
      shareB,
      jensenShannon: comparable ? jensenShannonTerm(shareA, shareB) : null,
      psi: comparable ? psiTerm(shareA, shareB, epsilon) : null,
    };
  });
  const sum = (key: "jensenShannon" | "psi") => perClass.reduce((total, entry) => total + (entry[key] ?? 0), 0);
  return {
    totalA,
    totalB,
    // Clamped because rounding can push an identical/disjoint pair a hair outside [0, 1].
    jensenShannon: comparable ? Math.min(1, Math.max(0, sum("jensenShannon"))) : null,
    psi: comparable ? Math.max(0, sum("psi")) : null,
    epsilon,
    perClass,
  };
}

/** Jensen–Shannon divergence (base 2) of two count vectors; null if either is all zero. */
export function jensenShannonDivergence(countsA: readonly number[], countsB: readonly number[]): number | null {
  return distributionDrift(countsA.map(String), countsA, countsB).jensenShannon;
}

/** PSI of two count vectors; null if either is all zero. */
export function populationStabilityIndex(countsA: readonly number[], countsB: readonly number[], epsilon = DEFAULT_PSI_EPSILON): number | null {
  return distributionDrift(countsA.map(String), countsA, countsB, { epsilon }).psi;
}
