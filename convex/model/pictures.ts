import { ConvexError } from "convex/values";
import type { QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import type { Caller } from "../functions";
import { roundProbability } from "../lib/classificationResult";
import type { PictureSummary } from "../lib/shapes";

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

export function requireUploaderOrAdmin(picture: Doc<"pictures">, caller: Caller, action: string): void {
  if (picture.uploaderId !== caller.userId && caller.role !== "admin") {
    throw new ConvexError(`only the picture's uploader or an admin may ${action} it`);
  }
}

/** What lists show of a picture: never its features or full probabilities. */
export async function toPictureSummary(ctx: QueryCtx, picture: Doc<"pictures">): Promise<PictureSummary> {
  return {
    _id: picture._id,
    _creationTime: picture._creationTime,
    uploaderId: picture.uploaderId,
    fileName: picture.fileName,
    contentType: picture.contentType,
    width: picture.width,
    height: picture.height,
    storageMode: picture.storageMode,
    // Only the picture's own image: recording refuses storage ids that belong to anything else.
    imageUrl: picture.storageId === undefined ? null : await ctx.storage.getUrl(picture.storageId),
    status: picture.status,
    error: picture.error,
    lastError: picture.lastError,
    lastErrorAt: picture.lastErrorAt,
    attempts: picture.attempts,
    hasFeatures: picture.featuresId !== undefined,
    label: picture.label,
    confidence: picture.confidence === undefined ? undefined : roundProbability(picture.confidence),
    versionId: picture.versionId,
    labelled: picture.labelled,
    confirmedLabel: picture.confirmedLabel,
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
    ? { status: "classified", error: undefined, lastError: message, lastErrorAt: at, statusSince: undefined }
    : { status: "failed", error: message, statusSince: undefined };
}
