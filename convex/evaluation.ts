/**
 * The evidence admins decide with: each version's headline metrics on the
 * labelled set, and candidate-versus-baseline comparisons with the
 * promotion gate's verdict. Both stream the set page by page
 * (model/evaluation.ts), so memory grows with classes², not items.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalAction, internalMutation, internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { adminAction, adminMutation } from "./functions";
import { loadDeployment } from "./model/deployment";
import { compareOnLabelledSet, evaluateOnLabelledSet } from "./model/evaluation";
import { loadSettings } from "./model/settings";
import { runnableVersionValidator, requireVersion, toRunnable, toVersionRef, type RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { headlineMetrics } from "./lib/labelledEvaluation";
import { headlineMetricsValidator, promotionThresholdsValidator, versionRefValidator, type PromotionThresholds } from "./lib/shapes";
import { versionLabel } from "./lib/versionLabel";

const MAX_REFRESHED_VERSIONS = 500;

export const computeMetrics = internalAction({
  args: { versionId: v.id("modelVersions") },
  returns: v.null(),
  handler: async (ctx, { versionId }) => {
    const version: RunnableVersion | null = await ctx.runQuery(internal.models.runnable, { versionId });
    if (version === null) return null;
    const model = await loadVersionModel(ctx, version);
    const { report, excluded } = await evaluateOnLabelledSet(ctx, version.summary.classes, model);
    await ctx.runMutation(internal.evaluation.storeMetrics, { versionId, metrics: { ...headlineMetrics(report, excluded), computedAt: Date.now() } });
    return null;
  },
});

export const storeMetrics = internalMutation({
  args: { versionId: v.id("modelVersions"), metrics: headlineMetricsValidator },
  returns: v.null(),
  handler: async (ctx, { versionId, metrics }) => {
    if ((await ctx.db.get(versionId)) !== null) await ctx.db.patch(versionId, { metrics });
    return null;
  },
});

/** Versions whose figures are recomputed after the labelled set changed: the active one and the newest ready ones (the others keep theirs, dated). */
const REFRESHED_AFTER_CHANGE = 10;

export const refreshAfterSetChange = internalMutation({
  args: {},
  returns: v.null(),
  handler: async (ctx) => {
    const newest = (await ctx.db.query("modelVersions").withIndex("by_number").order("desc").take(100)).filter((version) => version.status === "ready").slice(0, REFRESHED_AFTER_CHANGE);
    const activeId = (await loadDeployment(ctx))?.activeVersionId;
    const ids = new Set(newest.map((version) => version._id));
    if (activeId !== undefined) ids.add(activeId);
    for (const versionId of ids) await ctx.scheduler.runAfter(0, internal.evaluation.computeMetrics, { versionId });
    return null;
  },
});

/** Recomputes every ready version's headline metrics, e.g. after the labelled set changed. */
export const refreshMetrics = adminMutation({
  args: {},
  returns: v.object({ scheduled: v.number() }),
  handler: async (ctx) => {
    const versions = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").take(MAX_REFRESHED_VERSIONS);
    const ready = versions.filter((version) => version.status === "ready");
    for (const version of ready) await ctx.scheduler.runAfter(0, internal.evaluation.computeMetrics, { versionId: version._id });
    return { scheduled: ready.length };
  },
});

const nullableNumber = v.union(v.number(), v.null());
const classificationReportValidator = v.object({
  itemCount: v.number(),
  classCount: v.number(),
  correctCount: v.number(),
  accuracy: nullableNumber,
  macroF1: nullableNumber,
  perClass: v.array(
    v.object({
      classIndex: v.number(),
      precision: nullableNumber,
      recall: nullableNumber,
      f1: nullableNumber,
      support: v.number(),
      predictedCount: v.number(),
    }),
  ),
  confusion: v.array(v.array(v.number())),
  expectedCalibrationError: nullableNumber,
  reliability: v.array(v.object({ lower: v.number(), upper: v.number(), count: v.number(), meanConfidence: nullableNumber, accuracy: nullableNumber })),
});

export const comparisonValidator = v.object({
  candidate: versionRefValidator,
  baseline: versionRefValidator,
  /** Whether the baseline is the active version (the gate then speaks of "the active version"). */
  baselineIsActive: v.boolean(),
  /** Shared class list: report class indices, confusion rows/columns and per-class entries refer to it. */
  classes: v.array(v.string()),
  itemCount: v.number(),
  /** Items left out because their label is not a class of both versions, by label. */
  excluded: v.object({ itemCount: v.number(), labels: v.array(v.object({ label: v.string(), count: v.number() })) }),
  /** Items whose feature count differs from the versions' input (the featureDim setting changed since). */
  skippedItemCount: v.number(),
  candidateReport: classificationReportValidator,
  baselineReport: classificationReportValidator,
  accuracyDifference: nullableNumber,
  agreementRate: nullableNumber,
  disagreementCount: v.number(),
  disagreements: v.array(
    v.object({
      index: v.number(),
      pictureId: v.union(v.id("pictures"), v.null()),
      /** The picture's file name, for an item that came from a labelled picture still there. */
      fileName: v.union(v.string(), v.null()),
      trueLabel: v.string(),
      baselineLabel: v.string(),
      candidateLabel: v.string(),
      baselineConfidence: v.number(),
      candidateConfidence: v.number(),
      margin: v.number(),
      correct: v.union(v.literal("baseline"), v.literal("candidate"), v.literal("neither")),
    }),
  ),
  mcnemar: v.object({ baselineOnlyCorrect: v.number(), candidateOnlyCorrect: v.number(), pValue: v.number() }),
  paired: v.object({ n11: v.number(), n10: v.number(), n01: v.number(), n00: v.number() }),
  /** How much the comparison can tell (convex/lib/pairedStats.ts). */
  evidence: v.object({
    difference: nullableNumber,
    discordantPairs: v.number(),
    mcnemar: v.object({ pValue: v.number(), midPValue: v.number() }),
    bootstrap: v.union(v.null(), v.object({ lower: v.number(), upper: v.number(), level: v.number(), resamples: v.number(), seed: v.number() })),
    itemsForPower: nullableNumber,
    nonInferiority: v.union(v.null(), v.object({ margin: v.number(), alpha: v.number(), z: v.number(), pValue: v.number(), nonInferior: v.boolean() })),
    verdict: v.union(v.literal("non-inferior"), v.literal("worse"), v.literal("too-small-to-tell"), v.literal("regression-not-ruled-out")),
    reasons: v.array(v.string()),
  }),
  gate: v.object({ allowed: v.boolean(), reasons: v.array(v.string()), thresholds: promotionThresholdsValidator }),
  /**
   * The latest search for suspect labels: how many of its open flagged items
   * the set holds, and the headline figures without them; null before any
   * search finished.
   */
  withoutSuspects: v.union(
    v.null(),
    v.object({
      flaggedInSet: v.number(),
      itemCount: v.number(),
      baselineAccuracy: nullableNumber,
      candidateAccuracy: nullableNumber,
      baselineMacroF1: nullableNumber,
      candidateMacroF1: nullableNumber,
      gateAllowed: v.boolean(),
    }),
  ),
});
export type Comparison = Infer<typeof comparisonValidator>;

export const comparisonPlan = internalQuery({
  args: { candidateId: v.id("modelVersions"), baselineId: v.optional(v.id("modelVersions")) },
  returns: v.object({ candidate: runnableVersionValidator, baseline: runnableVersionValidator, baselineIsActive: v.boolean(), thresholds: promotionThresholdsValidator }),
  handler: async (ctx, { candidateId, baselineId }) => {
    const candidate = await requireVersion(ctx, candidateId);
    const activeId = (await loadDeployment(ctx))?.activeVersionId;
    const resolvedBaselineId = baselineId ?? activeId;
    if (resolvedBaselineId === undefined) throw new ConvexError("No version is active to compare against: choose a baseline version.");
    if (resolvedBaselineId === candidateId) {
      throw new ConvexError(`${versionLabel(candidate)} is both the candidate and the baseline: choose two different versions.`);
    }
    const baseline = await requireVersion(ctx, resolvedBaselineId);
    if (candidate.summary.input.dim !== baseline.summary.input.dim) {
      throw new ConvexError(
        `${versionLabel(candidate)} takes ${candidate.summary.input.dim} features but ${versionLabel(baseline)} takes ${baseline.summary.input.dim}: they cannot be compared on the same labelled set.`,
      );
    }
    return { candidate: toRunnable(candidate), baseline: toRunnable(baseline), baselineIsActive: resolvedBaselineId === activeId, thresholds: (await loadSettings(ctx)).promotion };
  },
});

/** Candidate versus baseline (default: the active version) on the labelled set. */
export const compare = adminAction({
  args: { candidateId: v.id("modelVersions"), baselineId: v.optional(v.id("modelVersions")) },
  returns: comparisonValidator,
  handler: async (ctx, args): Promise<Comparison> => {
    const plan: { candidate: RunnableVersion; baseline: RunnableVersion; baselineIsActive: boolean; thresholds: PromotionThresholds } = await ctx.runQuery(
      internal.evaluation.comparisonPlan,
      args,
    );
    const baselineModel = await loadVersionModel(ctx, plan.baseline);
    const candidateModel = await loadVersionModel(ctx, plan.candidate);
    const flagged: { runId: Id<"suspectRuns"> | null; itemIds: Id<"labelledItems">[] } = await ctx.runQuery(internal.suspects.openItemIds, {});
    const comparison = await compareOnLabelledSet(
      ctx,
      { classes: plan.baseline.summary.classes, model: baselineModel },
      { classes: plan.candidate.summary.classes, model: candidateModel },
      plan.thresholds,
      plan.baselineIsActive ? "the active version" : "the baseline",
      new Set(flagged.itemIds),
    );
    const pictureIds = comparison.disagreements.flatMap((disagreement) => (disagreement.pictureId === null ? [] : [disagreement.pictureId]));
    const names: Array<string | null> = pictureIds.length === 0 ? [] : await ctx.runQuery(internal.pictures.fileNames, { pictureIds });
    const fileNameOf = new Map(pictureIds.map((id, i) => [id, names[i]]));
    return toComparisonResult(comparison, plan.candidate, plan.baseline, plan.baselineIsActive, plan.thresholds, fileNameOf);
  },
});

function toComparisonResult(
  comparison: Awaited<ReturnType<typeof compareOnLabelledSet>>,
  candidate: RunnableVersion,
  baseline: RunnableVersion,
  baselineIsActive: boolean,
  thresholds: PromotionThresholds,
  fileNameOf: ReadonlyMap<Id<"pictures">, string | null>,
): Comparison {
  return {
    candidate: toVersionRef(candidate),
    baseline: toVersionRef(baseline),
    baselineIsActive,
    classes: comparison.classes,
    itemCount: comparison.itemCount,
    excluded: comparison.excluded,
    skippedItemCount: comparison.skippedItemCount,
    candidateReport: comparison.candidate,
    baselineReport: comparison.baseline,
    accuracyDifference: comparison.accuracyDifference,
    agreementRate: comparison.agreementRate,
    disagreementCount: comparison.disagreementCount,
    disagreements: comparison.disagreements.map((disagreement) => ({
      ...disagreement,
      fileName: disagreement.pictureId === null ? null : (fileNameOf.get(disagreement.pictureId) ?? null),
    })),
    mcnemar: comparison.mcnemar,
    paired: comparison.paired,
    evidence: {
      difference: comparison.evidence.difference,
      discordantPairs: comparison.evidence.discordantPairs,
      mcnemar: comparison.evidence.mcnemar,
      bootstrap:
        comparison.evidence.bootstrap === null
          ? null
          : { lower: comparison.evidence.bootstrap.lower, upper: comparison.evidence.bootstrap.upper, level: comparison.evidence.bootstrap.level, resamples: comparison.evidence.bootstrap.resamples, seed: comparison.evidence.bootstrap.seed },
      itemsForPower: comparison.evidence.itemsForPower,
      nonInferiority:
        comparison.evidence.nonInferiority === null
          ? null
          : { margin: comparison.evidence.nonInferiority.margin, alpha: comparison.evidence.nonInferiority.alpha, z: comparison.evidence.nonInferiority.z, pValue: comparison.evidence.nonInferiority.pValue, nonInferior: comparison.evidence.nonInferiority.nonInferior },
      verdict: comparison.evidence.verdict,
      reasons: comparison.evidence.reasons,
    },
    gate: { ...comparison.gate, thresholds },
    withoutSuspects:
      comparison.withoutFlagged === null
        ? null
        : {
            flaggedInSet: comparison.withoutFlagged.flaggedInSet,
            itemCount: comparison.withoutFlagged.comparison.itemCount,
            baselineAccuracy: comparison.withoutFlagged.comparison.baseline.accuracy,
            candidateAccuracy: comparison.withoutFlagged.comparison.candidate.accuracy,
            baselineMacroF1: comparison.withoutFlagged.comparison.baseline.macroF1,
            candidateMacroF1: comparison.withoutFlagged.comparison.candidate.macroF1,
            gateAllowed: comparison.withoutFlagged.comparison.gate.allowed,
          },
  };
}
