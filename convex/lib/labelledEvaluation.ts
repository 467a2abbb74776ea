import {
  ClassificationAccumulator,
  evaluatePromotionGate,
  PairedComparisonAccumulator,
  type ClassificationReport,
  type PairedCounts,
  type Prediction,
  type PromotionThresholds,
  type PromotionVerdict,
} from "./metrics.ts";
import { pairedEvidence, type PairedEvidence } from "./pairedStats.ts";

/**
 * Evaluating model versions on the labelled set, page by page.
 *
 * The rule for labels a version does not know: an item counts only when
 * its label is one of the version's classes (for a comparison, one of both
 * versions' classes, so that the two are judged on the same items). Other
 * items are left out and counted apart, per label, so the UI can say how
 * many were ignored and why. A version is never marked wrong for a class it
 * cannot predict; the Settings page states the same rule.
 *
 * Two versions may order or name classes differently, so predictions are
 * re-expressed over one shared class list (the union, first occurrence first).
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

export interface ExcludedItems {
  itemCount: number;
  /** Per label outside the version's (or either version's) classes, most frequent first. */
  labels: Array<{ label: string; count: number }>;
}

class ExclusionCounter {
  private readonly counts = new Map<string, number>();
  private total = 0;

  add(label: string): void {
    this.counts.set(label, (this.counts.get(label) ?? 0) + 1);
    this.total += 1;
  }

  result(): ExcludedItems {
    const labels = [...this.counts].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
    return { itemCount: this.total, labels };
  }
}

/** Maps one model's outputs onto the shared class list. */
class ClassMapping {
  private readonly positions: number[];

  constructor(modelClasses: readonly string[], private readonly classIndex: ReadonlyMap<string, number>, private readonly classCount: number) {
    this.positions = modelClasses.map((name) => {
      const position = classIndex.get(name);
      if (position === undefined) throw new Error(`class "${name}" is missing from the evaluation classes`);
      return position;
    });
  }

  prediction(output: ModelOutput): Prediction {
    const probabilities = new Array<number>(this.classCount).fill(0);
    this.positions.forEach((position, modelIndex) => {
      probabilities[position] = output.probabilities[modelIndex];
    });
    return { labelIndex: this.positions[output.labelIndex], confidence: output.confidence, probabilities };
  }

  labelIndex(label: string): number | undefined {
    return this.classIndex.get(label);
  }
}

function indexOfClasses(classes: readonly string[]): Map<string, number> {
  return new Map(classes.map((name, index) => [name, index]));
}

export interface HeadlineMetricValues {
  accuracy: number | null;
  macroF1: number | null;
  ece: number | null;
  itemCount: number;
  excludedItemCount: number;
}

export function headlineMetrics(report: ClassificationReport, excluded: ExcludedItems): HeadlineMetricValues {
  return {
    accuracy: report.accuracy,
    macroF1: report.macroF1,
    ece: report.expectedCalibrationError,
    itemCount: report.itemCount,
    excludedItemCount: excluded.itemCount,
  };
}

/** One version's quality on the labelled set, fed page by page. */
export class VersionEvaluation {
  readonly classes: string[];
  private readonly known: Set<string>;
  private readonly mapping: ClassMapping;
  private readonly accumulator: ClassificationAccumulator;
  private readonly excluded = new ExclusionCounter();

  constructor(modelClasses: readonly string[]) {
    this.classes = [...modelClasses];
    this.known = new Set(modelClasses);
    this.mapping = new ClassMapping(modelClasses, indexOfClasses(this.classes), this.classes.length);
    this.accumulator = new ClassificationAccumulator(this.classes.length);
  }

  /** `labels[i]` is the truth for `outputs[i]`. */
  addPage(labels: readonly string[], outputs: readonly ModelOutput[]): void {
    labels.forEach((label, i) => {
      if (!this.known.has(label)) {
        this.excluded.add(label);
        return;
      }
      const prediction = this.mapping.prediction(outputs[i]);
      this.accumulator.add(this.mapping.labelIndex(label)!, prediction.labelIndex, prediction.confidence);
    });
  }

  finish(): { classes: string[]; report: ClassificationReport; excluded: ExcludedItems } {
    return { classes: this.classes, report: this.accumulator.report(), excluded: this.excluded.result() };
  }
}

/** One version's report on a whole set in memory (`labels[i]` is the truth for `outputs[i]`). */
export function evaluateVersionOnSet(labels: readonly string[], outputs: readonly ModelOutput[], modelClasses: readonly string[]) {
  const evaluation = new VersionEvaluation(modelClasses);
  evaluation.addPage(labels, outputs);
  return evaluation.finish();
}

export interface LabelledDisagreement<PictureRef> {
  /** Position of the item in the evaluated set (items left out are not counted). */
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
  /** Items left out: their label is not a class of both versions. */
  excluded: ExcludedItems;
  baseline: ClassificationReport;
  candidate: ClassificationReport;
  /** accuracy(candidate) − accuracy(baseline); null for an empty comparison. */
  accuracyDifference: number | null;
  agreementRate: number | null;
  disagreementCount: number;
  /** The largest-margin disagreements, at most `disagreementLimit`. */
  disagreements: LabelledDisagreement<PictureRef>[];
  mcnemar: { baselineOnlyCorrect: number; candidateOnlyCorrect: number; pValue: number };
  /** Paired correctness counts (n10: only the baseline right, n01: only the candidate right). */
  paired: PairedCounts;
  /** What these counts can tell: mid-p, bootstrap CI, items for 80% power, non-inferiority, a verdict. */
  evidence: PairedEvidence;
  gate: PromotionVerdict;
}

export interface ComparisonOptions {
  baselineClasses: readonly string[];
  candidateClasses: readonly string[];
  thresholds: Partial<PromotionThresholds>;
  disagreementLimit: number;
  /** How gate reasons name the baseline ("the active version" when activating). */
  baselineName?: string;
}

/** Candidate versus baseline on the labelled set, fed page by page; ends with the promotion gate's verdict. */
export class LabelledSetComparison<PictureRef> {
  readonly classes: string[];
  private readonly common: Set<string>;
  private readonly baselineMapping: ClassMapping;
  private readonly candidateMapping: ClassMapping;
  private readonly accumulator: PairedComparisonAccumulator;
  private readonly excluded = new ExclusionCounter();
  /** Label and picture of each item that may appear among the disagreements, by evaluated position. */
  private readonly itemsByIndex = new Map<number, { label: string; pictureId: PictureRef | null }>();
  private itemCount = 0;

  constructor(private readonly options: ComparisonOptions) {
    this.classes = evaluationClasses(options.baselineClasses, options.candidateClasses);
    const candidateSet = new Set(options.candidateClasses);
    this.common = new Set(options.baselineClasses.filter((name) => candidateSet.has(name)));
    const classIndex = indexOfClasses(this.classes);
    this.baselineMapping = new ClassMapping(options.baselineClasses, classIndex, this.classes.length);
    this.candidateMapping = new ClassMapping(options.candidateClasses, classIndex, this.classes.length);
    this.accumulator = new PairedComparisonAccumulator(this.classes.length, options.disagreementLimit);
  }

  addPage(
    labels: readonly string[],
    pictureIds: readonly (PictureRef | null)[],
    baselineOutputs: readonly ModelOutput[],
    candidateOutputs: readonly ModelOutput[],
  ): void {
    labels.forEach((label, i) => {
      if (!this.common.has(label)) {
        this.excluded.add(label);
        return;
      }
      const index = this.itemCount;
      this.itemCount += 1;
      this.accumulator.add(
        this.baselineMapping.labelIndex(label)!,
        this.baselineMapping.prediction(baselineOutputs[i]),
        this.candidateMapping.prediction(candidateOutputs[i]),
        index,
      );
      this.itemsByIndex.set(index, { label, pictureId: pictureIds[i] ?? null });
    });
    this.forgetItemsOutsideTop();
  }

  finish(): LabelledComparison<PictureRef> {
    const comparison = this.accumulator.result();
    const excluded = this.excluded.result();
    const evidence = pairedEvidence(comparison.paired, { margin: this.options.thresholds.nonInferiorityMargin ?? 0.01 });
    const gate = evaluatePromotionGate(comparison.b, comparison.a, this.options.thresholds, this.classes, {
      baselineName: this.options.baselineName,
      excludedItemCount: excluded.itemCount,
      evidence,
    });
    const correctness = { A: "baseline", B: "candidate", neither: "neither", unknown: "neither" } as const;
    return {
      classes: this.classes,
      itemCount: this.itemCount,
      excluded,
      baseline: comparison.a,
      candidate: comparison.b,
      accuracyDifference: comparison.accuracyDifference,
      agreementRate: comparison.agreementRate,
      disagreementCount: comparison.disagreementCount,
      disagreements: comparison.disagreements.map((disagreement) => {
        const item = this.itemsByIndex.get(disagreement.index)!;
        return {
          index: disagreement.index,
          pictureId: item.pictureId,
          trueLabel: item.label,
          baselineLabel: this.classes[disagreement.labelA],
          candidateLabel: this.classes[disagreement.labelB],
          baselineConfidence: disagreement.confidenceA,
          candidateConfidence: disagreement.confidenceB,
          margin: disagreement.margin,
          correct: correctness[disagreement.correct],
        };
      }),
      mcnemar: {
        baselineOnlyCorrect: comparison.mcnemar.b,
        candidateOnlyCorrect: comparison.mcnemar.c,
        pValue: comparison.mcnemar.pValue,
      },
      paired: comparison.paired,
      evidence,
      gate,
    };
  }

  /** Only the current top disagreements can still be listed: keep their items, drop the rest, so memory stays bounded. */
  private forgetItemsOutsideTop(): void {
    const kept = new Set(this.accumulator.topIndices());
    for (const index of this.itemsByIndex.keys()) if (!kept.has(index)) this.itemsByIndex.delete(index);
  }
}

export interface ComparisonSource<PictureRef> extends ComparisonOptions {
  labels: readonly string[];
  pictureIds: readonly (PictureRef | null)[];
  baselineOutputs: readonly ModelOutput[];
  candidateOutputs: readonly ModelOutput[];
}

/** The full candidate-versus-baseline report of a set in memory (the CLI's path; Convex streams pages). */
export function compareOnLabelledSet<PictureRef>(source: ComparisonSource<PictureRef>): LabelledComparison<PictureRef> {
  const comparison = new LabelledSetComparison<PictureRef>(source);
  comparison.addPage(source.labels, source.pictureIds, source.baselineOutputs, source.candidateOutputs);
  return comparison.finish();
}
