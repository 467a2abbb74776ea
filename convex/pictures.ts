import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import type { MutationCtx, QueryCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import { labellerMutation, labellerQuery, viewerQuery, type Caller } from "./functions";
import { classificationResultValidator, pictureStatusValidator, privacyModeValidator } from "./schema";
import { countClassification } from "./dailyCounts";
import { removePictureItems } from "./labelledSet";
import { toResult } from "./imageClassification";
import { roundProbability } from "./lib/classificationResult";

/*
 * Visibility: every signed-in member with a role (labellers, analysts,
 * admins) sees every picture of the team. Labelling is shared work: the
 * review queue must offer anyone's uncertain pictures to any labeller.
 * Changing a picture (classify, remove) is limited to its uploader or an admin.
 * Features and full probability vectors never leave the server through these queries.
 */

export const MAX_REVIEW_QUEUE = 100;

export const pictureSummaryValidator = v.object({
  _id: v.id("pictures"),
  _creationTime: v.number(),
  uploaderId: v.id("users"),
  fileName: v.string(),
  contentType: v.string(),
  width: v.optional(v.number()),
  height: v.optional(v.number()),
  storageMode: privacyModeValidator,
  imageUrl: v.union(v.string(), v.null()),
  status: pictureStatusValidator,
  error: v.optional(v.string()),
  /** A failed re-classification of a picture that keeps its earlier result (status stays classified). */
  lastError: v.optional(v.string()),
  lastErrorAt: v.optional(v.number()),
  attempts: v.number(),
  label: v.optional(v.string()),
  confidence: v.optional(v.number()),
  versionId: v.optional(v.id("modelVersions")),
  labelled: v.boolean(),
  confirmedLabel: v.optional(v.string()),
});

async function summarize(ctx: QueryCtx, picture: Doc<"pictures">) {
  return {
    _id: picture._id,
    _creationTime: picture._creationTime,
    uploaderId: picture.uploaderId,
    fileName: picture.fileName,
    contentType: picture.contentType,
    width: picture.width,
    height: picture.height,
    storageMode: picture.storageMode,
    // Only the picture's own image: recordPicture refuses storage ids that belong to anything else.
    imageUrl: picture.storageId === undefined ? null : await ctx.storage.getUrl(picture.storageId),
    status: picture.status,
    error: picture.error,
    lastError: picture.lastError,
    lastErrorAt: picture.lastErrorAt,
    attempts: picture.attempts,
    label: picture.label,
    confidence: picture.confidence === undefined ? undefined : roundProbability(picture.confidence),
    versionId: picture.versionId,
    labelled: picture.labelled,
    confirmedLabel: picture.confirmedLabel,
  };
}

/** The picture, if it exists and was not removed; otherwise a clear error. */
export async function requirePicture(ctx: QueryCtx, pictureId: Id<"pictures">): Promise<Doc<"pictures">> {
  const picture = await ctx.db.get(pictureId);
  if (picture === null || picture.deleted === true) throw new ConvexError(`picture ${pictureId} does not exist or was removed`);
  return picture;
}

/** The picture's human label (at most one), or null. */
export async function labelOf(ctx: QueryCtx, pictureId: Id<"pictures">): Promise<Doc<"labels"> | null> {
  return ctx.db
    .query("labels")
    .withIndex("by_picture", (q) => q.eq("pictureId", pictureId))
    .unique();
}

export function requireUploaderOrAdmin(picture: Doc<"pictures">, caller: Caller, action: string) {
  if (picture.uploaderId !== caller.userId && caller.role !== "admin") {
    throw new ConvexError(`only the picture's uploader or an admin may ${action} it`);
  }
}

export const list = viewerQuery({
  args: {
    filter: v.object({
      label: v.optional(v.string()),
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
    if (from > to) throw new ConvexError(`filter.from (${from}) must not be after filter.to (${to})`);
    // The most selective filter picks the index; every index ends in _creationTime, so the time range is an index range too.
    const base =
      filter.label !== undefined
        ? ctx.db.query("pictures").withIndex("by_label", (q) => q.eq("label", filter.label).gte("_creationTime", from).lte("_creationTime", to))
        : filter.versionId !== undefined
          ? ctx.db.query("pictures").withIndex("by_version", (q) => q.eq("versionId", filter.versionId).gte("_creationTime", from).lte("_creationTime", to))
          : ctx.db.query("pictures").withIndex("by_creation_time", (q) => q.gte("_creationTime", from).lte("_creationTime", to));
    const page = await base
      .order("desc")
      .filter((q) => {
        const conditions = [q.neq(q.field("deleted"), true)];
        if (filter.versionId !== undefined) conditions.push(q.eq(q.field("versionId"), filter.versionId));
        if (filter.labelled !== undefined) conditions.push(q.eq(q.field("labelled"), filter.labelled));
        return q.and(...conditions);
      })
      .paginate(paginationOpts);
    return { ...page, page: await Promise.all(page.page.map((picture) => summarize(ctx, picture))) };
  },
});

const labelValidator = v.object({
  label: v.string(),
  verdict: v.union(v.literal("accepted"), v.literal("corrected")),
  predictedLabel: v.optional(v.string()),
  labellerId: v.id("users"),
});

export const get = viewerQuery({
  args: { pictureId: v.id("pictures") },
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
  handler: async (ctx, { pictureId }) => {
    const picture = await ctx.db.get(pictureId);
    if (picture === null || picture.deleted === true) return null;
    const classification = picture.latestClassificationId === undefined ? null : await ctx.db.get(picture.latestClassificationId);
    const version = classification === null ? null : await ctx.db.get(classification.versionId);
    const label = await labelOf(ctx, pictureId);
    return {
      picture: await summarize(ctx, picture),
      result: classification !== null && version !== null ? toResult(classification.probabilities, version) : null,
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
      throw new ConvexError(`limit must be a whole number from 1 to ${MAX_REVIEW_QUEUE}, got ${limit}`);
    }
    // Live pictures have no `deleted` field; the index puts them in one range ordered by confidence.
    const pictures = await ctx.db
      .query("pictures")
      .withIndex("by_review_queue", (q) => q.eq("deleted", undefined).eq("labelled", false).eq("status", "classified"))
      .order("asc")
      .take(limit);
    return Promise.all(pictures.map((picture) => summarize(ctx, picture)));
  },
});

/**
 * Soft delete: the picture and its classifications stay for the record but
 * leave every list, the review queue and the analytics counters. Its human
 * label and labelled-set item go too, so removed pictures stop teaching.
 */
export const remove = labellerMutation({
  args: { pictureId: v.id("pictures") },
  returns: v.null(),
  handler: async (ctx, { pictureId }): Promise<null> => {
    const picture = await requirePicture(ctx, pictureId);
    requireUploaderOrAdmin(picture, ctx.caller, "remove");
    if (picture.latestClassificationId !== undefined) {
      const counted = await ctx.db.get(picture.latestClassificationId);
      if (counted !== null) await countClassification(ctx, counted, -1);
    }
    await removeLabelOf(ctx, pictureId);
    await ctx.db.patch(pictureId, { deleted: true, labelled: false, confirmedLabel: undefined });
    return null;
  },
});

/** Deletes the picture's human label and takes it out of the labelled set; true when there was a label. */
export async function removeLabelOf(ctx: MutationCtx, pictureId: Id<"pictures">): Promise<boolean> {
  const label = await labelOf(ctx, pictureId);
  if (label === null) return false;
  await ctx.db.delete(label._id);
  await removePictureItems(ctx, pictureId);
  return true;
}
