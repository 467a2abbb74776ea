/**
 * Classification metrics, version comparison and the promotion gate.
 *
 * Pure: used by the Convex compare action, the `mlp compare` CLI and the
 * dashboard alike, so both report exactly the same numbers.
 *
 * Conventions shared by every function here:
 * - Classes are indices 0..classCount-1; callers map names at the edges.
 * - A metric that has no defined value (an empty set, a class nobody
 *   predicted) is `null`, never NaN, so it survives JSON and Convex values
 *   and the UI can print "n/a".
 * - The confusion matrix is indexed `[trueLabel][predictedLabel]`.
 */

export interface Prediction {
  labelIndex: number;
  /** Top-label probability, in [0, 1]. */
  confidence: number;
  /** Full class distribution; needed for the disagreement margin. */
  probabilities?: ArrayLike<number>;
}

export interface EvaluationInput {
  trueLabels: readonly number[];
  predictions: readonly Prediction[];
  classCount: number;
}

export interface ClassMetrics {
  classIndex: number;
  /** TP / (TP + FP); null when the class was never predicted. */
  precision: number | null;
  /** TP / (TP + FN); null when the class has no true items (support 0). */
  recall: number | null;
  /**
   * 2TP / (2TP + FP + FN). Defined whenever the class occurs in the truth or
   * in the predictions: a class that is missed entirely, or predicted but
   * never true, scores 0. Null only when the class is absent from both.
   */
  f1: number | null;
  /** Number of items whose true label is this class. */
  support: number;
  /** Number of items predicted as this class. */
  predictedCount: number;
}

export interface ReliabilityBin {
  lower: number;
  upper: number;
  count: number;
  /** Mean top-label confidence of the items in the bin; null when empty. */
  meanConfidence: number | null;
  /** Fraction of the bin's items predicted correctly; null when empty. */
  accuracy: number | null;
}

export interface ClassificationReport {
  itemCount: number;
  classCount: number;
  correctCount: number;
  /** Null for an empty set. */
  accuracy: number | null;
  /**
   * Unweighted mean of per-class F1 over the classes that occur in the truth
   * or in the predictions. A class absent from both says nothing about the
   * model and is excluded rather than counted as 0 or 1. Null for an empty set.
   */
  macroF1: number | null;
  perClass: ClassMetrics[];
  /** `[trueLabel][predictedLabel]` counts, classCount × classCount. */
  confusion: number[][];
  /** ECE over RELIABILITY_BIN_COUNT equal-width bins; null for an empty set. */
  expectedCalibrationError: number | null;
  reliability: ReliabilityBin[];
}

export const RELIABILITY_BIN_COUNT = 10;

/** Thrown when inputs are structurally wrong; lists every problem found. */
export class MetricsInputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid metrics input: ${summarizeProblems(problems)}`);
    this.name = "MetricsInputError";
  }
}

const MAX_LISTED_PROBLEMS = 10;

function summarizeProblems(problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join("; ");
  const rest = problems.length - MAX_LISTED_PROBLEMS;
  return rest > 0 ? `${listed}; and ${rest} more` : listed;
}

function validateClassCount(classCount: number, problems: string[]): void {
  if (!Number.isInteger(classCount) || classCount < 1) {
    problems.push(`classCount must be a positive integer, got ${classCount}`);
  }
}

function validateLabel(value: number, classCount: number, where: string, problems: string[]): void {
  if (!Number.isInteger(value) || value < 0 || value >= classCount) {
    problems.push(`${where} must be an integer class index in [0, ${classCount - 1}], got ${value}`);
  }
}

function validatePredictions(predictions: readonly Prediction[], classCount: number, name: string, problems: string[]): void {
  predictions.forEach((prediction, index) => {
    validateLabel(prediction.labelIndex, classCount, `${name}[${index}].labelIndex`, problems);
    const { confidence } = prediction;
    if (!Number.isFinite(confidence) || confidence < 0 || confidence > 1) {
      problems.push(`${name}[${index}].confidence must be a number in [0, 1], got ${confidence}`);
    }
    if (prediction.probabilities !== undefined && prediction.probabilities.length !== classCount) {
      problems.push(`${name}[${index}].probabilities has ${prediction.probabilities.length} entries but classCount is ${classCount}`);
    }
  });
}

function validateEvaluationInput(input: EvaluationInput): void {
  const problems: string[] = [];
  validateClassCount(input.classCount, problems);
  if (input.trueLabels.length !== input.predictions.length) {
    problems.push(`trueLabels has ${input.trueLabels.length} items but predictions has ${input.predictions.length}`);
  }
  if (problems.length === 0) {
    input.trueLabels.forEach((label, index) => validateLabel(label, input.classCount, `trueLabels[${index}]`, problems));
    validatePredictions(input.predictions, input.classCount, "predictions", problems);
  }
  if (problems.length > 0) throw new MetricsInputError(problems);
}

function ratioOrNull(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

export function confusionMatrix(trueLabels: readonly number[], predictedLabels: readonly number[], classCount: number): number[][] {
  const matrix = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  trueLabels.forEach((label, index) => {
    matrix[label][predictedLabels[index]] += 1;
  });
  return matrix;
}

export function perClassMetrics(confusion: readonly (readonly number[])[]): ClassMetrics[] {
  const classCount = confusion.length;
  return confusion.map((row, classIndex) => {
    const truePositives = row[classIndex];
    const support = row.reduce((sum, count) => sum + count, 0);
    let predictedCount = 0;
    for (let trueLabel = 0; trueLabel < classCount; trueLabel += 1) predictedCount += confusion[trueLabel][classIndex];
    const falsePositives = predictedCount - truePositives;
    const falseNegatives = support - truePositives;
    return {
      classIndex,
      precision: ratioOrNull(truePositives, predictedCount),
      recall: ratioOrNull(truePositives, support),
      f1: ratioOrNull(2 * truePositives, 2 * truePositives + falsePositives + falseNegatives),
      support,
      predictedCount,
    };
  });
}

export function macroF1(perClass: readonly ClassMetrics[]): number | null {
  const scores = perClass.map((metrics) => metrics.f1).filter((f1): f1 is number => f1 !== null);
  return scores.length === 0 ? null : scores.reduce((sum, f1) => sum + f1, 0) / scores.length;
}

/**
 * Bins are [lower, upper) except the last, which is [0.9, 1] so that a
 * confidence of exactly 1 is counted.
 */
function reliabilityBinIndex(confidence: number): number {
  return Math.min(Math.floor(confidence * RELIABILITY_BIN_COUNT), RELIABILITY_BIN_COUNT - 1);
}

/**
 * Reliability diagram over RELIABILITY_BIN_COUNT equal-width bins of the
 * top-label confidence, and the expected calibration error
 * ECE = Σ_bins (count / n) · |accuracy − meanConfidence|.
 */
export function calibration(
  trueLabels: readonly number[],
  predictions: readonly Prediction[],
): { expectedCalibrationError: number | null; reliability: ReliabilityBin[] } {
  const counts = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  const confidenceSums = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  const correctCounts = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  predictions.forEach((prediction, index) => {
    const bin = reliabilityBinIndex(prediction.confidence);
    counts[bin] += 1;
    confidenceSums[bin] += prediction.confidence;
    if (prediction.labelIndex === trueLabels[index]) correctCounts[bin] += 1;
  });
  const reliability = counts.map((count, bin) => ({
    lower: bin / RELIABILITY_BIN_COUNT,
    upper: (bin + 1) / RELIABILITY_BIN_COUNT,
    count,
    meanConfidence: ratioOrNull(confidenceSums[bin], count),
    accuracy: ratioOrNull(correctCounts[bin], count),
  }));
  const itemCount = predictions.length;
  if (itemCount === 0) return { expectedCalibrationError: null, reliability };
  const expectedCalibrationError = reliability.reduce(
    (sum, bin) => (bin.count === 0 ? sum : sum + (bin.count / itemCount) * Math.abs((bin.accuracy ?? 0) - (bin.meanConfidence ?? 0))),
    0,
  );
  return { expectedCalibrationError, reliability };
}

/** Every quality metric of one version on one labelled set. */
export function evaluateClassifier(input: EvaluationInput): ClassificationReport {
  validateEvaluationInput(input);
  const { trueLabels, predictions, classCount } = input;
  const predictedLabels = predictions.map((prediction) => prediction.labelIndex);
  const confusion = confusionMatrix(trueLabels, predictedLabels, classCount);
  const perClass = perClassMetrics(confusion);
  const correctCount = predictedLabels.filter((label, index) => label === trueLabels[index]).length;
  return {
    itemCount: trueLabels.length,
    classCount,
    correctCount,
    accuracy: ratioOrNull(correctCount, trueLabels.length),
    macroF1: macroF1(perClass),
    perClass,
    confusion,
    ...calibration(trueLabels, predictions),
  };
}

function validatePair(predictionsA: readonly Prediction[], predictionsB: readonly Prediction[]): void {
  if (predictionsA.length !== predictionsB.length) {
    throw new MetricsInputError([`predictionsA has ${predictionsA.length} items but predictionsB has ${predictionsB.length}`]);
  }
}

/** Fraction of items on which both versions give the same top label; null for an empty set. */
export function agreementRate(predictionsA: readonly Prediction[], predictionsB: readonly Prediction[]): number | null {
  validatePair(predictionsA, predictionsB);
  const agreeing = predictionsA.filter((prediction, index) => prediction.labelIndex === predictionsB[index].labelIndex).length;
  return ratioOrNull(agreeing, predictionsA.length);
}

export interface Disagreement {
  /** Position of the item in the evaluated set. */
  index: number;
  /** True label when known (a labelled set); null otherwise. */
  trueLabel: number | null;
  labelA: number;
  labelB: number;
  confidenceA: number;
  confidenceB: number;
  /** How firmly the two versions hold their different answers; see `disagreementMargin`. */
  margin: number;
  /** Which version got it right, when the true label is known. */
  correct: "A" | "B" | "neither" | "unknown";
}

/**
 * Margin of a disagreement where A says `a` and B says `b`:
 *   (p_A(a) − p_A(b)) + (p_B(b) − p_B(a)),
 * each version's preference for its own answer over the other's, summed.
 * It lies in (0, 2]: near 0 when both versions were nearly tied between the
 * two labels (a coin flip), 2 when each was certain of its own answer. These
 * are the disagreements worth a human's look first.
 * Without full probabilities for both, the other label's probability is
 * taken as 0, so the margin falls back to confidenceA + confidenceB (an upper
 * bound); don't mix items with and without probabilities in one ranking.
 */
export function disagreementMargin(predictionA: Prediction, predictionB: Prediction): number {
  const a = predictionA.labelIndex;
  const b = predictionB.labelIndex;
  const probabilityAOfB = predictionA.probabilities ? predictionA.probabilities[b] : 0;
  const probabilityBOfA = predictionB.probabilities ? predictionB.probabilities[a] : 0;
  return predictionA.confidence - probabilityAOfB + (predictionB.confidence - probabilityBOfA);
}

/**
 * Items whose top labels differ, largest margin first (ties: earlier item
 * first). `trueLabels` may be omitted for an unlabelled stream.
 */
export function listDisagreements(
  predictionsA: readonly Prediction[],
  predictionsB: readonly Prediction[],
  trueLabels?: readonly number[],
  limit = Number.POSITIVE_INFINITY,
): Disagreement[] {
  validatePair(predictionsA, predictionsB);
  if (trueLabels && trueLabels.length !== predictionsA.length) {
    throw new MetricsInputError([`trueLabels has ${trueLabels.length} items but predictions have ${predictionsA.length}`]);
  }
  const disagreements: Disagreement[] = [];
  predictionsA.forEach((predictionA, index) => {
    const predictionB = predictionsB[index];
    if (predictionA.labelIndex === predictionB.labelIndex) return;
    const trueLabel = trueLabels ? trueLabels[index] : null;
    let correct: Disagreement["correct"] = "unknown";
    if (trueLabel !== null) {
      if (predictionA.labelIndex === trueLabel) correct = "A";
      else if (predictionB.labelIndex === trueLabel) correct = "B";
      else correct = "neither";
    }
    disagreements.push({
      index,
      trueLabel,
      labelA: predictionA.labelIndex,
      labelB: predictionB.labelIndex,
      confidenceA: predictionA.confidence,
      confidenceB: predictionB.confidence,
      margin: disagreementMargin(predictionA, predictionB),
      correct,
    });
  });
  disagreements.sort((left, right) => right.margin - left.margin || left.index - right.index);
  return disagreements.slice(0, limit);
}

export interface McNemarResult {
  /** Items A got right and B got wrong. */
  b: number;
  /** Items A got wrong and B got right. */
  c: number;
  /** Two-sided exact p-value; 1 when there are no discordant pairs. */
  pValue: number;
}

/**
 * Two-sided exact McNemar test: under H0 the discordant pairs split
 * Binomial(b + c, 1/2), and p = min(1, 2 · P(X ≤ min(b, c))).
 * Terms are summed in log space, so large sets neither overflow the binomial
 * coefficients nor underflow 0.5^n.
 */
export function mcnemarExactPValue(b: number, c: number): number {
  for (const [name, value] of [["b", b], ["c", c]] as const) {
    if (!Number.isInteger(value) || value < 0) throw new MetricsInputError([`${name} must be a non-negative integer, got ${value}`]);
  }
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // log C(n, i) · 0.5^n for i = 0..k, by the recurrence C(n, i+1) = C(n, i) · (n − i)/(i + 1).
  // Below n/2 the terms grow with i, so the last one is the largest.
  const logTerms: number[] = [];
  let logTerm = n * Math.log(0.5);
  for (let i = 0; i <= k; i += 1) {
    logTerms.push(logTerm);
    logTerm += Math.log((n - i) / (i + 1));
  }
  const largest = logTerms[logTerms.length - 1];
  const scaledSum = logTerms.reduce((sum, term) => sum + Math.exp(term - largest), 0);
  return Math.min(1, 2 * Math.exp(largest + Math.log(scaledSum)));
}

export function mcnemarTest(
  trueLabels: readonly number[],
  predictionsA: readonly Prediction[],
  predictionsB: readonly Prediction[],
): McNemarResult {
  validatePair(predictionsA, predictionsB);
  if (trueLabels.length !== predictionsA.length) {
    throw new MetricsInputError([`trueLabels has ${trueLabels.length} items but predictions have ${predictionsA.length}`]);
  }
  let b = 0;
  let c = 0;
  trueLabels.forEach((label, index) => {
    const correctA = predictionsA[index].labelIndex === label;
    const correctB = predictionsB[index].labelIndex === label;
    if (correctA && !correctB) b += 1;
    if (!correctA && correctB) c += 1;
  });
  return { b, c, pValue: mcnemarExactPValue(b, c) };
}

export interface ComparisonInput {
  trueLabels: readonly number[];
  classCount: number;
  predictionsA: readonly Prediction[];
  predictionsB: readonly Prediction[];
  /** Keep only the top disagreements (Convex documents and arrays are bounded). */
  disagreementLimit?: number;
}

export interface VersionComparison {
  a: ClassificationReport;
  b: ClassificationReport;
  /** accuracy(B) − accuracy(A); null for an empty set. */
  accuracyDifference: number | null;
  agreementRate: number | null;
  disagreementCount: number;
  disagreements: Disagreement[];
  mcnemar: McNemarResult;
}

export function compareVersions(input: ComparisonInput): VersionComparison {
  const { trueLabels, classCount, predictionsA, predictionsB } = input;
  const a = evaluateClassifier({ trueLabels, predictions: predictionsA, classCount });
  const b = evaluateClassifier({ trueLabels, predictions: predictionsB, classCount });
  const disagreements = listDisagreements(predictionsA, predictionsB, trueLabels);
  return {
    a,
    b,
    accuracyDifference: a.accuracy === null || b.accuracy === null ? null : b.accuracy - a.accuracy,
    agreementRate: agreementRate(predictionsA, predictionsB),
    disagreementCount: disagreements.length,
    disagreements: disagreements.slice(0, input.disagreementLimit ?? Number.POSITIVE_INFINITY),
    mcnemar: mcnemarTest(trueLabels, predictionsA, predictionsB),
  };
}

export interface PromotionThresholds {
  /** Largest accuracy drop versus the active version that is still allowed. */
  maxAccuracyDrop: number;
  /**
   * Per-class recall floor. Breached only where the candidate is below the
   * floor *and* below the active version, so a candidate that improves a
   * weak class is never blocked by that class.
   */
  minPerClassRecall: number;
  /** Largest per-class recall drop versus the active version that is still allowed. */
  maxPerClassRecallDrop: number;
}

export const DEFAULT_PROMOTION_THRESHOLDS: PromotionThresholds = {
  maxAccuracyDrop: 0.01,
  minPerClassRecall: 0.5,
  maxPerClassRecallDrop: 0.05,
};

export interface PromotionVerdict {
  allowed: boolean;
  /** One human-readable sentence per breached threshold; empty when allowed. */
  reasons: string[];
}

/** Differences this small are float noise (0.85 − 0.84 > 0.01 in binary). */
const THRESHOLD_TOLERANCE = 1e-9;

function formatRate(value: number): string {
  return String(Number(value.toFixed(3)));
}

/**
 * Decides whether `candidate` may replace `active` without an override.
 * Both reports must come from the same labelled set. Per-class checks cover
 * classes with support in the set; a class absent from the set cannot be
 * judged. An empty set blocks: there is no evidence either way, and the
 * admin's override (with a reason) is the audited way past it.
 */
export function evaluatePromotionGate(
  candidate: ClassificationReport,
  active: ClassificationReport,
  thresholds: Partial<PromotionThresholds> = {},
  classNames: readonly string[] = [],
): PromotionVerdict {
  if (candidate.itemCount !== active.itemCount || candidate.classCount !== active.classCount) {
    throw new MetricsInputError([
      `candidate and active reports must come from the same set: ${candidate.itemCount} items/${candidate.classCount} classes vs ${active.itemCount} items/${active.classCount} classes`,
    ]);
  }
  const limits = { ...DEFAULT_PROMOTION_THRESHOLDS, ...thresholds };
  if (candidate.accuracy === null || active.accuracy === null) {
    return { allowed: false, reasons: ["the labelled set is empty, so the candidate cannot be compared with the active version"] };
  }
  const reasons: string[] = [];
  const accuracyDrop = active.accuracy - candidate.accuracy;
  if (accuracyDrop > limits.maxAccuracyDrop + THRESHOLD_TOLERANCE) {
    reasons.push(
      `accuracy ${formatRate(candidate.accuracy)} is ${formatRate(accuracyDrop)} below the active version's ${formatRate(active.accuracy)} (allowed drop ${formatRate(limits.maxAccuracyDrop)})`,
    );
  }
  candidate.perClass.forEach((metrics, classIndex) => {
    const candidateRecall = metrics.recall;
    const activeRecall = active.perClass[classIndex].recall;
    if (candidateRecall === null || activeRecall === null) return;
    const name = classNames[classIndex] !== undefined ? `"${classNames[classIndex]}"` : `class ${classIndex}`;
    const recallDrop = activeRecall - candidateRecall;
    if (recallDrop > limits.maxPerClassRecallDrop + THRESHOLD_TOLERANCE) {
      reasons.push(
        `recall for ${name} ${formatRate(candidateRecall)} is ${formatRate(recallDrop)} below the active version's ${formatRate(activeRecall)} (allowed drop ${formatRate(limits.maxPerClassRecallDrop)})`,
      );
    }
    if (candidateRecall < limits.minPerClassRecall - THRESHOLD_TOLERANCE && candidateRecall < activeRecall) {
      reasons.push(
        `recall for ${name} ${formatRate(candidateRecall)} is below the floor ${formatRate(limits.minPerClassRecall)} (active version: ${formatRate(activeRecall)}, support ${metrics.support})`,
      );
    }
  });
  return { allowed: reasons.length === 0, reasons };
}
