import { seededRandom } from "./seededRandom.ts";
import { InputProblemsError } from "./inputProblems.ts";

/**
 * How much a paired comparison of two versions on one labelled set can tell,
 * from its four counts alone (so a streaming comparison needs no per-item
 * arrays): n11 both right, n10 only the baseline right, n01 only the
 * candidate right, n00 both wrong. The accuracy difference is
 * d = (n01 − n10) / n, candidate minus baseline.
 *
 * Methods (references in each function's comment):
 * - McNemar's exact conditional test and its mid-p variant (Fagerland,
 *   Lydersen & Laake 2013).
 * - A paired percentile bootstrap CI of d, resampling items (multinomial
 *   over the four cells; Efron & Tibshirani 1993).
 * - Items needed for 80% power, Connor (1987).
 * - Non-inferiority by Tango's (1998) score test, the test behind the
 *   paired-difference interval Fagerland, Lydersen & Laake (2014) recommend.
 */

export interface PairedCounts {
  /** Both versions right. */
  n11: number;
  /** Only the baseline right. */
  n10: number;
  /** Only the candidate right. */
  n01: number;
  /** Both wrong. */
  n00: number;
}

export class PairedStatsInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "PairedStatsInputError");
  }
}

function checkCounts(counts: PairedCounts): number {
  const problems: string[] = [];
  for (const cell of ["n11", "n10", "n01", "n00"] as const) {
    const value = counts[cell];
    if (!Number.isSafeInteger(value) || value < 0) problems.push(`${cell} must be a whole number ≥ 0, got ${value}`);
  }
  if (problems.length > 0) throw new PairedStatsInputError(problems);
  return counts.n11 + counts.n10 + counts.n01 + counts.n00;
}

function checkProbability(name: string, value: number, problems: string[]): void {
  if (!(value > 0 && value < 1)) problems.push(`${name} must be strictly between 0 and 1, got ${value}`);
}

/** ln(i!) for i = 0..n; summed logs keep 20,000! representable and accurate to ~1e-11 relative. */
function logFactorials(n: number): Float64Array {
  const table = new Float64Array(n + 1);
  for (let i = 2; i <= n; i++) table[i] = table[i - 1] + Math.log(i);
  return table;
}

/** P(X = k) and P(X ≤ k) for X ~ Binomial(n, 1/2), k ≤ n/2, summed in log space (no overflow of C(n, i), no underflow of 2^−n). */
function halfBinomialLowerTail(k: number, n: number): { pmf: number; cdf: number } {
  const logHalf = n * Math.log(0.5);
  let logTerm = logHalf;
  const logTerms = new Float64Array(k + 1);
  for (let i = 0; i <= k; i++) {
    logTerms[i] = logTerm;
    logTerm += Math.log((n - i) / (i + 1));
  }
  // Below n/2 the terms grow with i: scale by the last, the largest.
  const largest = logTerms[k];
  let scaled = 0;
  for (let i = 0; i <= k; i++) scaled += Math.exp(logTerms[i] - largest);
  return { pmf: Math.exp(largest), cdf: Math.exp(largest + Math.log(scaled)) };
}

export interface McNemarPValues {
  /** Exact conditional two-sided p: min(1, 2·P(X ≤ min(n10, n01))), X ~ Bin(n10 + n01, ½). */
  pValue: number;
  /** Mid-p: the exact p less the probability of the observed split, 2·P(X < k) + P(X = k). */
  midPValue: number;
}

/**
 * McNemar's test on the discordant pairs. The mid-p version keeps the exact
 * test's conditioning but removes half the point probability of the observed
 * outcome from each tail; Fagerland, Lydersen & Laake ("The McNemar test for
 * binary matched-pairs data: mid-p and asymptotic are better than exact
 * conditional", BMC Med. Res. Methodol. 13:91, 2013) show it keeps close to
 * the nominal level while the exact test is very conservative. Their worked
 * example, 1 versus 7 discordant pairs, gives exact p = 0.070 and mid-p = 0.039.
 */
export function mcnemarPValues(counts: PairedCounts): McNemarPValues {
  checkCounts(counts);
  const discordant = counts.n10 + counts.n01;
  if (discordant === 0) return { pValue: 1, midPValue: 1 };
  const { pmf, cdf } = halfBinomialLowerTail(Math.min(counts.n10, counts.n01), discordant);
  return { pValue: Math.min(1, 2 * cdf), midPValue: Math.min(1, 2 * cdf - pmf) };
}

/**
 * One Binomial(n, p) draw by inversion with the support searched outwards
 * from the mode (mode, mode+1, mode−1, mode+2, …): any fixed order of the
 * support is a valid inversion, and this one needs about as many steps as
 * the standard deviation, with every probability computed by recurrence
 * from P(mode) (Kemp, "A modal method for generating binomial variables",
 * Commun. Statist. Theory Meth. 15, 1986).
 */
export function sampleBinomial(n: number, p: number, random: () => number, logFactorial: Float64Array = logFactorials(n)): number {
  if (n === 0 || p <= 0) return 0;
  if (p >= 1) return n;
  const q = 1 - p;
  const mode = Math.min(n, Math.floor((n + 1) * p));
  const modePmf = Math.exp(logFactorial[n] - logFactorial[mode] - logFactorial[n - mode] + mode * Math.log(p) + (n - mode) * Math.log(q));
  let u = random() - modePmf;
  if (u < 0) return mode;
  const up = p / q;
  const down = q / p;
  let high = mode;
  let highPmf = modePmf;
  let low = mode;
  let lowPmf = modePmf;
  while (high < n || low > 0) {
    if (high < n) {
      highPmf *= ((n - high) / (high + 1)) * up;
      high++;
      u -= highPmf;
      if (u < 0) return high;
    }
    if (low > 0) {
      lowPmf *= (low / (n - low + 1)) * down;
      low--;
      u -= lowPmf;
      if (u < 0) return low;
    }
  }
  // Only rounding leaves mass unassigned; it belongs nowhere in particular.
  return mode;
}

export interface BootstrapInterval {
  /** Percentile interval of d* = (n01* − n10*) / n. */
  lower: number;
  upper: number;
  level: number;
  resamples: number;
  seed: number;
  method: "paired percentile bootstrap, multinomial resampling of the four cells";
}

export interface BootstrapOptions {
  /** Default 10,000. */
  resamples?: number;
  /** Default 1. */
  seed?: number;
  /** Default 0.95. */
  level?: number;
}

/** Quantile by linear interpolation between order statistics (Hyndman & Fan type 7, numpy's default). */
function sortedQuantile(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const below = Math.floor(h);
  const above = Math.min(sorted.length - 1, below + 1);
  return sorted[below] + (h - below) * (sorted[above] - sorted[below]);
}

/**
 * Paired bootstrap confidence interval of the accuracy difference (Efron &
 * Tibshirani, An Introduction to the Bootstrap, 1993, ch. 13, percentile
 * interval). Resampling n items with replacement from the paired table is
 * exactly a Multinomial(n; n11/n, n10/n, n01/n, n00/n) draw of the four
 * counts, drawn here as n10* ~ Bin(n, p10) and n01* | n10* ~ Bin(n − n10*,
 * p01 / (1 − p10)); only the discordant cells move d*, so n11 and n00 need
 * not be drawn. Seeded mulberry32, so the interval is reproducible.
 */
export function pairedBootstrapInterval(counts: PairedCounts, options: BootstrapOptions = {}): BootstrapInterval {
  const n = checkCounts(counts);
  const resamples = options.resamples ?? 10_000;
  const seed = options.seed ?? 1;
  const level = options.level ?? 0.95;
  const problems: string[] = [];
  if (n === 0) problems.push("the comparison has no items");
  if (!Number.isSafeInteger(resamples) || resamples < 100) problems.push(`resamples must be a whole number ≥ 100, got ${resamples}`);
  checkProbability("level", level, problems);
  if (problems.length > 0) throw new PairedStatsInputError(problems);
  const p10 = counts.n10 / n;
  const p01Given = p10 < 1 ? counts.n01 / n / (1 - p10) : 0;
  const random = seededRandom(seed);
  const table = logFactorials(n);
  const differences = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    const n10 = sampleBinomial(n, p10, random, table);
    const n01 = sampleBinomial(n - n10, p01Given, random, table);
    differences[r] = (n01 - n10) / n;
  }
  differences.sort();
  const tail = (1 - level) / 2;
  return {
    lower: sortedQuantile(differences, tail),
    upper: sortedQuantile(differences, 1 - tail),
    level,
    resamples,
    seed,
    method: "paired percentile bootstrap, multinomial resampling of the four cells",
  };
}

/**
 * Φ⁻¹(p): Acklam's rational approximation (relative error < 1.15e−9),
 * refined by one Halley step. The upper half is computed as −Φ⁻¹(1 − p):
 * 1 − p is exact there (Sterbenz), while Φ(x) − p near 1 would cancel.
 */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new PairedStatsInputError([`a normal quantile needs 0 < p < 1, got ${p}`]);
  if (p > 0.5) return -lowerNormalQuantile(1 - p);
  return lowerNormalQuantile(p);
}

function lowerNormalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  let x: number;
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    x = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  } else {
    const q = p - 0.5;
    const r = q * q;
    x = ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
  }
  const e = normalCdf(x) - p;
  const u = e * Math.sqrt(2 * Math.PI) * Math.exp((x * x) / 2);
  return x - u / (1 + (x * u) / 2);
}

/** erfc(x), W. J. Cody's rational Chebyshev approximations (Math. Comp. 23, 1969), ~1e−16 relative. */
function erfc(x: number): number {
  const z = Math.abs(x);
  let result: number;
  if (z < 0.5) {
    const t = z * z;
    const top = (((0.185777706184603153 * t + 3.16112374387056560) * t + 113.864154151050156) * t + 377.485237685302021) * t + 3209.37758913846947;
    const bottom = (((t + 23.6012909523441209) * t + 244.024637934444173) * t + 1282.61652607737228) * t + 2844.23683343917062;
    result = 1 - (z * top) / bottom;
    return x < 0 ? 2 - result : result;
  }
  if (z < 4) {
    const top = (((((((2.15311535474403846e-8 * z + 0.564188496988670089) * z + 8.88314979438837594) * z + 66.1191906371416295) * z + 298.635138197400131) * z + 881.952221241769090) * z + 1712.04761263407058) * z + 2051.07837782607147) * z + 1230.33935479799725;
    const bottom = (((((((z + 15.7449261107098347) * z + 117.693950891312499) * z + 537.181101862009858) * z + 1621.38957456669019) * z + 3290.79923573345963) * z + 4362.61909014324716) * z + 3439.36767414372164) * z + 1230.33935480374942;
    result = (Math.exp(-z * z) * top) / bottom;
  } else {
    const t = 1 / (z * z);
    const top = ((((0.0163153871373020978 * t + 0.305326634961232344) * t + 0.360344899949804439) * t + 0.125781726111229246) * t + 0.0160837851487422766) * t + 6.58749161529837803e-4;
    const bottom = ((((t + 2.56852019228982242) * t + 1.87295284992346725) * t + 0.527905102951428412) * t + 0.0605183413124413191) * t + 0.00233520497626869185;
    result = (Math.exp(-z * z) / z) * (1 / Math.sqrt(Math.PI) - (t * top) / bottom);
  }
  return x < 0 ? 2 - result : result;
}

/** Φ(x), the standard normal CDF. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

export interface SampleSizeOptions {
  /** Two-sided level; default 0.05. */
  alpha?: number;
  /** Default 0.8. */
  power?: number;
}

/**
 * Items needed for McNemar's test to detect the observed difference with the
 * given power (Connor, "Sample size for testing differences in proportions
 * for the paired-sample design", Biometrics 43:207–211, 1987; also Lachin,
 * Stat. Med. 11:1239–1251, 1992):
 *   n = (z_{1−α/2}·√ψ + z_{1−β}·√(ψ − δ²))² / δ²,
 * with ψ = (n10 + n01)/n the discordant share and δ = (n01 − n10)/n the
 * difference, both as observed. Null when the versions never disagree or
 * disagree evenly (no finite set detects a zero difference).
 */
export function mcnemarItemsForPower(counts: PairedCounts, options: SampleSizeOptions = {}): number | null {
  const n = checkCounts(counts);
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  const problems: string[] = [];
  checkProbability("alpha", alpha, problems);
  checkProbability("power", power, problems);
  if (problems.length > 0) throw new PairedStatsInputError(problems);
  if (n === 0) return null;
  const psi = (counts.n10 + counts.n01) / n;
  const delta = (counts.n01 - counts.n10) / n;
  if (delta === 0) return null;
  const root = normalQuantile(1 - alpha / 2) * Math.sqrt(psi) + normalQuantile(power) * Math.sqrt(psi - delta * delta);
  return Math.ceil((root * root) / (delta * delta));
}

export interface NonInferiorityTest {
  test: "Tango score test (one-sided)";
  /** δ: the largest accuracy loss that still counts as "no regression". */
  margin: number;
  alpha: number;
  /** Score statistic under H0: d = −δ; larger favours the candidate. */
  z: number;
  /** One-sided p = 1 − Φ(z). */
  pValue: number;
  /** True when H0 (the candidate is worse by δ or more) is rejected at alpha. */
  nonInferior: boolean;
}

/**
 * Non-inferiority of the candidate: rejects H0: p_cand − p_base ≤ −δ in
 * favour of H1: p_cand − p_base > −δ by Tango's score test (Tango,
 * "Equivalence test and confidence interval for the difference in
 * proportions for the paired-sample design", Stat. Med. 17:891–908, 1998;
 * Nam, Biometrics 53:1422–1430, 1997):
 *   z = (n01 − n10 + nδ) / √(n·(2·p̃10 − δ − δ²)),
 * where p̃10 is the maximum-likelihood estimate of p10 under the constraint
 * p01 = p10 − δ, the larger root of 2n·p² − B·p + n10·δ(1 + δ) = 0 with
 * B = n01(1 + δ) + n10(1 + 3δ) + 2(n − n01 − n10)δ. Its variance is
 * estimated under H0, which keeps it usable when a cell is 0 (Wald's is
 * not); Fagerland, Lydersen & Laake (Stat. Med. 33:2850–2875, 2014)
 * recommend the interval it inverts to. One-sided α (default 0.05).
 */
export function nonInferiorityTest(counts: PairedCounts, margin: number, alpha = 0.05): NonInferiorityTest {
  const n = checkCounts(counts);
  const problems: string[] = [];
  if (n === 0) problems.push("the comparison has no items");
  checkProbability("margin", margin, problems);
  checkProbability("alpha", alpha, problems);
  if (problems.length > 0) throw new PairedStatsInputError(problems);
  const { n10, n01 } = counts;
  const delta = margin;
  const b = n01 * (1 + delta) + n10 * (1 + 3 * delta) + 2 * (n - n01 - n10) * delta;
  const p10 = (b + Math.sqrt(b * b - 8 * n * n10 * delta * (1 + delta))) / (4 * n);
  const variance = n * (2 * p10 - delta - delta * delta);
  const z = (n01 - n10 + n * delta) / Math.sqrt(variance);
  const pValue = 1 - normalCdf(z);
  return { test: "Tango score test (one-sided)", margin, alpha, z, pValue, nonInferior: pValue < alpha };
}

/** Below this many discordant pairs a comparison is "too small to tell", whatever the intervals say. */
export const MIN_DISCORDANT_PAIRS = 10;

export type PairedVerdict =
  /** No regression of δ or more, at α (Tango). */
  | "non-inferior"
  /** Significantly worse (McNemar mid-p < α) and not shown non-inferior. */
  | "worse"
  /** Too few discordant pairs, or the CI spans both −δ and +δ. */
  | "too-small-to-tell"
  /** Enough evidence to narrow the CI, but a regression of δ is not ruled out. */
  | "regression-not-ruled-out";

export interface PairedEvidence {
  counts: PairedCounts;
  itemCount: number;
  baselineAccuracy: number | null;
  candidateAccuracy: number | null;
  /** Candidate − baseline; null for no items. */
  difference: number | null;
  discordantPairs: number;
  mcnemar: McNemarPValues;
  /** Null for no items. */
  bootstrap: BootstrapInterval | null;
  /** Items for 80% power at α (two-sided) to detect the observed difference; null when it is 0. */
  itemsForPower: number | null;
  nonInferiority: NonInferiorityTest | null;
  verdict: PairedVerdict;
  /** Why, in sentences a user can read. */
  reasons: string[];
}

export interface PairedEvidenceOptions extends BootstrapOptions {
  /** δ; default 0.01 (one percentage point of accuracy). */
  margin?: number;
  /** Default 0.05: two-sided for McNemar and the sample size, one-sided for non-inferiority. */
  alpha?: number;
  /** Default 0.8. */
  power?: number;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(2)} pp`;
}

/**
 * Everything above for one comparison, and a verdict, decided in this order:
 * non-inferior (Tango rejects H0 at α); worse (mid-p < α and the candidate
 * has fewer only-right items); too small to tell (fewer than
 * MIN_DISCORDANT_PAIRS discordant pairs, or the bootstrap CI contains both
 * −δ and +δ, so the set can rule out neither a regression nor an
 * improvement of δ); otherwise a regression of δ is not ruled out.
 */
export function pairedEvidence(counts: PairedCounts, options: PairedEvidenceOptions = {}): PairedEvidence {
  const n = checkCounts(counts);
  const margin = options.margin ?? 0.01;
  const alpha = options.alpha ?? 0.05;
  const power = options.power ?? 0.8;
  const discordantPairs = counts.n10 + counts.n01;
  const mcnemar = mcnemarPValues(counts);
  const itemsForPower = mcnemarItemsForPower(counts, { alpha, power });
  if (n === 0) {
    return {
      counts, itemCount: 0, baselineAccuracy: null, candidateAccuracy: null, difference: null, discordantPairs, mcnemar,
      bootstrap: null, itemsForPower, nonInferiority: null, verdict: "too-small-to-tell", reasons: ["the labelled set is empty"],
    };
  }
  const difference = (counts.n01 - counts.n10) / n;
  const bootstrap = pairedBootstrapInterval(counts, options);
  const nonInferiority = nonInferiorityTest(counts, margin, alpha);
  const reasons: string[] = [];
  let verdict: PairedVerdict;
  const spansBoth = bootstrap.lower < -margin && bootstrap.upper > margin;
  if (nonInferiority.nonInferior) {
    verdict = "non-inferior";
    reasons.push(`a loss of ${percent(margin)} or more is rejected (Tango score test, one-sided p = ${nonInferiority.pValue.toPrecision(2)} < ${alpha})`);
  } else if (mcnemar.midPValue < alpha && counts.n01 < counts.n10) {
    verdict = "worse";
    reasons.push(`the candidate is significantly worse (McNemar mid-p = ${mcnemar.midPValue.toPrecision(2)} < ${alpha}: only-baseline-right ${counts.n10} vs only-candidate-right ${counts.n01})`);
  } else if (discordantPairs < MIN_DISCORDANT_PAIRS || spansBoth) {
    verdict = "too-small-to-tell";
    if (discordantPairs < MIN_DISCORDANT_PAIRS) reasons.push(`only ${discordantPairs} items are right for one version and wrong for the other (at least ${MIN_DISCORDANT_PAIRS} are needed)`);
    if (spansBoth) reasons.push(`the ${Math.round(bootstrap.level * 100)}% interval [${percent(bootstrap.lower)}, ${percent(bootstrap.upper)}] contains both −${percent(margin)} and +${percent(margin)}`);
  } else {
    verdict = "regression-not-ruled-out";
    reasons.push(`a loss of ${percent(margin)} is not ruled out (Tango score test, one-sided p = ${nonInferiority.pValue.toPrecision(2)} ≥ ${alpha})`);
  }
  if (itemsForPower !== null && itemsForPower > n) reasons.push(`detecting a difference of ${percent(Math.abs(difference))} with ${Math.round(power * 100)}% power needs about ${itemsForPower} items; the set has ${n}`);
  return {
    counts, itemCount: n, baselineAccuracy: (counts.n11 + counts.n10) / n, candidateAccuracy: (counts.n11 + counts.n01) / n, difference, discordantPairs, mcnemar,
    bootstrap, itemsForPower, nonInferiority, verdict, reasons,
  };
}
