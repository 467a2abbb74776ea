import { ConvexError } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";
import { decodeFeatures, encodeFeatures } from "../lib/features";

export async function storeFeatures(ctx: MutationCtx, features: ArrayLike<number>, pictureId?: Id<"pictures">): Promise<Id<"features">> {
  return ctx.db.insert("features", { vector: encodeFeatures(features), dim: features.length, ...(pictureId === undefined ? {} : { pictureId }) });
}

/** The stored vector, or null when the document is gone. */
export async function readFeatures(ctx: QueryCtx, featuresId: Id<"features">): Promise<Float32Array | null> {
  const stored = await ctx.db.get(featuresId);
  return stored === null ? null : decodeFeatures(stored.vector, stored.dim);
}

export async function requireFeatures(ctx: QueryCtx, featuresId: Id<"features">, owner: string): Promise<Float32Array> {
  const features = await readFeatures(ctx, featuresId);
  if (features === null) throw new ConvexError(`the stored features of ${owner} are missing`);
  return features;
}

/** Removes every vector extracted from the picture (it was removed: its features must not outlive it). */
export async function deletePictureFeatures(ctx: MutationCtx, pictureId: Id<"pictures">): Promise<void> {
  const stored = await ctx.db.query("features").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).take(100);
  for (const document of stored) await ctx.db.delete(document._id);
}
