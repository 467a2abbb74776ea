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
  labels: string[];
  pictureIds: (Id<"pictures"> | null)[];
  /** `count` rows of `dim` features. */
  features: Float32Array;
  count: number;
}

interface StoredPage {
  page: Array<{ vector: ArrayBuffer; dim: number; label: string; pictureId: Id<"pictures"> | null }>;
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
    onPage({ labels: usable.map((item) => item.label), pictureIds: usable.map((item) => item.pictureId), features, count: usable.length });
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

export async function compareOnLabelledSet(
  ctx: ActionCtx,
  baseline: ComparedVersion,
  candidate: ComparedVersion,
  thresholds: PromotionThresholds,
  baselineName: string,
): Promise<LabelledComparison<Id<"pictures">> & { skippedItemCount: number; candidateOwn: ReturnType<VersionEvaluation["finish"]> }> {
  // The candidate's own figures cover every item it knows, not only those both versions know; one pass computes both.
  const candidateOwn = new VersionEvaluation(candidate.classes);
  const comparison = new LabelledSetComparison<Id<"pictures">>({
    baselineClasses: baseline.classes,
    candidateClasses: candidate.classes,
    thresholds,
    disagreementLimit: DISAGREEMENT_LIMIT,
    baselineName,
  });
  const { skippedItemCount } = await streamLabelledSet(ctx, baseline.model.input.dim, (page) => {
    const candidateOutputs = mlpForwardBatch(candidate.model, page.features, page.count);
    comparison.addPage(page.labels, page.pictureIds, mlpForwardBatch(baseline.model, page.features, page.count), candidateOutputs);
    candidateOwn.addPage(page.labels, candidateOutputs);
  });
  return { ...comparison.finish(), skippedItemCount, candidateOwn: candidateOwn.finish() };
}
