import { ConvexError, v } from "convex/values";
import { rateLimit } from "convex-helpers/server/rateLimit";
import { internalMutation, type ActionCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { labellerAction, labellerMutation, type Caller } from "./functions";
import { classificationResultValidator, roleValidator, storedClassificationValidator, type ClassificationResult, type StoredClassification } from "./schema";
import { loadSettings } from "./settings";
import { countClassification } from "./dailyCounts";
import { checkFeatures } from "./lib/features";
import { decodeRegisteredWeights } from "./lib/weightsBinary";
import { mlpForward, type MlpPrediction } from "./lib/mlpForward";
import { topClasses } from "./lib/classificationResult";
import { utcDay } from "./lib/days";
import { isRasterImageType, RASTER_IMAGE_TYPES_TEXT, refusedTypeReason } from "./lib/imageTypes";
import type { MlpModel } from "./lib/weightsFormat";
import type { RunnableVersion } from "./models";

export const MAX_FILE_NAME_LENGTH = 255;
export const MAX_IMAGE_SIDE = 100_000;
export const NO_ACTIVE_VERSION_MESSAGE = "no active model version: an admin must import and activate one";
export const STUCK_CLASSIFICATION_MESSAGE = "classification did not finish (the server stopped mid-way): retry it";

/**
 * A classification takes milliseconds; one still `classifying` after this long
 * lost its action (a deploy, a crash, the action time limit) and would
 * otherwise never become retryable.
 */
export const STUCK_AFTER_MS = 10 * 60_000;
/** Pictures released per run of recoverStuck: one mutation stays small however many got stuck. */
export const STUCK_BATCH_SIZE = 100;

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

export const generateUploadUrl = labellerMutation({
  args: {},
  returns: v.string(),
  handler: async (ctx) => ctx.storage.generateUploadUrl(),
});

export const recordPicture = labellerMutation({
  args: {
    storageId: v.optional(v.id("_storage")),
    fileName: v.string(),
    contentType: v.string(),
    width: v.optional(v.number()),
    height: v.optional(v.number()),
  },
  returns: v.id("pictures"),
  handler: async (ctx, args) => {
    const problems: string[] = [];
    if (args.fileName.trim().length === 0) problems.push("fileName is empty");
    if (args.fileName.length > MAX_FILE_NAME_LENGTH) {
      problems.push(`fileName is ${args.fileName.length} characters; at most ${MAX_FILE_NAME_LENGTH} are allowed`);
    }
    if (!isRasterImageType(args.contentType)) {
      problems.push(`contentType must be a raster image type (${RASTER_IMAGE_TYPES_TEXT}), got "${args.contentType.slice(0, 100)}"${refusedTypeReason(args.contentType)}`);
    }
    for (const side of ["width", "height"] as const) {
      const value = args[side];
      if (value !== undefined && !(Number.isInteger(value) && value > 0 && value <= MAX_IMAGE_SIDE)) {
        problems.push(`${side} must be a whole number of pixels from 1 to ${MAX_IMAGE_SIDE}, got ${value}`);
      }
    }
    const settings = await loadSettings(ctx);
    if (args.storageId !== undefined) {
      if (settings.privacyMode === "none") {
        problems.push('the privacy mode is "none": images are not kept, so record the picture without a storageId');
      } else {
        const file = await ctx.db.system.get(args.storageId);
        if (file === null) {
          problems.push(`storageId ${args.storageId} names no stored file: upload the image first`);
        } else if (!file.contentType?.startsWith("image/")) {
          problems.push(`the stored file ${args.storageId} is ${file.contentType ?? "of unknown type"}, not an image`);
        } else if (!isRasterImageType(file.contentType)) {
          // The stored type is what the image URL is served with, whatever the caller claims.
          problems.push(`the stored file ${args.storageId} is ${file.contentType}, not a raster image (${RASTER_IMAGE_TYPES_TEXT})${refusedTypeReason(file.contentType)}`);
        } else {
          const owner = await ctx.db
            .query("pictures")
            .withIndex("by_storage", (q) => q.eq("storageId", args.storageId))
            .first();
          const weights = await ctx.db
            .query("modelVersions")
            .withIndex("by_storage", (q) => q.eq("storageId", args.storageId!))
            .first();
          // Another picture (or a weights file) already owns the file: recording it again would hand its URL to this caller.
          if (owner !== null || weights !== null) problems.push(`the stored file ${args.storageId} already belongs to another record; upload your own image`);
        }
      }
    }
    if (problems.length > 0) throw new ConvexError(`Picture not recorded: ${problems.join("; ")}.`);
    return ctx.db.insert("pictures", {
      uploaderId: ctx.caller.userId,
      fileName: args.fileName,
      contentType: args.contentType,
      width: args.width,
      height: args.height,
      storageMode: settings.privacyMode,
      storageId: args.storageId,
      status: "uploaded",
      attempts: 0,
      labelled: false,
    });
  },
});

export const classifyImageFeatures = labellerAction({
  args: { pictureId: v.id("pictures"), clipFeatures: v.array(v.float64()) },
  returns: classificationResultValidator,
  handler: async (ctx, { pictureId, clipFeatures }): Promise<ClassificationResult> =>
    classifyPicture(ctx, ctx.caller, pictureId, clipFeatures),
});

/** Classifies again with the features stored on the picture, e.g. after a failure or a new activation. */
export const retryClassification = labellerAction({
  args: { pictureId: v.id("pictures") },
  returns: classificationResultValidator,
  handler: async (ctx, { pictureId }): Promise<ClassificationResult> => classifyPicture(ctx, ctx.caller, pictureId, null),
});

/**
 * The steps of a classification, each a separate function so that a test can
 * replace one of them to inject a fault (a vanished file, a decode error, a
 * failing forward pass or store) and check that nothing is lost. Production
 * code never reassigns them.
 */
export const classificationSteps = {
  loadActiveVersion: (ctx: ActionCtx): Promise<RunnableVersion | null> => ctx.runQuery(internal.models.activeVersion, {}),

  readWeights: async (ctx: ActionCtx, version: RunnableVersion): Promise<Uint8Array> => {
    const blob = await ctx.storage.get(version.storageId);
    if (blob === null) {
      throw new Error(
        `the weights file of version ${version.number} (${version.name}) is missing from storage: an admin must re-import it or activate another version`,
      );
    }
    return new Uint8Array(await blob.arrayBuffer());
  },

  /** decodeRegisteredWeights (sha256 first, then structure), then the manifest the version was registered with. */
  decode: async (bytes: Uint8Array, version: RunnableVersion): Promise<MlpModel> => {
    const model = await decodeRegisteredWeights(bytes, version);
    const { input, classes } = version.summary;
    if (
      model.input.dim !== input.dim ||
      model.input.normalize !== input.normalize ||
      model.classes.length !== classes.length ||
      model.classes.some((label, i) => label !== classes[i])
    ) {
      throw new Error(`the weights file of version ${version.number} (${version.name}) does not match its registered manifest (input or classes differ)`);
    }
    return model;
  },

  // mlpForward applies the model's input normalisation (checked equal to summary.input.normalize above).
  score: (model: MlpModel, features: number[]): MlpPrediction => mlpForward(model, features),

  store: (ctx: ActionCtx, record: StoredClassification): Promise<Id<"classifications">> =>
    ctx.runMutation(internal.imageClassification.storeResult, record),
};

function messageOf(error: unknown): string {
  if (error instanceof ConvexError) {
    const data = error.data as unknown;
    if (typeof data === "string") return data;
    if (typeof data === "object" && data !== null && "message" in data) return String((data as { message: unknown }).message);
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Validates, scores and stores; any failure after the access checks marks the
 * picture failed with the reason (keeping valid features for a retry) and
 * then throws the same message.
 */
async function classifyPicture(
  ctx: ActionCtx,
  caller: Caller,
  pictureId: Id<"pictures">,
  clipFeatures: number[] | null,
): Promise<ClassificationResult> {
  const steps = classificationSteps;
  const version = await steps.loadActiveVersion(ctx);
  const dim = version?.summary.input.dim ?? (await ctx.runQuery(internal.settings.getInternal, {})).featureDim;
  const featureProblem = clipFeatures === null ? null : checkFeatures(clipFeatures, dim);

  const started = await ctx.runMutation(internal.imageClassification.begin, {
    pictureId,
    userId: caller.userId,
    role: caller.role,
    features: clipFeatures !== null && featureProblem === null ? clipFeatures : undefined,
  });
  if (started.kind === "rateLimited") {
    throw new ClassificationError("rate_limited", started.message, started.retryAfterMs);
  }

  const fail = async (message: string): Promise<never> => {
    await ctx.runMutation(internal.imageClassification.markFailed, { pictureId, error: message });
    throw new ClassificationError("classification_failed", message);
  };

  if (featureProblem !== null) return fail(featureProblem);
  const features = clipFeatures ?? started.storedFeatures;
  if (features === null) return fail("this picture has no stored features to retry with: classify it again from its image");
  // Stored features were checked when they were stored, but against the version active then.
  const storedProblem = checkFeatures(features, dim);
  if (storedProblem !== null) return fail(storedProblem);
  if (version === null) return fail(NO_ACTIVE_VERSION_MESSAGE);

  let prediction: MlpPrediction;
  try {
    const bytes = await steps.readWeights(ctx, version);
    const model = await steps.decode(bytes, version);
    prediction = steps.score(model, features);
    // Never store or count a result that cannot be a distribution, whatever the engine did.
    if (prediction.probabilities.length !== version.summary.classes.length || !prediction.probabilities.every(Number.isFinite)) {
      throw new Error(`the forward pass of version ${version.number} produced ${prediction.probabilities.length} probabilities, not ${version.summary.classes.length} finite ones`);
    }
  } catch (error) {
    return fail(messageOf(error));
  }
  try {
    await steps.store(ctx, {
      pictureId,
      versionId: version._id,
      versionNumber: version.number,
      probabilities: prediction.probabilities,
      labelIndex: prediction.labelIndex,
      label: prediction.label,
      confidence: prediction.confidence,
      features,
    });
  } catch (error) {
    return fail(`the classification could not be saved: ${messageOf(error)}`);
  }
  return toResult(prediction.probabilities, version);
}

export function toResult(
  probabilities: readonly number[],
  version: { _id: Id<"modelVersions">; number: number; name: string; summary: { classes: string[] } },
): ClassificationResult {
  const top = topClasses(probabilities, version.summary.classes);
  return {
    label: top[0].label,
    confidence: top[0].probability,
    top,
    versionId: version._id,
    versionNumber: version.number,
    versionName: version.name,
  };
}

/**
 * How a failed attempt is recorded. A picture whose earlier result is still
 * counted in the analytics stays `classified` (that result remains the
 * truth, and the picture stays in the review queue) and notes the failure in
 * `lastError`; a picture without one is `failed` with the reason.
 */
export function failurePatch(picture: Doc<"pictures">, message: string, at: number): Partial<Doc<"pictures">> {
  const keepsResult = picture.latestClassificationId !== undefined && picture.deleted !== true;
  return keepsResult
    ? { status: "classified", error: undefined, lastError: message, lastErrorAt: at, classifyingSince: undefined }
    : { status: "failed", error: message, classifyingSince: undefined };
}

/**
 * Access checks, the rate limit, and the `classifying` mark, in one
 * transaction. Access failures throw without touching the picture; a rate
 * limit hit is recorded as a failed attempt (keeping the features) so it can
 * be retried.
 */
export const begin = internalMutation({
  args: {
    pictureId: v.id("pictures"),
    userId: v.id("users"),
    role: roleValidator,
    features: v.optional(v.array(v.float64())),
  },
  returns: v.union(
    v.object({ kind: v.literal("started"), storedFeatures: v.union(v.array(v.float64()), v.null()) }),
    v.object({ kind: v.literal("rateLimited"), message: v.string(), retryAfterMs: v.number() }),
  ),
  handler: async (ctx, { pictureId, userId, role, features }) => {
    const picture = await ctx.db.get(pictureId);
    if (picture === null || picture.deleted === true) {
      throw new ClassificationError("not_found", `picture ${pictureId} does not exist or was removed`);
    }
    if (picture.uploaderId !== userId && role !== "admin") {
      throw new ClassificationError("not_owner", "only the picture's uploader or an admin may classify it");
    }
    const keptFeatures = features ?? picture.features;
    const limit = await rateLimit(ctx, { name: "classify", key: userId, config: CLASSIFY_RATE_LIMIT });
    if (!limit.ok) {
      const retryAfterMs = Math.max(0, (limit.retryAt ?? Date.now()) - Date.now());
      const message = `too many classifications: at most ${CLASSIFY_RATE_LIMIT.rate} a minute (bursts of ${CLASSIFY_RATE_LIMIT.capacity}); try again in ${Math.ceil(retryAfterMs / 1000)} s`;
      await ctx.db.patch(pictureId, { ...failurePatch(picture, message, Date.now()), attempts: picture.attempts + 1, features: keptFeatures });
      return { kind: "rateLimited" as const, message, retryAfterMs };
    }
    await ctx.db.patch(pictureId, {
      status: "classifying",
      error: undefined,
      classifyingSince: Date.now(),
      attempts: picture.attempts + 1,
      features: keptFeatures,
    });
    return { kind: "started" as const, storedFeatures: keptFeatures ?? null };
  },
});

export const markFailed = internalMutation({
  args: { pictureId: v.id("pictures"), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { pictureId, error }) => {
    const picture = await ctx.db.get(pictureId);
    // A picture removed from the database entirely has nothing left to mark.
    if (picture !== null) await ctx.db.patch(pictureId, failurePatch(picture, error, Date.now()));
    return null;
  },
});

/**
 * Run by the cron in crons.ts: releases pictures left `classifying` by an
 * action that never finished, so they can be retried. Oldest first, at most
 * STUCK_BATCH_SIZE per transaction; a full batch schedules the next one
 * straight away. A slow action that does finish after all still stores its
 * result, since storeResult does not depend on the status.
 */
export const recoverStuck = internalMutation({
  args: {},
  returns: v.object({ released: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    // Pictures marked before classifyingSince existed have none; undefined sorts first, so they are released too.
    const stuck = await ctx.db
      .query("pictures")
      .withIndex("by_status_since", (q) => q.eq("status", "classifying").lt("classifyingSince", now - STUCK_AFTER_MS))
      .take(STUCK_BATCH_SIZE);
    for (const picture of stuck) await ctx.db.patch(picture._id, failurePatch(picture, STUCK_CLASSIFICATION_MESSAGE, now));
    if (stuck.length === STUCK_BATCH_SIZE) await ctx.scheduler.runAfter(0, internal.imageClassification.recoverStuck, {});
    return { released: stuck.length };
  },
});

/**
 * Stores a classification and everything derived from it in one transaction:
 * the classification document, the picture's status and denormalised result,
 * and the analytics counters (moving the picture's previous counts, if any,
 * so a picture is counted once however often it is classified).
 */
export const storeResult = internalMutation({
  args: storedClassificationValidator.fields,
  returns: v.id("classifications"),
  handler: async (ctx, record) => {
    const picture = await ctx.db.get(record.pictureId);
    if (picture === null) throw new Error(`picture ${record.pictureId} no longer exists`);
    if (picture.deleted === true) throw new Error("the picture was removed while it was being classified");
    if ((await ctx.db.get(record.versionId)) === null) throw new Error(`model version ${record.versionNumber} no longer exists`);
    if (picture.latestClassificationId !== undefined) {
      const previous = await ctx.db.get(picture.latestClassificationId);
      if (previous !== null) await countClassification(ctx, previous, -1);
    }
    const classification = { ...record, day: utcDay(Date.now()) };
    const classificationId = await ctx.db.insert("classifications", classification);
    await countClassification(ctx, classification, 1);
    await ctx.db.patch(record.pictureId, {
      status: "classified",
      error: undefined,
      lastError: undefined,
      lastErrorAt: undefined,
      classifyingSince: undefined,
      latestClassificationId: classificationId,
      label: record.label,
      confidence: record.confidence,
      versionId: record.versionId,
    });
    return classificationId;
  },
});
