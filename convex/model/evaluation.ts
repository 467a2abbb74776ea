import type { ActionCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { decodeFeatures } from "../lib/features";
import { LabelledSetComparison, VersionEvaluation, type LabelledComparison } from "../lib/labelledEvaluation";
import { mlpForwardBatch } from "../lib/mlpForward";
import type { MlpModel } from "../lib/weightsFormat";
import type { PromotionThresholds } from "../lib/shapes";
import { LABELLED_PAGE_SIZE } from "./labelledSet";

/** Only the top disagreements are kept and returned (documents and return values are bounded). */
export const DISAGREEMENT_LIMIT = 100;

export interface LabelledPage {
  itemIds: Id<"labelledItems">[];
  labels: string[];
  pictureIds: (Id<"pictures"> | null)[];
  /** `count` rows of `dim` features. */
  features: Float32Array;
  count: number;
}

interface StoredPage {
  page: Array<{ itemId: Id<"labelledItems">; vector: ArrayBuffer; dim: number; label: string; pictureId: Id<"pictures"> | null }>;
  isDone: boolean;
  continueCursor: string;
}

/**
 * Streams the labelled set through `onPage`, one page of LABELLED_PAGE_SIZE
 * items per query, keeping nothing between pages: memory stays flat however
 * large the set. Items whose features have another length than the models
 * take (the featureDim setting changed since they were added) are skipped
 * and counted. The pages are separate reads, so a set edited meanwhile may
 * be seen partly.
 */
export async function streamLabelledSet(ctx: ActionCtx, dim: number, onPage: (page: LabelledPage) => void): Promise<{ skippedItemCount: number }> {
  let skippedItemCount = 0;
  let cursor: string | null = null;
  for (;;) {
    const stored: StoredPage = await ctx.runQuery(internal.labelledSet.page, { paginationOpts: { numItems: LABELLED_PAGE_SIZE, cursor } });
    const usable = stored.page.filter((item) => item.dim === dim);
    skippedItemCount += stored.page.length - usable.length;
    const features = new Float32Array(usable.length * dim);
    usable.forEach((item, index) => features.set(decodeFeatures(item.vector, dim), index * dim));
    onPage({ itemIds: usable.map((item) => item.itemId), labels: usable.map((item) => item.label), pictureIds: usable.map((item) => item.pictureId), features, count: usable.length });
    if (stored.isDone) return { skippedItemCount };
    cursor = stored.continueCursor;
  }
}

export async function evaluateOnLabelledSet(ctx: ActionCtx, classes: readonly string[], model: MlpModel) {
  const evaluation = new VersionEvaluation(classes);
  const { skippedItemCount } = await streamLabelledSet(ctx, model.input.dim, (page) => {
    evaluation.addPage(page.labels, mlpForwardBatch(model, page.features, page.count));
  });
  return { ...evaluation.finish(), skippedItemCount };
}

export interface ComparedVersion {
  classes: readonly string[];
  model: MlpModel;
}

export interface ComparisonExtras {
  skippedItemCount: number;
  /** The candidate's own figures, on every item it knows (not only those both versions know). */
  candidateOwn: ReturnType<VersionEvaluation["finish"]>;
  /** The same comparison without the items flagged as likely mislabelled, when some are (`flaggedItemIds`). */
  withoutFlagged: { flaggedInSet: number; comparison: LabelledComparison<Id<"pictures">> } | null;
}

/** Baseline versus candidate in one pass over the set (and, with `flaggedItemIds`, the same without those items). */
export async function compareOnLabelledSet(
  ctx: ActionCtx,
  baseline: ComparedVersion,
  candidate: ComparedVersion,
  thresholds: PromotionThresholds,
  baselineName: string,
  flaggedItemIds: ReadonlySet<string> = new Set(),
): Promise<LabelledComparison<Id<"pictures">> & ComparisonExtras> {
  const candidateOwn = new VersionEvaluation(candidate.classes);
  const options = { baselineClasses: baseline.classes, candidateClasses: candidate.classes, thresholds, disagreementLimit: DISAGREEMENT_LIMIT, baselineName };
  const comparison = new LabelledSetComparison<Id<"pictures">>(options);
  const withoutFlagged = flaggedItemIds.size > 0 ? new LabelledSetComparison<Id<"pictures">>(options) : null;
  let flaggedInSet = 0;
  const { skippedItemCount } = await streamLabelledSet(ctx, baseline.model.input.dim, (page) => {
    const baselineOutputs = mlpForwardBatch(baseline.model, page.features, page.count);
    const candidateOutputs = mlpForwardBatch(candidate.model, page.features, page.count);
    comparison.addPage(page.labels, page.pictureIds, baselineOutputs, candidateOutputs);
    candidateOwn.addPage(page.labels, candidateOutputs);
    if (withoutFlagged !== null) {
      const keep = page.itemIds.map((id) => !flaggedItemIds.has(id));
      flaggedInSet += keep.filter((kept) => !kept).length;
      const pick = <T>(values: readonly T[]) => values.filter((_, i) => keep[i]);
      withoutFlagged.addPage(pick(page.labels), pick(page.pictureIds), pick(baselineOutputs), pick(candidateOutputs));
    }
  });
  return {
    ...comparison.finish(),
    skippedItemCount,
    candidateOwn: candidateOwn.finish(),
    withoutFlagged: withoutFlagged === null ? null : { flaggedInSet, comparison: withoutFlagged.finish() },
  };
}
