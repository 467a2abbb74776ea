import type { QueryCtx } from "../_generated/server";
import type { Id } from "../_generated/dataModel";

/**
 * What already owns a stored file: a weights version or a picture. A file
 * that belongs to one must never be recorded for another (that would hand
 * its URL to the new owner) nor deleted as an unclaimed upload.
 */
export async function storageOwner(ctx: QueryCtx, storageId: Id<"_storage">): Promise<"version" | "picture" | null> {
  const version = await ctx.db.query("modelVersions").withIndex("by_storage", (q) => q.eq("storageId", storageId)).first();
  if (version !== null) return "version";
  const picture = await ctx.db.query("pictures").withIndex("by_storage", (q) => q.eq("storageId", storageId)).first();
  return picture !== null ? "picture" : null;
}
