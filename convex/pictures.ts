/**
 * Pictures: the upload URL, recording, lists and the review queue, removal,
 * and the two ways a picture is marked failed (an attempt that failed, and
 * the cron that releases pictures nobody finished).
 *
 * Visibility: every signed-in member with a role sees every picture of the
 * team: labelling is shared work, and the review queue must offer anyone's
 * uncertain pictures to any labeller. Changing a picture (classify, remove)
 * is limited to its uploader or an admin. Features and full probability
 * vectors never leave the server through these queries.
 */
import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { internalMutation, internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
import { labellerMutation, labellerQuery, viewerQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { countClassification } from "./model/counters";
import { deletePictureFeatures } from "./model/features";
import { removePictureItems } from "./model/labelledSet";
import { failurePatch, labelOf, requirePicture, requireUploaderOrAdmin, toPictureSummary } from "./model/pictures";
import { loadSettings } from "./model/settings";
import { storageOwner } from "./model/storage";
import { toClassificationResult } from "./lib/classificationResult";
import { pictureRecordProblems, type StoredImageFacts } from "./lib/pictureRecord";
import { classificationResultValidator, labelVerdictValidator, pictureSummaryValidator } from "./lib/shapes";

export const MAX_REVIEW_QUEUE = 100;
export const MAX_PAGE_SIZE = 100;
/**
 * Rows a list reads per call when a filter is applied after the index: such
 * a page may hold fewer matches than asked for (even none) and is not done,
 * and the client asks for the next one; or more, up to this many. Reads stay
 * bounded either way: a picture document is about 410 bytes, so a page reads
 * about 82 KB, under the 100 KB a list page may read (the scale suite
 * measures it).
 */
export const FILTER_SCAN_ROWS = 200;

/**
 * A classification takes milliseconds; one still `classifying` after this
 * long lost its action (a deploy, a crash, the action time limit).
 */
export const STUCK_CLASSIFYING_MS = 10 * 60_000;
/** A picture is recorded before its features are extracted (the first use downloads CLIP); one still waiting after this long was abandoned. */
export const ABANDONED_UPLOAD_MS = 30 * 60_000;
/** Pictures released per run of recoverStuck: one mutation stays small however many got stuck. */
export const STUCK_BATCH_SIZE = 100;
export const STUCK_CLASSIFICATION_MESSAGE = "classification did not finish (the server stopped mid-way): retry it";
export const ABANDONED_UPLOAD_MESSAGE = "its features never arrived (the tab was closed or extraction failed): retry it from the image";

/** The URL accepts one upload (write-only); it cannot be used to read any file. */
export const generateUploadUrl = labellerMutation({
  args: {},
  returns: v.string(),
  handler: async (ctx) => ctx.storage.generateUploadUrl(),
});

export const record = labellerMutation({
  args: {
    storageId: v.optional(v.id("_storage")),
    fileName: v.string(),
    contentType: v.string(),
    width: v.optional(v.number()),
    height: v.optional(v.number()),
  },
  returns: v.id("pictures"),
  handler: async (ctx, args) => {
    const settings = await loadSettings(ctx);
    let storedImage: StoredImageFacts | null = null;
    if (args.storageId !== undefined && settings.privacyMode !== "none") {
      const file = await ctx.db.system.get(args.storageId);
      storedImage = file === null ? { kind: "missing" } : { kind: "present", contentType: file.contentType, ownedByAnother: (await storageOwner(ctx, args.storageId)) !== null };
    }
    const problems = pictureRecordProblems(
      { fileName: args.fileName, contentType: args.contentType, width: args.width, height: args.height, withImage: args.storageId !== undefined },
      settings.privacyMode,
      storedImage,
      `the stored file ${args.storageId}`,
    );
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
      statusSince: Date.now(),
      attempts: 0,
      labelled: false,
    });
  },
});

export const list = viewerQuery({
  args: {
    filter: v.object({
      /** The picture's class: its confirmed label when labelled, else its predicted one. */
      classLabel: v.optional(v.string()),
      versionId: v.optional(v.id("modelVersions")),
      labelled: v.optional(v.boolean()),
      /** Upload time bounds in epoch milliseconds, inclusive. */
      from: v.optional(v.number()),
      to: v.optional(v.number()),
    }),
    paginationOpts: paginationOptsValidator,
  },
  returns: paginationResultValidator(pictureSummaryValidator),
  handler: async (ctx, { filter, paginationOpts }) => {
    const from = filter.from ?? 0;
    const to = filter.to ?? Number.MAX_SAFE_INTEGER;
    if (from > to) throw new ConvexError(`The date range is reversed: from ${new Date(from).toISOString()} is after to ${new Date(to).toISOString()}.`);
    if (!Number.isInteger(paginationOpts.numItems) || paginationOpts.numItems < 1 || paginationOpts.numItems > MAX_PAGE_SIZE) {
      throw new ConvexError(`A page holds 1 to ${MAX_PAGE_SIZE} pictures, not ${paginationOpts.numItems}.`);
    }
    // The most selective filter picks the index; every index ends in _creationTime, so the time range is an index range too.
    const pictures = ctx.db.query("pictures");
    const base =
      filter.classLabel !== undefined
        ? pictures.withIndex("by_live_class", (q) => q.eq("deleted", undefined).eq("classLabel", filter.classLabel).gte("_creationTime", from).lte("_creationTime", to))
        : filter.versionId !== undefined
          ? pictures.withIndex("by_live_version", (q) => q.eq("deleted", undefined).eq("versionId", filter.versionId).gte("_creationTime", from).lte("_creationTime", to))
          : filter.labelled !== undefined
            ? pictures.withIndex("by_live_labelled", (q) => q.eq("deleted", undefined).eq("labelled", filter.labelled!).gte("_creationTime", from).lte("_creationTime", to))
            : pictures.withIndex("by_live", (q) => q.eq("deleted", undefined).gte("_creationTime", from).lte("_creationTime", to));
    const checkVersion = filter.classLabel !== undefined && filter.versionId !== undefined;
    const checkLabelled = filter.labelled !== undefined && (filter.classLabel !== undefined || filter.versionId !== undefined);
    const residual = checkVersion || checkLabelled;
    const page = await base.order("desc").paginate(residual ? { ...paginationOpts, numItems: FILTER_SCAN_ROWS } : paginationOpts);
    const matching = page.page.filter(
      (picture) => (!checkVersion || picture.versionId === filter.versionId) && (!checkLabelled || picture.labelled === filter.labelled),
    );
    return { ...page, page: await Promise.all(matching.map((picture) => toPictureSummary(ctx, picture))) };
  },
});

const labelValidator = v.object({
  label: v.string(),
  verdict: labelVerdictValidator,
  predictedLabel: v.optional(v.string()),
  labellerId: v.id("users"),
});

export const get = viewerQuery({
  args: { pictureId: v.string() },
  returns: v.union(
    v.null(),
    v.object({
      picture: pictureSummaryValidator,
      result: v.union(classificationResultValidator, v.null()),
      /** The classes of the version that classified the picture: the choices for a label. */
      classes: v.array(v.string()),
      label: v.union(labelValidator, v.null()),
    }),
  ),
  handler: async (ctx, args) => {
    // A string, not v.id: a link with a mangled id answers "no such picture" rather than a validator error.
    const pictureId = ctx.db.normalizeId("pictures", args.pictureId);
    const picture = pictureId === null ? null : await ctx.db.get(pictureId);
    if (pictureId === null || picture === null || picture.deleted === true) return null;
    const classification = picture.latestClassificationId === undefined ? null : await ctx.db.get(picture.latestClassificationId);
    const version = classification === null ? null : await ctx.db.get(classification.versionId);
    const label = await labelOf(ctx, pictureId);
    return {
      picture: await toPictureSummary(ctx, picture),
      result: classification !== null && version !== null ? toClassificationResult(classification.probabilities, version) : null,
      classes: version?.summary.classes ?? [],
      label: label === null ? null : { label: label.label, verdict: label.verdict, predictedLabel: label.predictedLabel, labellerId: label.labellerId },
    };
  },
});

/** Classified pictures nobody has labelled yet, least confident first: where a human label helps most. */
export const reviewQueue = labellerQuery({
  args: { limit: v.number() },
  returns: v.array(pictureSummaryValidator),
  handler: async (ctx, { limit }) => {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_REVIEW_QUEUE) {
      throw new ConvexError(`The review queue shows 1 to ${MAX_REVIEW_QUEUE} pictures, not ${limit}.`);
    }
    const pictures = await ctx.db
      .query("pictures")
      .withIndex("by_review_queue", (q) => q.eq("deleted", undefined).eq("labelled", false).eq("status", "classified"))
      .order("asc")
      .take(limit);
    return Promise.all(pictures.map((picture) => toPictureSummary(ctx, picture)));
  },
});

/**
 * The picture leaves every list, the review queue, the analytics counters
 * and the labelled set, and its stored image and features are deleted at
 * once (a removed picture must not stay downloadable through its URL). The
 * row and its classifications stay, without image or features, for the
 * record that it existed and what was predicted.
 */
export const remove = labellerMutation({
  args: { pictureId: v.id("pictures") },
  returns: v.null(),
  handler: async (ctx, { pictureId }): Promise<null> => {
    const picture = await requirePicture(ctx, pictureId);
    requireUploaderOrAdmin(picture, ctx.caller, "remove");
    if (picture.latestClassificationId !== undefined) {
      const counted = await ctx.db.get(picture.latestClassificationId);
      if (counted !== null) {
        await countClassification(ctx, counted, -1);
        await ctx.db.patch(counted._id, { current: false });
      }
    }
    const label = await labelOf(ctx, pictureId);
    if (label !== null) {
      await ctx.db.delete(label._id);
      await removePictureItems(ctx, pictureId);
      await writeAudit(ctx, { actorId: ctx.caller.userId, action: "removeLabel", details: `picture ${pictureId} ("${picture.fileName}") removed: its label "${label.label}" went with it` });
    }
    if (picture.storageId !== undefined) await ctx.storage.delete(picture.storageId);
    await deletePictureFeatures(ctx, pictureId);
    await ctx.db.patch(pictureId, {
      deleted: true,
      labelled: false,
      confirmedLabel: undefined,
      classLabel: undefined,
      storageId: undefined,
      featuresId: undefined,
      statusSince: undefined,
    });
    return null;
  },
});

/** File names of pictures, for lists that name them (a comparison's disagreements); null for a removed or missing picture. */
export const fileNames = internalQuery({
  args: { pictureIds: v.array(v.id("pictures")) },
  returns: v.array(v.union(v.string(), v.null())),
  handler: async (ctx, { pictureIds }) =>
    Promise.all(
      pictureIds.map(async (pictureId) => {
        const picture = await ctx.db.get(pictureId);
        return picture === null || picture.deleted === true ? null : picture.fileName;
      }),
    ),
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
 * Run by the cron in crons.ts: marks pictures nobody finished as failed, so
 * they show as retryable instead of waiting forever — `classifying` ones
 * whose action never finished, and `uploaded` ones whose features never
 * came. Oldest first, at most STUCK_BATCH_SIZE per transaction; a full batch
 * schedules the next one straight away. A slow action that does finish after
 * all still stores its result, since storing does not depend on the status.
 */
export const recoverStuck = internalMutation({
  args: {},
  returns: v.object({ released: v.number() }),
  handler: async (ctx) => {
    const now = Date.now();
    let released = 0;
    for (const [status, afterMs, message] of [
      ["classifying", STUCK_CLASSIFYING_MS, STUCK_CLASSIFICATION_MESSAGE],
      ["uploaded", ABANDONED_UPLOAD_MS, ABANDONED_UPLOAD_MESSAGE],
    ] as const) {
      // Pictures recorded before statusSince existed have none; undefined sorts first, so they are released too.
      const stuck = await ctx.db
        .query("pictures")
        .withIndex("by_status_since", (q) => q.eq("status", status).lt("statusSince", now - afterMs))
        .take(STUCK_BATCH_SIZE - released);
      for (const picture of stuck) await ctx.db.patch(picture._id, failurePatch(picture, message, now));
      released += stuck.length;
    }
    if (released === STUCK_BATCH_SIZE) await ctx.scheduler.runAfter(0, internal.pictures.recoverStuck, {});
    return { released };
  },
});
