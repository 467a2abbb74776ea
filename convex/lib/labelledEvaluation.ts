import {
  compareVersions,
  evaluateClassifier,
  evaluatePromotionGate,
  type ClassificationReport,
  type Prediction,
  type PromotionThresholds,
  type PromotionVerdict,
} from "./metrics.ts";

/**
 * Evaluating model versions on the labelled set. Two versions may list
 * different classes (a class added or renamed), and the set may hold labels
 * a version does not know, so everything is re-expressed over one shared
 * class list before the metrics run: a version simply never predicts a class
 * it lacks, which costs it that class's recall.
 */

/** One model's output for one item, in that model's own class order. */
export interface ModelOutput {
  probabilities: ArrayLike<number>;
  labelIndex: number;
  confidence: number;
}

/** The union of the lists, first occurrence first, so a version's own order is kept. */
export function evaluationClasses(...classLists: ReadonlyArray<readonly string[]>): string[] {
  const classes: string[] = [];
  const seen = new Set<string>();
  for (const list of classLists) {
    for (const name of list) {
      if (!seen.has(name)) {
        seen.add(name);
        classes.push(name);
      }
    }
  }
  return classes;
}

function indexOfClasses(classes: readonly string[]): Map<string, number> {
  return new Map(classes.map((name, index) => [name, index]));
}

function toPredictions(outputs: readonly ModelOutput[], modelClasses: readonly string[], classIndex: ReadonlyMap<string, number>, classCount: number): Prediction[] {
  const positions = modelClasses.map((name) => {
    const position = classIndex.get(name);
    if (position === undefined) throw new Error(`class "${name}" is missing from the evaluation classes`);
    return position;
  });
  return outputs.map((output) => {
    const probabilities = new Array<number>(classCount).fill(0);
    positions.forEach((position, modelIndex) => {
      probabilities[position] = output.probabilities[modelIndex];
    });
    return { labelIndex: positions[output.labelIndex], confidence: output.confidence, probabilities };
  });
}

function trueLabelIndices(labels: readonly string[], classIndex: ReadonlyMap<string, number>): number[] {
  return labels.map((label) => {
    const position = classIndex.get(label);
    if (position === undefined) throw new Error(`label "${label}" is missing from the evaluation classes`);
    return position;
  });
}

export interface HeadlineMetricValues {
  accuracy: number | null;
  macroF1: number | null;
  ece: number | null;
  itemCount: number;
}

export function headlineMetrics(report: ClassificationReport): HeadlineMetricValues {
  return {
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    ece: report.expectedCalibrationError,
    itemCount: report.itemCount,
  };
}

/** One version's report on the labelled set (`labels[i]` is the truth for `outputs[i]`). */
export function evaluateVersionOnSet(labels: readonly string[], outputs: readonly ModelOutput[], modelClasses: readonly string[]): { classes: string[]; report: ClassificationReport } {
  const classes = evaluationClasses(modelClasses, labels);
  const classIndex = indexOfClasses(classes);
  const report = evaluateClassifier({
    trueLabels: trueLabelIndices(labels, classIndex),
    predictions: toPredictions(outputs, modelClasses, classIndex, classes.length),
    classCount: classes.length,
  });
  return { classes, report };
}

export interface LabelledDisagreement<PictureRef> {
  /** Position of the item in the evaluated set. */
  index: number;
  /** Set when the item came from a labeller-confirmed picture. */
  pictureId: PictureRef | null;
  trueLabel: string;
  baselineLabel: string;
  candidateLabel: string;
  baselineConfidence: number;
  candidateConfidence: number;
  margin: number;
  correct: "baseline" | "candidate" | "neither";
}

export interface LabelledComparison<PictureRef> {
  classes: string[];
  itemCount: number;
  baseline: ClassificationReport;
  candidate: ClassificationReport;
  /** accuracy(candidate) − accuracy(baseline); null for an empty set. */
  accuracyDifference: number | null;
  agreementRate: number | null;
  disagreementCount: number;
  /** The largest-margin disagreements, at most `disagreementLimit`. */
  disagreements: LabelledDisagreement<PictureRef>[];
  mcnemar: { baselineOnlyCorrect: number; candidateOnlyCorrect: number; pValue: number };
  gate: PromotionVerdict;
}

export interface ComparisonSource<PictureRef> {
  labels: readonly string[];
  pictureIds: readonly (PictureRef | null)[];
  baselineClasses: readonly string[];
  baselineOutputs: readonly ModelOutput[];
  candidateClasses: readonly string[];
  candidateOutputs: readonly ModelOutput[];
  thresholds: Partial<PromotionThresholds>;
  disagreementLimit: number;
}

/** The full candidate-versus-baseline report, including the promotion gate's verdict on the candidate. */
export function compareOnLabelledSet<PictureRef>(source: ComparisonSource<PictureRef>): LabelledComparison<PictureRef> {
  const classes = evaluationClasses(source.baselineClasses, source.candidateClasses, source.labels);
  const classIndex = indexOfClasses(classes);
  const trueLabels = trueLabelIndices(source.labels, classIndex);
  const comparison = compareVersions({
    trueLabels,
    classCount: classes.length,
    predictionsA: toPredictions(source.baselineOutputs, source.baselineClasses, classIndex, classes.length),
    predictionsB: toPredictions(source.candidateOutputs, source.candidateClasses, classIndex, classes.length),
    disagreementLimit: source.disagreementLimit,
  });
  const verdict = evaluatePromotionGate(comparison.b, comparison.a, source.thresholds, classes);
  const correctness = { A: "baseline", B: "candidate", neither: "neither", unknown: "neither" } as const;
  return {
    classes,
    itemCount: trueLabels.length,
    baseline: comparison.a,
    candidate: comparison.b,
    accuracyDifference: comparison.accuracyDifference,
    agreementRate: comparison.agreementRate,
    disagreementCount: comparison.disagreementCount,
    disagreements: comparison.disagreements.map((disagreement) => ({
      index: disagreement.index,
      pictureId: source.pictureIds[disagreement.index] ?? null,
      trueLabel: source.labels[disagreement.index],
      baselineLabel: classes[disagreement.labelA],
      candidateLabel: classes[disagreement.labelB],
      baselineConfidence: disagreement.confidenceA,
      candidateConfidence: disagreement.confidenceB,
      margin: disagreement.margin,
      correct: correctness[disagreement.correct],
    })),
    mcnemar: {
      baselineOnlyCorrect: comparison.mcnemar.b,
      candidateOnlyCorrect: comparison.mcnemar.c,
      pValue: comparison.mcnemar.pValue,
    },
    gate: verdict,
  };
}
