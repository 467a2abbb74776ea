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
import type { PairedEvidence } from "./pairedStats.ts";
import { DEFAULT_PROMOTION_THRESHOLDS, type PromotionThresholds } from "./settings.ts";
import { InputProblemsError } from "./inputProblems.ts";

export type { PromotionThresholds };

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
export class MetricsInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "MetricsInputError", `invalid metrics input: ${summarizeProblems(problems)}`);
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
  return calibrationFromBins(counts, confidenceSums, correctCounts, predictions.length);
}

function calibrationFromBins(
  counts: readonly number[],
  confidenceSums: readonly number[],
  correctCounts: readonly number[],
  itemCount: number,
): { expectedCalibrationError: number | null; reliability: ReliabilityBin[] } {
  const reliability = counts.map((count, bin) => ({
    lower: bin / RELIABILITY_BIN_COUNT,
    upper: (bin + 1) / RELIABILITY_BIN_COUNT,
    count,
    meanConfidence: ratioOrNull(confidenceSums[bin], count),
    accuracy: ratioOrNull(correctCounts[bin], count),
  }));
  if (itemCount === 0) return { expectedCalibrationError: null, reliability };
  const expectedCalibrationError = reliability.reduce(
    (sum, bin) => (bin.count === 0 ? sum : sum + (bin.count / itemCount) * Math.abs((bin.accuracy ?? 0) - (bin.meanConfidence ?? 0))),
    0,
  );
  return { expectedCalibrationError, reliability };
}

/**
 * Accumulates one version's report item by item, so a labelled set can be
 * evaluated page by page: memory grows with classes², never with items.
 */
export class ClassificationAccumulator {
  private readonly confusion: number[][];
  private readonly binCounts = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  private readonly binConfidenceSums = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  private readonly binCorrectCounts = new Array<number>(RELIABILITY_BIN_COUNT).fill(0);
  private itemCount = 0;
  private correctCount = 0;

  constructor(readonly classCount: number) {
    const problems: string[] = [];
    validateClassCount(classCount, problems);
    if (problems.length > 0) throw new MetricsInputError(problems);
    this.confusion = Array.from({ length: classCount }, () => new Array<number>(classCount).fill(0));
  }

  /** Callers validate labels and confidence first (evaluateClassifier does; the Convex actions map classes by name). */
  add(trueLabel: number, predictedLabel: number, confidence: number): void {
    this.confusion[trueLabel][predictedLabel] += 1;
    const bin = reliabilityBinIndex(confidence);
    this.binCounts[bin] += 1;
    this.binConfidenceSums[bin] += confidence;
    this.itemCount += 1;
    if (predictedLabel === trueLabel) {
      this.correctCount += 1;
      this.binCorrectCounts[bin] += 1;
    }
  }

  report(): ClassificationReport {
    const confusion = this.confusion.map((row) => [...row]);
    const perClass = perClassMetrics(confusion);
    return {
      itemCount: this.itemCount,
      classCount: this.classCount,
      correctCount: this.correctCount,
      accuracy: ratioOrNull(this.correctCount, this.itemCount),
      macroF1: macroF1(perClass),
      perClass,
      confusion,
      ...calibrationFromBins(this.binCounts, this.binConfidenceSums, this.binCorrectCounts, this.itemCount),
    };
  }
}

/** Every quality metric of one version on one labelled set. */
export function evaluateClassifier(input: EvaluationInput): ClassificationReport {
  validateEvaluationInput(input);
  const accumulator = new ClassificationAccumulator(input.classCount);
  input.predictions.forEach((prediction, index) => accumulator.add(input.trueLabels[index], prediction.labelIndex, prediction.confidence));
  return accumulator.report();
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
  const top = new TopDisagreements(limit);
  predictionsA.forEach((predictionA, index) => {
    if (predictionA.labelIndex !== predictionsB[index].labelIndex) top.offer(disagreementOf(index, trueLabels ? trueLabels[index] : null, predictionA, predictionsB[index]));
  });
  return top.list();
}

/** The disagreement record of item `index`, where the two predictions' top labels differ. */
function disagreementOf(index: number, trueLabel: number | null, predictionA: Prediction, predictionB: Prediction): Disagreement {
  let correct: Disagreement["correct"] = "unknown";
  if (trueLabel !== null) {
    if (predictionA.labelIndex === trueLabel) correct = "A";
    else if (predictionB.labelIndex === trueLabel) correct = "B";
    else correct = "neither";
  }
  return {
    index,
    trueLabel,
    labelA: predictionA.labelIndex,
    labelB: predictionB.labelIndex,
    confidenceA: predictionA.confidence,
    confidenceB: predictionB.confidence,
    margin: disagreementMargin(predictionA, predictionB),
    correct,
  };
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
  const { n10: b, n01: c } = pairedCounts(trueLabels, predictionsA, predictionsB);
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

/** The 2×2 table of paired correctness: n11 both right, n10 only A right, n01 only B right, n00 both wrong. */
export interface PairedCounts {
  n11: number;
  n10: number;
  n01: number;
  n00: number;
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
  paired: PairedCounts;
}

/** Keeps the `limit` largest-margin disagreements seen so far (ties: earlier item first). */
class TopDisagreements {
  private readonly kept: Disagreement[] = [];
  constructor(private readonly limit: number) {}

  offer(disagreement: Disagreement): void {
    if (this.limit <= 0) return;
    const ranksBefore = (left: Disagreement, right: Disagreement) => left.margin > right.margin || (left.margin === right.margin && left.index < right.index);
    if (this.kept.length === this.limit && !ranksBefore(disagreement, this.kept[this.kept.length - 1])) return;
    let position = this.kept.length;
    while (position > 0 && ranksBefore(disagreement, this.kept[position - 1])) position -= 1;
    this.kept.splice(position, 0, disagreement);
    if (this.kept.length > this.limit) this.kept.pop();
  }

  list(): Disagreement[] {
    return [...this.kept];
  }

  indices(): number[] {
    return this.kept.map((disagreement) => disagreement.index);
  }
}

function pairedCounts(trueLabels: readonly number[], predictionsA: readonly Prediction[], predictionsB: readonly Prediction[]): PairedCounts {
  const counts: PairedCounts = { n11: 0, n10: 0, n01: 0, n00: 0 };
  trueLabels.forEach((label, index) => addPair(counts, predictionsA[index].labelIndex === label, predictionsB[index].labelIndex === label));
  return counts;
}

function addPair(counts: PairedCounts, correctA: boolean, correctB: boolean): void {
  if (correctA && correctB) counts.n11 += 1;
  else if (correctA) counts.n10 += 1;
  else if (correctB) counts.n01 += 1;
  else counts.n00 += 1;
}

/**
 * Compares two versions item by item on one set: both reports, agreement,
 * McNemar's counts and the top disagreements. Memory grows with classes²
 * and the disagreement limit, never with the number of items.
 */
export class PairedComparisonAccumulator {
  private readonly a: ClassificationAccumulator;
  private readonly b: ClassificationAccumulator;
  private readonly top: TopDisagreements;
  private readonly paired: PairedCounts = { n11: 0, n10: 0, n01: 0, n00: 0 };
  private agreeing = 0;
  private disagreementCount = 0;
  private itemCount = 0;

  constructor(classCount: number, disagreementLimit = Number.POSITIVE_INFINITY) {
    this.a = new ClassificationAccumulator(classCount);
    this.b = new ClassificationAccumulator(classCount);
    this.top = new TopDisagreements(disagreementLimit);
  }

  /** `index` is the item's position in the evaluated set (for the disagreement list). */
  add(trueLabel: number, predictionA: Prediction, predictionB: Prediction, index: number): void {
    this.a.add(trueLabel, predictionA.labelIndex, predictionA.confidence);
    this.b.add(trueLabel, predictionB.labelIndex, predictionB.confidence);
    this.itemCount += 1;
    addPair(this.paired, predictionA.labelIndex === trueLabel, predictionB.labelIndex === trueLabel);
    if (predictionA.labelIndex === predictionB.labelIndex) {
      this.agreeing += 1;
      return;
    }
    this.disagreementCount += 1;
    this.top.offer(disagreementOf(index, trueLabel, predictionA, predictionB));
  }

  /** Positions of the disagreements currently kept: the only items a caller needs to remember. */
  topIndices(): number[] {
    return this.top.indices();
  }

  result(): VersionComparison {
    const a = this.a.report();
    const b = this.b.report();
    return {
      a,
      b,
      accuracyDifference: a.accuracy === null || b.accuracy === null ? null : b.accuracy - a.accuracy,
      agreementRate: ratioOrNull(this.agreeing, this.itemCount),
      disagreementCount: this.disagreementCount,
      disagreements: this.top.list(),
      mcnemar: { b: this.paired.n10, c: this.paired.n01, pValue: mcnemarExactPValue(this.paired.n10, this.paired.n01) },
      paired: { ...this.paired },
    };
  }
}

export function compareVersions(input: ComparisonInput): VersionComparison {
  const { trueLabels, classCount, predictionsA, predictionsB } = input;
  validatePair(predictionsA, predictionsB);
  validateEvaluationInput({ trueLabels, predictions: predictionsA, classCount });
  validateEvaluationInput({ trueLabels, predictions: predictionsB, classCount });
  const accumulator = new PairedComparisonAccumulator(classCount, input.disagreementLimit);
  trueLabels.forEach((label, index) => accumulator.add(label, predictionsA[index], predictionsB[index], index));
  return accumulator.result();
}

export interface PromotionVerdict {
  allowed: boolean;
  /** One human-readable sentence per breached threshold; empty when allowed. */
  reasons: string[];
}

export interface GateContext {
  /** How the reasons name the baseline: "the active version" when activating, else "the baseline". */
  baselineName?: string;
  /** Items of the set left out because a version does not know their label; explains an empty comparison. */
  excludedItemCount?: number;
  /** What the paired counts can tell; the noSignificantRegression rule decides on it. */
  evidence?: PairedEvidence;
}

/** Differences this small are float noise (0.85 − 0.84 > 0.01 in binary). */
const THRESHOLD_TOLERANCE = 1e-9;

function formatRate(value: number): string {
  return String(Number(value.toFixed(3)));
}

/**
 * Decides whether `candidate` may replace the baseline without an override.
 * Both reports must come from the same items. Per-class checks cover classes
 * with support in the set; a class absent from the set cannot be judged. An
 * empty comparison blocks: there is no evidence either way, and the admin's
 * override (with a reason) is the audited way past it.
 */
export function evaluatePromotionGate(
  candidate: ClassificationReport,
  baseline: ClassificationReport,
  thresholds: Partial<PromotionThresholds> = {},
  classNames: readonly string[] = [],
  context: GateContext = {},
): PromotionVerdict {
  if (candidate.itemCount !== baseline.itemCount || candidate.classCount !== baseline.classCount) {
    throw new MetricsInputError([
      `candidate and baseline reports must come from the same set: ${candidate.itemCount} items/${candidate.classCount} classes vs ${baseline.itemCount} items/${baseline.classCount} classes`,
    ]);
  }
  const limits = { ...DEFAULT_PROMOTION_THRESHOLDS, ...thresholds };
  const baselineName = context.baselineName ?? "the baseline";
  if (candidate.accuracy === null || baseline.accuracy === null) {
    const excluded = context.excludedItemCount ?? 0;
    return {
      allowed: false,
      reasons: [
        excluded > 0
          ? `no classes in common with the labelled set: none of its ${excluded} ${excluded === 1 ? "item has a label" : "items has a label"} that both versions know, so the candidate cannot be compared with ${baselineName}`
          : `the labelled set is empty, so the candidate cannot be compared with ${baselineName}`,
      ],
    };
  }
  const reasons: string[] = [];
  const accuracyDrop = baseline.accuracy - candidate.accuracy;
  if (limits.rule === "noSignificantRegression" && context.evidence !== undefined) {
    if (context.evidence.verdict !== "non-inferior") {
      reasons.push(
        `no significant regression is not shown (margin ${formatRate(limits.nonInferiorityMargin)}): ${context.evidence.reasons.join("; ")}`,
      );
    }
  } else if (accuracyDrop > limits.maxAccuracyDrop + THRESHOLD_TOLERANCE) {
    reasons.push(
      `accuracy ${formatRate(candidate.accuracy)} is ${formatRate(accuracyDrop)} below ${baselineName}'s ${formatRate(baseline.accuracy)} (allowed drop ${formatRate(limits.maxAccuracyDrop)})`,
    );
  }
  candidate.perClass.forEach((metrics, classIndex) => {
    const candidateRecall = metrics.recall;
    const baselineRecall = baseline.perClass[classIndex].recall;
    if (candidateRecall === null || baselineRecall === null) return;
    const name = classNames[classIndex] !== undefined ? `"${classNames[classIndex]}"` : `class ${classIndex}`;
    const recallDrop = baselineRecall - candidateRecall;
    if (recallDrop > limits.maxPerClassRecallDrop + THRESHOLD_TOLERANCE) {
      reasons.push(
        `recall for ${name} ${formatRate(candidateRecall)} is ${formatRate(recallDrop)} below ${baselineName}'s ${formatRate(baselineRecall)} (allowed drop ${formatRate(limits.maxPerClassRecallDrop)})`,
      );
    }
    if (candidateRecall < limits.minPerClassRecall - THRESHOLD_TOLERANCE && candidateRecall < baselineRecall) {
      reasons.push(
        `recall for ${name} ${formatRate(candidateRecall)} is below the floor ${formatRate(limits.minPerClassRecall)} (${baselineName}: ${formatRate(baselineRecall)}, support ${metrics.support})`,
      );
    }
  });
  return { allowed: reasons.length === 0, reasons };
}
