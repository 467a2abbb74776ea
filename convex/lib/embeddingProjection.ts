import { seededRandom } from "./seededRandom.ts";
import { allRows, assignFolds, foldRows, predictRows, trainSoftmax } from "./softmaxRegression.ts";
import { InputProblemsError } from "./inputProblems.ts";

/**
 * The embedding map and embedding drift.
 *
 * Map: PCA to two dimensions. Stored features reach 100,000+ rows of 512
 * numbers, 205 MB as float32, far over an action's 64 MiB, so the data is
 * read in pages and never held whole: one pass accumulates the covariance
 * (a 512 × 512 float64 matrix, 2 MiB), and the components come from power
 * iteration with deflation on that matrix, which costs nothing next to the
 * pass. Iterating on the centred data itself would need a pass over every
 * page per iteration. Then points are projected page by page, and the map
 * shows a deterministic stratified sample of them.
 *
 * Drift between two windows of embeddings: (a) a domain classifier, an L2
 * logistic regression telling window A from window B, scored out-of-fold,
 * whose ROC AUC (Mann–Whitney) above 0.55 counts as drift (Evidently's
 * default threshold for its "model" embedding-drift method); (b) the
 * distance between the windows' centroids, Euclidean and cosine.
 */

export class EmbeddingInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "EmbeddingInputError");
  }
}

function rowsOf(features: Float32Array, dim: number, what: string): number {
  if (!Number.isSafeInteger(dim) || dim < 1) throw new EmbeddingInputError([`dim must be a positive integer, got ${dim}`]);
  if (features.length % dim !== 0) throw new EmbeddingInputError([`${what} has ${features.length} values, not a whole number of ${dim}-value rows`]);
  return features.length / dim;
}

/**
 * Running sums for the covariance, fed page by page. Rows are shifted by a
 * reference point (the first page's mean) before their products are summed,
 * so large common offsets do not cancel catastrophically at the end.
 */
export interface CovarianceAccumulator {
  dim: number;
  count: number;
  reference: Float64Array;
  /** Σ (x − reference). */
  sum: Float64Array;
  /** Σ (x − reference)(x − reference)ᵀ, upper triangle of a dim × dim row-major matrix. */
  products: Float64Array;
}

export function createCovarianceAccumulator(dim: number): CovarianceAccumulator {
  if (!Number.isSafeInteger(dim) || dim < 1) throw new EmbeddingInputError([`dim must be a positive integer, got ${dim}`]);
  return { dim, count: 0, reference: new Float64Array(dim), sum: new Float64Array(dim), products: new Float64Array(dim * dim) };
}

/** Adds one page of rows (row-major, dim per row). Four rows per pass over the matrix, so each load and store of a sum serves four products. */
export function accumulateCovariance(accumulator: CovarianceAccumulator, features: Float32Array): void {
  const { dim, reference, sum, products } = accumulator;
  const count = rowsOf(features, dim, "the page");
  if (count === 0) return;
  if (accumulator.count === 0) {
    for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) reference[j] += features[r * dim + j];
    for (let j = 0; j < dim; j++) reference[j] /= count;
  }
  const block = new Float64Array(4 * dim);
  let r = 0;
  for (; r < count; r += 4) {
    const rows = Math.min(4, count - r);
    block.fill(0);
    for (let b = 0; b < rows; b++) {
      for (let j = 0; j < dim; j++) {
        const centred = features[(r + b) * dim + j] - reference[j];
        block[b * dim + j] = centred;
        sum[j] += centred;
      }
    }
    for (let i = 0; i < dim; i++) {
      const a0 = block[i];
      const a1 = block[dim + i];
      const a2 = block[2 * dim + i];
      const a3 = block[3 * dim + i];
      const at = i * dim;
      for (let j = i; j < dim; j++) {
        products[at + j] += a0 * block[j] + a1 * block[dim + j] + a2 * block[2 * dim + j] + a3 * block[3 * dim + j];
      }
    }
  }
  accumulator.count += count;
}

/** The sample mean and the (n − 1)-normalised covariance matrix (full, symmetric, dim × dim). */
export function covarianceOf(accumulator: CovarianceAccumulator): { mean: Float64Array; covariance: Float64Array } {
  const { dim, count, reference, sum, products } = accumulator;
  if (count < 2) throw new EmbeddingInputError([`a covariance needs at least 2 rows, got ${count}`]);
  const mean = new Float64Array(dim);
  for (let j = 0; j < dim; j++) mean[j] = reference[j] + sum[j] / count;
  const covariance = new Float64Array(dim * dim);
  for (let i = 0; i < dim; i++) {
    for (let j = i; j < dim; j++) {
      const value = (products[i * dim + j] - (sum[i] * sum[j]) / count) / (count - 1);
      covariance[i * dim + j] = value;
      covariance[j * dim + i] = value;
    }
  }
  return { mean, covariance };
}

/** [dim, count, reference, sum, upper triangle] as float64 bytes, to carry a pass across actions (~1.05 MB for 512-d: file storage, not a document). */
export function covarianceAccumulatorToBytes(accumulator: CovarianceAccumulator): Uint8Array {
  const { dim } = accumulator;
  const packed = new Float64Array(2 + 2 * dim + (dim * (dim + 1)) / 2);
  packed[0] = dim;
  packed[1] = accumulator.count;
  packed.set(accumulator.reference, 2);
  packed.set(accumulator.sum, 2 + dim);
  let at = 2 + 2 * dim;
  for (let i = 0; i < dim; i++) {
    packed.set(accumulator.products.subarray(i * dim + i, (i + 1) * dim), at);
    at += dim - i;
  }
  return new Uint8Array(packed.buffer);
}

export function covarianceAccumulatorFromBytes(bytes: Uint8Array): CovarianceAccumulator {
  const packed = bytes.byteLength % 8 === 0 && bytes.byteLength >= 16 ? new Float64Array(bytes.slice().buffer) : null;
  const dim = packed ? packed[0] : NaN;
  const expected = 2 + 2 * dim + (dim * (dim + 1)) / 2;
  if (!packed || !Number.isSafeInteger(dim) || dim < 1 || packed.length !== expected) {
    throw new EmbeddingInputError([`a stored covariance accumulator of dim d holds 2 + 2d + d(d+1)/2 float64 values; got ${bytes.byteLength} bytes${packed ? ` with d = ${dim}` : ""}`]);
  }
  const accumulator = createCovarianceAccumulator(dim);
  accumulator.count = packed[1];
  accumulator.reference.set(packed.subarray(2, 2 + dim));
  accumulator.sum.set(packed.subarray(2 + dim, 2 + 2 * dim));
  let at = 2 + 2 * dim;
  for (let i = 0; i < dim; i++) {
    accumulator.products.set(packed.subarray(at, at + dim - i), i * dim + i);
    at += dim - i;
  }
  return accumulator;
}

export interface PrincipalComponents {
  dim: number;
  mean: Float64Array;
  /** components × dim, row-major, unit length; each signed so its largest-magnitude entry is positive. */
  components: Float64Array;
  /** Eigenvalues: the variance along each component. */
  variances: Float64Array;
  /** Each variance over the total variance (the covariance's trace). */
  explainedShare: Float64Array;
  iterations: number[];
  converged: boolean[];
}

export interface PowerIterationOptions {
  /** Default 2. */
  components?: number;
  /** Per component; default 5,000 (each is one 512 × 512 matrix-vector product). */
  maxIterations?: number;
  /** Stop when 1 − |⟨v_k, v_k+1⟩| falls below this; default 1e-13. */
  tolerance?: number;
  /** Seed of the start vectors; default 1. */
  seed?: number;
}

/**
 * Leading eigenvectors of a symmetric positive semi-definite matrix by power
 * iteration with deflation (Golub & Van Loan, Matrix Computations, 4th ed.,
 * §7.3.1 and §8.2): each vector is iterated against the matrix minus the
 * components already found, and re-orthogonalised against them every step
 * so rounding does not let them back in. Start vectors are seeded, so the
 * result is deterministic.
 */
export function principalComponents(mean: Float64Array, covariance: Float64Array, options: PowerIterationOptions = {}): PrincipalComponents {
  const dim = mean.length;
  if (covariance.length !== dim * dim) throw new EmbeddingInputError([`a ${dim}-value mean needs a ${dim} × ${dim} covariance (${dim * dim} values), got ${covariance.length}`]);
  const count = options.components ?? 2;
  if (!Number.isSafeInteger(count) || count < 1 || count > dim) throw new EmbeddingInputError([`components must be a whole number in 1..${dim}, got ${count}`]);
  const maxIterations = options.maxIterations ?? 5000;
  const tolerance = options.tolerance ?? 1e-13;
  const random = seededRandom(options.seed ?? 1);
  const components = new Float64Array(count * dim);
  const variances = new Float64Array(count);
  const iterations: number[] = [];
  const converged: boolean[] = [];
  let trace = 0;
  for (let i = 0; i < dim; i++) trace += covariance[i * dim + i];
  const vector = new Float64Array(dim);
  const next = new Float64Array(dim);
  const orthogonalise = (target: Float64Array, found: number) => {
    for (let k = 0; k < found; k++) {
      const component = components.subarray(k * dim, (k + 1) * dim);
      let projection = 0;
      for (let j = 0; j < dim; j++) projection += component[j] * target[j];
      for (let j = 0; j < dim; j++) target[j] -= projection * component[j];
    }
  };
  const normalise = (target: Float64Array): number => {
    let norm = 0;
    for (let j = 0; j < dim; j++) norm += target[j] * target[j];
    norm = Math.sqrt(norm);
    if (norm > 0) for (let j = 0; j < dim; j++) target[j] /= norm;
    return norm;
  };
  for (let k = 0; k < count; k++) {
    for (let j = 0; j < dim; j++) vector[j] = random() - 0.5;
    orthogonalise(vector, k);
    normalise(vector);
    let eigenvalue = 0;
    let done = false;
    let step = 0;
    while (step < maxIterations && !done) {
      for (let i = 0; i < dim; i++) {
        let s = 0;
        const row = i * dim;
        for (let j = 0; j < dim; j++) s += covariance[row + j] * vector[j];
        next[i] = s;
      }
      // Deflation: the found components' eigenvalues are removed by projecting them out.
      orthogonalise(next, k);
      eigenvalue = normalise(next);
      step++;
      if (eigenvalue === 0) {
        done = true;
        break;
      }
      let agreement = 0;
      for (let j = 0; j < dim; j++) agreement += next[j] * vector[j];
      vector.set(next);
      done = 1 - Math.abs(agreement) < tolerance;
    }
    let largest = 0;
    for (let j = 0; j < dim; j++) if (Math.abs(vector[j]) > Math.abs(vector[largest])) largest = j;
    const sign = vector[largest] < 0 ? -1 : 1;
    for (let j = 0; j < dim; j++) components[k * dim + j] = sign * vector[j];
    // The Rayleigh quotient is the eigenvalue estimate that converges fastest.
    let rayleigh = 0;
    for (let i = 0; i < dim; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += covariance[i * dim + j] * vector[j];
      rayleigh += vector[i] * s;
    }
    variances[k] = eigenvalue === 0 ? 0 : rayleigh;
    iterations.push(step);
    converged.push(done);
  }
  const explainedShare = variances.map((v) => (trace > 0 ? v / trace : 0));
  return { dim, mean: Float64Array.from(mean), components, variances, explainedShare, iterations, converged };
}

/** PCA of rows held in memory: one accumulation, then principalComponents. */
export function pcaOfRows(features: Float32Array, dim: number, options: PowerIterationOptions = {}): PrincipalComponents {
  const accumulator = createCovarianceAccumulator(dim);
  accumulateCovariance(accumulator, features);
  const { mean, covariance } = covarianceOf(accumulator);
  return principalComponents(mean, covariance, options);
}

/** Coordinates of each row on the components (rows × components, row-major, float32). */
export function projectRows(pca: PrincipalComponents, features: Float32Array): Float32Array {
  const { dim, mean, components } = pca;
  const count = rowsOf(features, dim, "features");
  const componentCount = components.length / dim;
  const out = new Float32Array(count * componentCount);
  for (let r = 0; r < count; r++) {
    for (let k = 0; k < componentCount; k++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (features[r * dim + j] - mean[j]) * components[k * dim + j];
      out[r * componentCount + k] = s;
    }
  }
  return out;
}

/**
 * At most `maxPoints` row indices (ascending), stratified by `strata` (a
 * class, a window, or a combination coded as one integer ≥ 0). Each
 * non-empty stratum gets one point while room allows, the rest of the
 * budget is shared in proportion to stratum size (largest remainder, ties
 * to the lower stratum), and the rows within a stratum are chosen by a
 * seeded partial Fisher–Yates shuffle. Everything is kept when it fits.
 */
export function stratifiedSample(strata: ArrayLike<number>, maxPoints: number, seed: number): Int32Array {
  if (!Number.isSafeInteger(maxPoints) || maxPoints < 0) throw new EmbeddingInputError([`maxPoints must be a whole number ≥ 0, got ${maxPoints}`]);
  const members = new Map<number, number[]>();
  for (let i = 0; i < strata.length; i++) {
    const stratum = strata[i];
    if (!Number.isSafeInteger(stratum) || stratum < 0) throw new EmbeddingInputError([`strata[${i}] = ${stratum} is not a whole number ≥ 0`]);
    let list = members.get(stratum);
    if (!list) members.set(stratum, (list = []));
    list.push(i);
  }
  if (strata.length <= maxPoints) return allRows(strata.length);
  const keys = [...members.keys()].sort((a, b) => a - b);
  const quota = new Map<number, number>(keys.map((key) => [key, 0]));
  let budget = maxPoints;
  if (budget >= keys.length) {
    for (const key of keys) quota.set(key, 1);
    budget -= keys.length;
  }
  const remaining = keys.map((key) => members.get(key)!.length - quota.get(key)!);
  const totalRemaining = remaining.reduce((a, b) => a + b, 0);
  const shares = keys.map((key, index) => {
    const exact = (budget * remaining[index]) / totalRemaining;
    quota.set(key, quota.get(key)! + Math.floor(exact));
    return { key, fraction: exact - Math.floor(exact) };
  });
  let left = maxPoints - [...quota.values()].reduce((a, b) => a + b, 0);
  shares.sort((a, b) => b.fraction - a.fraction || a.key - b.key);
  for (const { key } of shares) {
    if (left === 0) break;
    if (quota.get(key)! < members.get(key)!.length) {
      quota.set(key, quota.get(key)! + 1);
      left--;
    }
  }
  const random = seededRandom(seed);
  const chosen: number[] = [];
  for (const key of keys) {
    const list = members.get(key)!.slice();
    const take = quota.get(key)!;
    for (let i = 0; i < take; i++) {
      const j = i + Math.floor(random() * (list.length - i));
      [list[i], list[j]] = [list[j], list[i]];
      chosen.push(list[i]);
    }
  }
  return Int32Array.from(chosen).sort();
}

/**
 * ROC AUC of `scores` for telling positives from negatives, by the
 * Mann–Whitney U statistic with mid-ranks for ties: AUC = U / (n₊ · n₋),
 * the probability that a random positive outscores a random negative
 * (ties counting one half). Null when either group is empty.
 */
export function rocAuc(scores: ArrayLike<number>, positive: ArrayLike<boolean | number>): number | null {
  const count = scores.length;
  if (positive.length !== count) throw new EmbeddingInputError([`scores has ${count} entries but positive has ${positive.length}`]);
  const order = allRows(count).sort((a, b) => scores[a] - scores[b]);
  let positives = 0;
  let rankSum = 0;
  for (let start = 0; start < count; ) {
    let end = start + 1;
    while (end < count && scores[order[end]] === scores[order[start]]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let i = start; i < end; i++) {
      if (positive[order[i]]) {
        positives++;
        rankSum += midRank;
      }
    }
    start = end;
  }
  const negatives = count - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Evidently's default threshold for its domain-classifier ("model")
 * embedding-drift method (docs: customization/embeddings-drift-parameters).
 * Evidently also compares, on windows of 1,000 rows or fewer, with a random
 * classifier's AUC at the 95% quantile; that is not done here, so windows
 * that small give a noisier verdict (the AUC's standard error at 200 rows a
 * window is about 0.03).
 */
export const DOMAIN_CLASSIFIER_DRIFT_AUC = 0.55;

export interface DomainClassifierOptions {
  /** Default 5. */
  folds?: number;
  /** Default 1. */
  seed?: number;
  /** Default 1e-2: the classifier only needs to notice a difference, and a strong penalty keeps 512 dimensions from memorising either window. */
  l2?: number;
  /** Default 100. */
  maxIterations?: number;
  /** Default DOMAIN_CLASSIFIER_DRIFT_AUC. */
  threshold?: number;
}

export interface DomainClassifierDrift {
  /** Out-of-fold ROC AUC of P(window B); 0.5 when the windows cannot be told apart. */
  auc: number;
  threshold: number;
  drift: boolean;
  countA: number;
  countB: number;
}

/**
 * Can a classifier tell window B's embeddings from window A's? Trains an
 * L2 logistic regression (softmaxRegression.ts, two classes) k-fold,
 * stratified by window, and scores every row with the model that did not
 * see it. Both windows are copied into one matrix, so pass samples
 * (stratifiedSample), e.g. up to 5,000 rows each, not whole windows.
 */
export function domainClassifierDrift(featuresA: Float32Array, featuresB: Float32Array, dim: number, options: DomainClassifierOptions = {}): DomainClassifierDrift {
  const countA = rowsOf(featuresA, dim, "window A");
  const countB = rowsOf(featuresB, dim, "window B");
  const folds = options.folds ?? 5;
  const problems: string[] = [];
  if (countA < folds) problems.push(`window A has ${countA} rows; ${folds} folds need at least ${folds}`);
  if (countB < folds) problems.push(`window B has ${countB} rows; ${folds} folds need at least ${folds}`);
  if (problems.length > 0) throw new EmbeddingInputError(problems);
  const features = new Float32Array(featuresA.length + featuresB.length);
  features.set(featuresA);
  features.set(featuresB, featuresA.length);
  const labels = new Int32Array(countA + countB);
  labels.fill(1, countA);
  const foldOf = assignFolds(labels, 2, folds, options.seed ?? 1);
  const scores = new Float64Array(labels.length);
  for (let fold = 0; fold < folds; fold++) {
    const { model } = trainSoftmax(features, dim, labels, 2, foldRows(foldOf, fold, false), { l2: options.l2 ?? 1e-2, maxIterations: options.maxIterations ?? 100 });
    const held = foldRows(foldOf, fold, true);
    const probabilities = predictRows(model, features, held);
    held.forEach((row, r) => {
      scores[row] = probabilities[r * 2 + 1];
    });
  }
  const threshold = options.threshold ?? DOMAIN_CLASSIFIER_DRIFT_AUC;
  const auc = rocAuc(scores, labels) ?? 0.5;
  return { auc, threshold, drift: auc > threshold, countA, countB };
}

export interface CentroidDistance {
  euclidean: number;
  /** 1 − cosine similarity of the two centroids; null when either centroid is the zero vector. */
  cosineDistance: number | null;
}

function centroid(features: Float32Array, dim: number, what: string): Float64Array {
  const count = rowsOf(features, dim, what);
  if (count === 0) throw new EmbeddingInputError([`${what} has no rows`]);
  const mean = new Float64Array(dim);
  for (let r = 0; r < count; r++) for (let j = 0; j < dim; j++) mean[j] += features[r * dim + j];
  for (let j = 0; j < dim; j++) mean[j] /= count;
  return mean;
}

/** Distance between the windows' mean embeddings. */
export function centroidDistance(featuresA: Float32Array, featuresB: Float32Array, dim: number): CentroidDistance {
  const a = centroid(featuresA, dim, "window A");
  const b = centroid(featuresB, dim, "window B");
  let squared = 0;
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let j = 0; j < dim; j++) {
    squared += (a[j] - b[j]) ** 2;
    dot += a[j] * b[j];
    normA += a[j] * a[j];
    normB += b[j] * b[j];
  }
  const cosineDistance = normA > 0 && normB > 0 ? 1 - dot / Math.sqrt(normA * normB) : null;
  return { euclidean: Math.sqrt(squared), cosineDistance };
}
