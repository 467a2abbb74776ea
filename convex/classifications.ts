/**
 * Classifications: the MLP half of the classifier. The browser sends a
 * picture's CLIP features; the active version scores them here and one
 * internal mutation stores the result with everything derived from it.
 * Any failure after the access checks leaves the picture stored, marked
 * failed with the reason, and retryable.
 */
import { ConvexError, v } from "convex/values";
import { rateLimit } from "convex-helpers/server/rateLimit";
import { internalMutation, type ActionCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { labellerAction, type Caller } from "./functions";
import { countClassification } from "./model/counters";
import { storeFeatures } from "./model/features";
import type { RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { toClassificationResult } from "./lib/classificationResult";
import { utcDay } from "./lib/days";
import { checkFeatures, decodeFeatures, encodeFeatures } from "./lib/features";
import { mlpForward, type MlpPrediction } from "./lib/mlpForward";
import { classificationOutcomeFields, classificationResultValidator, roleValidator, type ClassificationResult } from "./lib/shapes";
import type { MlpModel } from "./lib/weightsFormat";
import { failurePatch } from "./model/pictures";
import { versionLabel } from "./lib/versionLabel";
import { errorSentence } from "./lib/errorMessage";

export const NO_ACTIVE_VERSION_MESSAGE = "no active model version: an admin must import and activate one";
export const NO_STORED_FEATURES_MESSAGE = "the server holds no features for this picture (they never arrived): extract them again from its image";

/**
 * Per-user limit on classification calls. Each answer leaks a little about
 * the MLP, so unlimited calls would let a labeller account distil it; 120 a
 * minute is far above what a person labelling pictures needs.
 */
export const CLASSIFY_RATE_LIMIT = { kind: "token bucket", rate: 120, period: 60_000, capacity: 60 } as const;

export type ClassificationErrorCode = "classification_failed" | "rate_limited" | "not_found" | "not_owner";

export class ClassificationError extends ConvexError<{ code: ClassificationErrorCode; message: string; retryAfterMs?: number }> {
  constructor(code: ClassificationErrorCode, message: string, retryAfterMs?: number) {
    super(retryAfterMs === undefined ? { code, message } : { code, message, retryAfterMs });
  }
}

export const classify = labellerAction({
  args: { pictureId: v.id("pictures"), clipFeatures: v.array(v.float64()) },
  returns: classificationResultValidator,
  handler: async (ctx, { pictureId, clipFeatures }): Promise<ClassificationResult> => classifyPicture(ctx, ctx.caller, pictureId, clipFeatures),
});

/** Classifies again with the features the server holds for the picture, e.g. after a failure or a new activation. */
export const retry = labellerAction({
  args: { pictureId: v.id("pictures") },
  returns: classificationResultValidator,
  handler: async (ctx, { pictureId }): Promise<ClassificationResult> => classifyPicture(ctx, ctx.caller, pictureId, null),
});

/**
 * Seams for fault injection in tests (a failing query, forward pass or store);
 * weights faults go through model/weights.ts's weightsSource. Production
 * code never reassigns them.
 */
export const classificationSteps = {
  loadActiveVersion: (ctx: ActionCtx): Promise<RunnableVersion | null> => ctx.runQuery(internal.models.activeRunnable, {}),
  // mlpForward applies the model's input normalisation (checked equal to the registered manifest on load).
  score: (model: MlpModel, features: Float32Array): MlpPrediction => mlpForward(model, features),
  store: (ctx: ActionCtx, record: StoreArgs): Promise<Id<"classifications">> => ctx.runMutation(internal.classifications.store, record),
};

type StoreArgs = {
  pictureId: Id<"pictures">;
  versionId: Id<"modelVersions">;
  versionNumber: number;
  probabilities: number[];
  labelIndex: number;
  label: string;
  confidence: number;
  featuresId: Id<"features">;
};


async function classifyPicture(ctx: ActionCtx, caller: Caller, pictureId: Id<"pictures">, clipFeatures: number[] | null): Promise<ClassificationResult> {
  const version = await classificationSteps.loadActiveVersion(ctx);
  const dim = version?.summary.input.dim ?? (await ctx.runQuery(internal.settings.getInternal, {})).featureDim;
  const featureProblem = clipFeatures === null ? null : checkFeatures(clipFeatures, dim);

  const started = await ctx.runMutation(internal.classifications.begin, {
    pictureId,
    userId: caller.userId,
    role: caller.role,
    features: clipFeatures !== null && featureProblem === null ? encodeFeatures(clipFeatures) : undefined,
  });
  if (started.kind === "rateLimited") throw new ClassificationError("rate_limited", started.message, started.retryAfterMs);

  const fail = async (message: string): Promise<never> => {
    await ctx.runMutation(internal.pictures.markFailed, { pictureId, error: message });
    throw new ClassificationError("classification_failed", message);
  };

  if (featureProblem !== null) return fail(featureProblem);
  if (started.features === null) return fail(NO_STORED_FEATURES_MESSAGE);
  // Stored features were checked when they were stored, but against the version active then.
  if (started.features.dim !== dim) return fail(`Expected ${dim} CLIP features, got ${started.features.dim} (the ones stored for a retry): extract them again from the image`);
  const features = decodeFeatures(started.features.vector, dim);
  if (version === null) return fail(NO_ACTIVE_VERSION_MESSAGE);

  let prediction: MlpPrediction;
  try {
    const model = await loadVersionModel(ctx, version);
    prediction = classificationSteps.score(model, features);
    // Never store or count a result that cannot be a distribution, whatever the engine did.
    if (prediction.probabilities.length !== version.summary.classes.length || !prediction.probabilities.every(Number.isFinite)) {
      throw new ConvexError(`the forward pass of ${versionLabel(version)} produced ${prediction.probabilities.length} probabilities, not ${version.summary.classes.length} finite ones`);
    }
  } catch (error) {
    return fail(errorSentence(error));
  }
  try {
    await classificationSteps.store(ctx, {
      pictureId,
      versionId: version._id,
      versionNumber: version.number,
      probabilities: prediction.probabilities,
      labelIndex: prediction.labelIndex,
      label: prediction.label,
      confidence: prediction.confidence,
      featuresId: started.features.id,
    });
  } catch (error) {
    return fail(`the classification could not be saved: ${errorSentence(error)}`);
  }
  return toClassificationResult(prediction.probabilities, version);
}

/**
 * Access checks, the rate limit, the features and the `classifying` mark,
 * in one transaction. Access failures throw without touching the picture; a
 * rate-limit hit is recorded as a failed attempt (keeping the features) so
 * it can be retried.
 */
export const begin = internalMutation({
  args: {
    pictureId: v.id("pictures"),
    userId: v.id("users"),
    role: roleValidator,
    /** Fresh features as float32 bytes; absent for a retry with the stored ones. */
    features: v.optional(v.bytes()),
  },
  returns: v.union(
    v.object({
      kind: v.literal("started"),
      features: v.union(v.object({ id: v.id("features"), vector: v.bytes(), dim: v.number() }), v.null()),
    }),
    v.object({ kind: v.literal("rateLimited"), message: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx, { pictureId, userId, role, features }) => {
    const picture = await ctx.db.get(pictureId);
    if (picture === null || picture.deleted === true) throw new ClassificationError("not_found", `picture ${pictureId} does not exist or was removed`);
    if (picture.uploaderId !== userId && role !== "admin") throw new ClassificationError("not_owner", "only the picture's uploader or an admin may classify it");
    const featuresId =
      features === undefined ? picture.featuresId : await storeFeatures(ctx, decodeFeatures(features, features.byteLength / 4), pictureId);
    const limit = await rateLimit(ctx, { name: "classify", key: userId, config: CLASSIFY_RATE_LIMIT });
    if (!limit.ok) {
      const retryAfterMs = Math.max(0, (limit.retryAt ?? Date.now()) - Date.now());
      const message = `too many classifications: at most ${CLASSIFY_RATE_LIMIT.rate} a minute (bursts of ${CLASSIFY_RATE_LIMIT.capacity}); try again in ${Math.ceil(retryAfterMs / 1000)} s`;
      await ctx.db.patch(pictureId, { ...failurePatch(picture, message, Date.now()), attempts: picture.attempts + 1, featuresId });
      return { kind: "rateLimited" as const, message, retryAfterMs };
    }
    await ctx.db.patch(pictureId, { status: "classifying", error: undefined, statusSince: Date.now(), attempts: picture.attempts + 1, featuresId });
    const stored = featuresId === undefined ? null : await ctx.db.get(featuresId);
    return { kind: "started" as const, features: stored === null ? null : { id: stored._id, vector: stored.vector, dim: stored.dim } };
  },
});

/**
 * Stores a classification and everything derived from it in one transaction:
 * the classification document, the picture's status and denormalised result,
 * and the analytics counters (moving the picture's previous counts, if any,
 * so a picture is counted once however often it is classified).
 */
export const store = internalMutation({
  args: classificationOutcomeFields,
  returns: v.id("classifications"),
  handler: async (ctx, record) => {
    const picture = await ctx.db.get(record.pictureId);
    if (picture === null) throw new ConvexError(`picture ${record.pictureId} no longer exists`);
    if (picture.deleted === true) throw new ConvexError("the picture was removed while it was being classified");
    if ((await ctx.db.get(record.versionId)) === null) throw new ConvexError(`model version ${record.versionNumber} no longer exists`);
    if (picture.latestClassificationId !== undefined) {
      const previous = await ctx.db.get(picture.latestClassificationId);
      if (previous !== null) {
        await countClassification(ctx, previous, -1);
        await ctx.db.patch(previous._id, { current: false });
      }
    }
    const classification = { ...record, day: utcDay(Date.now()), current: true };
    const classificationId = await ctx.db.insert("classifications", classification);
    await countClassification(ctx, classification, 1);
    await ctx.db.patch(record.pictureId, {
      status: "classified",
      error: undefined,
      lastError: undefined,
      lastErrorAt: undefined,
      statusSince: undefined,
      latestClassificationId: classificationId,
      label: record.label,
      confidence: record.confidence,
      versionId: record.versionId,
      classLabel: picture.confirmedLabel ?? record.label,
    });
    return classificationId;
  },
});
