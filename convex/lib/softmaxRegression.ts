import { seededRandom } from "./seededRandom.ts";
import { InputProblemsError } from "./inputProblems.ts";
import { softmaxInPlace } from "./softmax.ts";

/**
 * Multinomial logistic regression (softmax) with an L2 penalty, trained by
 * full-batch L-BFGS: the small "head" whose out-of-fold probabilities feed
 * confident learning (labelErrors.ts) and the embedding-drift domain
 * classifier (embeddingProjection.ts).
 *
 * Built for a Convex action (64 MiB, 10 minutes, one thread):
 * - Features stay in the caller's one row-major Float32Array; a fold is a
 *   list of row indices into it, never a copy (20,000 × 512 float32 is
 *   already 41 MB).
 * - Features are standardised (training rows' mean and standard deviation)
 *   without materialising the standardised matrix: the model is optimised in
 *   standardised coordinates but evaluated through equivalent raw-space
 *   weights, W/σ and b − (W/σ)·μ. This keeps L-BFGS well conditioned and
 *   makes the penalty independent of the features' units.
 * - Training is deterministic: fold assignment is seeded, the optimiser has
 *   a fixed iteration cap and no randomness, and sums run in a fixed order.
 * - Each fold is its own call (trainFold + predictRows), so an action chain
 *   can run one fold per action and store the fold's model
 *   (softmaxModelToBytes).
 *
 * Objective: mean cross-entropy over the training rows + (l2 / 2)·‖W‖² in
 * standardised coordinates (the bias is not penalised).
 */

export interface SoftmaxModel {
  dim: number;
  classCount: number;
  /** classCount × dim, row-major, applying to raw (unstandardised) features. */
  weights: Float64Array;
  bias: Float64Array;
}

export interface SoftmaxTrainingOptions {
  /** L2 penalty on the standardised weights; default 1e-3. */
  l2?: number;
  /** L-BFGS iterations at most; default 100. */
  maxIterations?: number;
  /** Stop when the largest gradient component is below this; default 1e-5. */
  gradientTolerance?: number;
  /** L-BFGS memory (correction pairs kept); default 10. */
  memory?: number;
  /** Called after each iteration, e.g. for a progress bar or an action's time budget. */
  onIteration?: (iteration: number, loss: number) => void;
}

export interface SoftmaxTrainingReport {
  iterations: number;
  /** Objective evaluations; each is one pass over the training rows. */
  evaluations: number;
  loss: number;
  gradientNorm: number;
  converged: boolean;
}

export class SoftmaxInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "SoftmaxInputError");
  }
}

const DEFAULTS = { l2: 1e-3, maxIterations: 100, gradientTolerance: 1e-5, memory: 10 };

function checkShapes(features: Float32Array, dim: number, labels: ArrayLike<number>, classCount: number, rows: ArrayLike<number>): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(dim) || dim < 1) problems.push(`dim must be a positive integer, got ${dim}`);
  if (!Number.isSafeInteger(classCount) || classCount < 2) problems.push(`classCount must be an integer ≥ 2, got ${classCount}`);
  if (problems.length > 0) throw new SoftmaxInputError(problems);
  if (features.length % dim !== 0) problems.push(`features has ${features.length} values, not a whole number of ${dim}-value rows`);
  const count = Math.floor(features.length / dim);
  if (labels.length !== count) problems.push(`labels has ${labels.length} entries but features has ${count} rows`);
  if (rows.length === 0) problems.push("no training rows");
  let badRows = 0;
  let badLabels = 0;
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Number.isInteger(row) || row < 0 || row >= count) {
      if (badRows++ === 0) problems.push(`rows[${r}] = ${row} is not a row index in 0..${count - 1}`);
      continue;
    }
    const label = labels[row];
    if (!Number.isInteger(label) || label < 0 || label >= classCount) {
      if (badLabels++ === 0) problems.push(`labels[${row}] = ${label} is not a class index in 0..${classCount - 1}`);
    }
  }
  if (badRows > 1) problems.push(`${badRows} row indices out of range in all`);
  if (badLabels > 1) problems.push(`${badLabels} labels out of range in all`);
  if (problems.length > 0) throw new SoftmaxInputError(problems);
}

/** Training rows' per-feature mean and standard deviation (1 for a constant feature, whose weight the penalty then keeps at 0). */
function standardisation(features: Float32Array, dim: number, rows: ArrayLike<number>): { mean: Float64Array; scale: Float64Array } {
  const mean = new Float64Array(dim);
  const scale = new Float64Array(dim);
  for (let r = 0; r < rows.length; r++) {
    const at = rows[r] * dim;
    for (let j = 0; j < dim; j++) mean[j] += features[at + j];
  }
  for (let j = 0; j < dim; j++) mean[j] /= rows.length;
  for (let r = 0; r < rows.length; r++) {
    const at = rows[r] * dim;
    for (let j = 0; j < dim; j++) {
      const centred = features[at + j] - mean[j];
      scale[j] += centred * centred;
    }
  }
  for (let j = 0; j < dim; j++) {
    const sd = Math.sqrt(scale[j] / rows.length);
    scale[j] = sd > 1e-12 * (Math.abs(mean[j]) + 1) ? sd : 1;
  }
  return { mean, scale };
}

/** logits[c] = bias[c] + weights[c]·x for the row at `at`; four classes per pass so each feature load serves four rows of weights. */
function writeLogits(weights: Float64Array, bias: Float64Array, classCount: number, dim: number, features: Float32Array, at: number, logits: Float64Array): void {
  let c = 0;
  for (; c + 4 <= classCount; c += 4) {
    const w0 = c * dim;
    const w1 = w0 + dim;
    const w2 = w1 + dim;
    const w3 = w2 + dim;
    let s0 = bias[c];
    let s1 = bias[c + 1];
    let s2 = bias[c + 2];
    let s3 = bias[c + 3];
    for (let j = 0; j < dim; j++) {
      const x = features[at + j];
      s0 += weights[w0 + j] * x;
      s1 += weights[w1 + j] * x;
      s2 += weights[w2 + j] * x;
      s3 += weights[w3 + j] * x;
    }
    logits[c] = s0;
    logits[c + 1] = s1;
    logits[c + 2] = s2;
    logits[c + 3] = s3;
  }
  for (; c < classCount; c++) {
    const w = c * dim;
    let s = bias[c];
    for (let j = 0; j < dim; j++) s += weights[w + j] * features[at + j];
    logits[c] = s;
  }
}

/** gradient[c] += residual[c] · x for the row at `at`, four classes per pass. */
function accumulateGradient(gradient: Float64Array, residual: Float64Array, classCount: number, dim: number, features: Float32Array, at: number): void {
  let c = 0;
  for (; c + 4 <= classCount; c += 4) {
    const g0 = c * dim;
    const g1 = g0 + dim;
    const g2 = g1 + dim;
    const g3 = g2 + dim;
    const r0 = residual[c];
    const r1 = residual[c + 1];
    const r2 = residual[c + 2];
    const r3 = residual[c + 3];
    for (let j = 0; j < dim; j++) {
      const x = features[at + j];
      gradient[g0 + j] += r0 * x;
      gradient[g1 + j] += r1 * x;
      gradient[g2 + j] += r2 * x;
      gradient[g3 + j] += r3 * x;
    }
  }
  for (; c < classCount; c++) {
    const g = c * dim;
    const r = residual[c];
    for (let j = 0; j < dim; j++) gradient[g + j] += r * features[at + j];
  }
}

interface Problem {
  features: Float32Array;
  labels: ArrayLike<number>;
  rows: ArrayLike<number>;
  dim: number;
  classCount: number;
  l2: number;
  mean: Float64Array;
  scale: Float64Array;
}

/** Raw-space weights and bias equivalent to parameters θ = [W (standardised), b]. */
function rawModel(problem: Problem, theta: Float64Array, weights: Float64Array, bias: Float64Array): void {
  const { dim, classCount, mean, scale } = problem;
  for (let c = 0; c < classCount; c++) {
    let shift = 0;
    for (let j = 0; j < dim; j++) {
      const w = theta[c * dim + j] / scale[j];
      weights[c * dim + j] = w;
      shift += w * mean[j];
    }
    bias[c] = theta[classCount * dim + c] - shift;
  }
}

/** Objective and its gradient with respect to θ, in one pass over the rows. */
function createObjective(problem: Problem) {
  const { features, labels, rows, dim, classCount, l2, mean, scale } = problem;
  const weights = new Float64Array(classCount * dim);
  const bias = new Float64Array(classCount);
  const rawGradient = new Float64Array(classCount * dim);
  const residualSums = new Float64Array(classCount);
  const residual = new Float64Array(classCount);
  const count = rows.length;
  return (theta: Float64Array, gradient: Float64Array): number => {
    rawModel(problem, theta, weights, bias);
    rawGradient.fill(0);
    residualSums.fill(0);
    let loss = 0;
    for (let r = 0; r < count; r++) {
      const row = rows[r];
      const at = row * dim;
      writeLogits(weights, bias, classCount, dim, features, at, residual);
      const label = labels[row];
      const givenLogit = residual[label];
      loss += softmaxInPlace(residual, 0, classCount) - givenLogit;
      residual[label] -= 1;
      for (let c = 0; c < classCount; c++) residualSums[c] += residual[c];
      accumulateGradient(rawGradient, residual, classCount, dim, features, at);
    }
    // d/dW_std[c,j] = Σ r_c (x_j − μ_j) / σ_j, from the raw sums without a standardised copy.
    let penalty = 0;
    for (let c = 0; c < classCount; c++) {
      for (let j = 0; j < dim; j++) {
        const k = c * dim + j;
        gradient[k] = (rawGradient[k] - mean[j] * residualSums[c]) / scale[j] / count + l2 * theta[k];
        penalty += theta[k] * theta[k];
      }
      gradient[classCount * dim + c] = residualSums[c] / count;
    }
    return loss / count + (l2 / 2) * penalty;
  };
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function maxAbs(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Limited-memory BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed.,
 * algorithm 7.4, the two-loop recursion) with a backtracking Armijo line
 * search. A correction pair is kept only when sᵀy > 0, which keeps the
 * implied Hessian positive definite without a full Wolfe search.
 */
function minimiseLbfgs(
  objective: (theta: Float64Array, gradient: Float64Array) => number,
  theta: Float64Array,
  options: Required<Omit<SoftmaxTrainingOptions, "onIteration" | "l2">> & Pick<SoftmaxTrainingOptions, "onIteration">,
): SoftmaxTrainingReport {
  const size = theta.length;
  const gradient = new Float64Array(size);
  const nextTheta = new Float64Array(size);
  const nextGradient = new Float64Array(size);
  const direction = new Float64Array(size);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rhoHistory: number[] = [];
  const alpha = new Float64Array(options.memory);
  let loss = objective(theta, gradient);
  let evaluations = 1;
  let iteration = 0;
  let converged = maxAbs(gradient) < options.gradientTolerance;
  while (!converged && iteration < options.maxIterations) {
    direction.set(gradient);
    for (let h = sHistory.length - 1; h >= 0; h--) {
      alpha[h] = rhoHistory[h] * dot(sHistory[h], direction);
      const y = yHistory[h];
      for (let i = 0; i < size; i++) direction[i] -= alpha[h] * y[i];
    }
    if (sHistory.length > 0) {
      const last = sHistory.length - 1;
      const gamma = dot(sHistory[last], yHistory[last]) / dot(yHistory[last], yHistory[last]);
      for (let i = 0; i < size; i++) direction[i] *= gamma;
    } else {
      const norm = Math.sqrt(dot(gradient, gradient));
      for (let i = 0; i < size; i++) direction[i] /= norm;
    }
    for (let h = 0; h < sHistory.length; h++) {
      const beta = rhoHistory[h] * dot(yHistory[h], direction);
      const s = sHistory[h];
      for (let i = 0; i < size; i++) direction[i] += (alpha[h] - beta) * s[i];
    }
    // direction now approximates H·g; we step along −direction.
    let slope = -dot(gradient, direction);
    if (!(slope < 0)) {
      direction.set(gradient);
      slope = -dot(gradient, gradient);
      sHistory.length = yHistory.length = rhoHistory.length = 0;
    }
    let step = 1;
    let nextLoss = Infinity;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < size; i++) nextTheta[i] = theta[i] - step * direction[i];
      nextLoss = objective(nextTheta, nextGradient);
      evaluations++;
      if (nextLoss <= loss + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextLoss < loss)) break;
    const s = new Float64Array(size);
    const y = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      s[i] = nextTheta[i] - theta[i];
      y[i] = nextGradient[i] - gradient[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (sHistory.length === options.memory) {
        sHistory.shift();
        yHistory.shift();
        rhoHistory.shift();
      }
      sHistory.push(s);
      yHistory.push(y);
      rhoHistory.push(1 / sy);
    }
    theta.set(nextTheta);
    gradient.set(nextGradient);
    loss = nextLoss;
    iteration++;
    options.onIteration?.(iteration, loss);
    converged = maxAbs(gradient) < options.gradientTolerance;
  }
  return { iterations: iteration, evaluations, loss, gradientNorm: maxAbs(gradient), converged };
}

/**
 * Fits the model on the given rows of `features` (row-major, dim per row).
 * `labels[row]` is the class index of that row; rows not listed are ignored.
 */
export function trainSoftmax(
  features: Float32Array,
  dim: number,
  labels: ArrayLike<number>,
  classCount: number,
  rows: ArrayLike<number>,
  options: SoftmaxTrainingOptions = {},
): { model: SoftmaxModel; report: SoftmaxTrainingReport } {
  checkShapes(features, dim, labels, classCount, rows);
  const settings = { ...DEFAULTS, ...options };
  const problems: string[] = [];
  if (!(settings.l2 >= 0)) problems.push(`l2 must be ≥ 0, got ${settings.l2}`);
  if (!Number.isSafeInteger(settings.maxIterations) || settings.maxIterations < 0) problems.push(`maxIterations must be a whole number ≥ 0, got ${settings.maxIterations}`);
  if (!Number.isSafeInteger(settings.memory) || settings.memory < 1) problems.push(`memory must be a whole number ≥ 1, got ${settings.memory}`);
  if (problems.length > 0) throw new SoftmaxInputError(problems);
  const { mean, scale } = standardisation(features, dim, rows);
  const problem: Problem = { features, labels, rows, dim, classCount, l2: settings.l2, mean, scale };
  const theta = new Float64Array(classCount * dim + classCount);
  const report = minimiseLbfgs(createObjective(problem), theta, settings);
  const model: SoftmaxModel = { dim, classCount, weights: new Float64Array(classCount * dim), bias: new Float64Array(classCount) };
  rawModel(problem, theta, model.weights, model.bias);
  return { model, report };
}

/** Class probabilities (rows.length × classCount, row-major) for the given rows of `features`. */
export function predictRows(model: SoftmaxModel, features: Float32Array, rows: ArrayLike<number>): Float64Array {
  const { dim, classCount, weights, bias } = model;
  const count = Math.floor(features.length / dim);
  const out = new Float64Array(rows.length * classCount);
  const logits = new Float64Array(classCount);
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r];
    if (!Number.isInteger(row) || row < 0 || row >= count) throw new SoftmaxInputError([`rows[${r}] = ${row} is not a row index in 0..${count - 1}`]);
    writeLogits(weights, bias, classCount, dim, features, row * dim, logits);
    softmaxInPlace(logits, 0, classCount);
    out.set(logits, r * classCount);
  }
  return out;
}

/** Every row index 0..count−1, for training or predicting on all rows. */
export function allRows(count: number): Int32Array {
  const rows = new Int32Array(count);
  for (let i = 0; i < count; i++) rows[i] = i;
  return rows;
}

/**
 * Stratified, seeded fold assignment: each class's rows are shuffled
 * (Fisher–Yates with mulberry32) and dealt round-robin, each class starting
 * where the previous one stopped, so every fold gets its share of every
 * class and the fold sizes differ by at most one.
 */
export function assignFolds(labels: ArrayLike<number>, classCount: number, folds: number, seed: number): Int32Array {
  if (!Number.isSafeInteger(folds) || folds < 2) throw new SoftmaxInputError([`folds must be a whole number ≥ 2, got ${folds}`]);
  if (labels.length < folds) throw new SoftmaxInputError([`${folds} folds need at least ${folds} rows, got ${labels.length}`]);
  const byClass: number[][] = Array.from({ length: classCount }, () => []);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (!Number.isInteger(label) || label < 0 || label >= classCount) throw new SoftmaxInputError([`labels[${i}] = ${label} is not a class index in 0..${classCount - 1}`]);
    byClass[label].push(i);
  }
  const random = seededRandom(seed);
  const foldOf = new Int32Array(labels.length);
  let next = 0;
  for (const members of byClass) {
    for (let i = members.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [members[i], members[j]] = [members[j], members[i]];
    }
    for (const row of members) {
      foldOf[row] = next;
      next = (next + 1) % folds;
    }
  }
  return foldOf;
}

/** The rows in fold `fold` (held out) or, with `held: false`, every other row (trained on). */
export function foldRows(foldOf: Int32Array, fold: number, held = true): Int32Array {
  let size = 0;
  for (let i = 0; i < foldOf.length; i++) if ((foldOf[i] === fold) === held) size++;
  const rows = new Int32Array(size);
  let at = 0;
  for (let i = 0; i < foldOf.length; i++) if ((foldOf[i] === fold) === held) rows[at++] = i;
  return rows;
}

export interface FoldResult {
  fold: number;
  model: SoftmaxModel;
  report: SoftmaxTrainingReport;
  /** Held-out rows of this fold, ascending. */
  rows: Int32Array;
  /** Their probabilities, rows.length × classCount. */
  probabilities: Float64Array;
}

/** One fold: train on every other fold, predict the held-out rows. The unit of work for one Convex action. */
export function runFold(features: Float32Array, dim: number, labels: ArrayLike<number>, classCount: number, foldOf: Int32Array, fold: number, options: SoftmaxTrainingOptions = {}): FoldResult {
  const { model, report } = trainSoftmax(features, dim, labels, classCount, foldRows(foldOf, fold, false), options);
  const rows = foldRows(foldOf, fold, true);
  return { fold, model, report, rows, probabilities: predictRows(model, features, rows) };
}

/** Writes a fold's held-out probabilities into the full count × classCount table. */
export function placeFoldProbabilities(target: Float64Array, classCount: number, rows: Int32Array, probabilities: Float64Array): void {
  if (probabilities.length !== rows.length * classCount) {
    throw new SoftmaxInputError([`a fold with ${rows.length} rows needs ${rows.length * classCount} probabilities, got ${probabilities.length}`]);
  }
  for (let r = 0; r < rows.length; r++) target.set(probabilities.subarray(r * classCount, (r + 1) * classCount), rows[r] * classCount);
}

export interface OutOfFoldOptions extends SoftmaxTrainingOptions {
  /** Default 5. */
  folds?: number;
  /** Fold-assignment seed; default 1. */
  seed?: number;
  onFold?: (done: number, total: number) => void;
}

/**
 * Out-of-sample probabilities for every row by k-fold cross-fitting: each
 * row's probabilities come from the model trained without its fold.
 */
export function outOfFoldProbabilities(features: Float32Array, dim: number, labels: ArrayLike<number>, classCount: number, options: OutOfFoldOptions = {}) {
  const folds = options.folds ?? 5;
  const foldOf = assignFolds(labels, classCount, folds, options.seed ?? 1);
  const probabilities = new Float64Array(labels.length * classCount);
  const reports: SoftmaxTrainingReport[] = [];
  for (let fold = 0; fold < folds; fold++) {
    const result = runFold(features, dim, labels, classCount, foldOf, fold, options);
    placeFoldProbabilities(probabilities, classCount, result.rows, result.probabilities);
    reports.push(result.report);
    options.onFold?.(fold + 1, folds);
  }
  return { probabilities, foldOf, reports };
}

/** [dim, classCount, weights…, bias…] as float64 bytes, for storing a fold's model (12 × 512 → 49 KB). */
export function softmaxModelToBytes(model: SoftmaxModel): Uint8Array {
  const packed = new Float64Array(2 + model.weights.length + model.bias.length);
  packed[0] = model.dim;
  packed[1] = model.classCount;
  packed.set(model.weights, 2);
  packed.set(model.bias, 2 + model.weights.length);
  return new Uint8Array(packed.buffer);
}

export function softmaxModelFromBytes(bytes: Uint8Array): SoftmaxModel {
  if (bytes.byteLength % 8 !== 0 || bytes.byteLength < 16) throw new SoftmaxInputError([`a stored softmax model is a whole number of float64 values (at least 2), got ${bytes.byteLength} bytes`]);
  const packed = new Float64Array(bytes.slice().buffer);
  const [dim, classCount] = packed;
  const expected = 2 + classCount * dim + classCount;
  if (!Number.isSafeInteger(dim) || !Number.isSafeInteger(classCount) || dim < 1 || classCount < 2 || packed.length !== expected) {
    throw new SoftmaxInputError([`a stored softmax model of ${dim} features × ${classCount} classes needs ${expected} values, got ${packed.length}`]);
  }
  return { dim, classCount, weights: packed.slice(2, 2 + classCount * dim), bias: packed.slice(2 + classCount * dim) };
}
