import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { applyCountDelta } from "./counters";

/**
 * The labelled set's size cap, on every path that adds items (imports and
 * labeller confirmations): evaluation streams the set page by page, so the
 * cap bounds the time a comparison takes (two reads per item), not memory.
 */
export const MAX_LABELLED_ITEMS = 20_000;
/** Items per page when actions stream the set: 250 × (item + 2 KB of features) per query. */
export const LABELLED_PAGE_SIZE = 250;

/** Counter rows are one per (import or pictures) × label: far fewer than this. */
const MAX_COUNT_ROWS = 10_000;

type Source = Doc<"labelledItems">["source"];

export async function adjustLabelledCount(ctx: MutationCtx, source: Source, importId: Id<"labelledImports"> | undefined, label: string, delta: number): Promise<void> {
  const row = await ctx.db
    .query("labelledCounts")
    .withIndex("by_import_label", (q) => q.eq("importId", importId).eq("label", label))
    .unique();
  await applyCountDelta(ctx, "labelledCounts", row, { source, ...(importId === undefined ? {} : { importId }), label }, delta);
}

/** From the per-label counters: never scans the items. */
export async function labelledItemCount(ctx: QueryCtx): Promise<number> {
  const rows = await ctx.db.query("labelledCounts").take(MAX_COUNT_ROWS);
  return rows.reduce((sum, row) => sum + row.count, 0);
}

export type PictureItemOutcome = "added" | "updated" | "full";

/**
 * Puts a labelled picture's features into the set under its label (or moves
 * it to a new label). A plain helper, called by the labels flow inside its
 * own mutation. A full set adds nothing and says so: the label itself is
 * still saved.
 */
export async function upsertPictureItem(ctx: MutationCtx, pictureId: Id<"pictures">, label: string, featuresId: Id<"features">): Promise<PictureItemOutcome> {
  const existing = await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).first();
  if (existing !== null) {
    if (existing.label !== label) {
      await adjustLabelledCount(ctx, "picture", undefined, existing.label, -1);
      await adjustLabelledCount(ctx, "picture", undefined, label, 1);
    }
    await ctx.db.patch(existing._id, { label, featuresId });
    return "updated";
  }
  if ((await labelledItemCount(ctx)) >= MAX_LABELLED_ITEMS) return "full";
  await adjustLabelledCount(ctx, "picture", undefined, label, 1);
  await ctx.db.insert("labelledItems", { source: "picture", pictureId, featuresId, label });
  return "added";
}

/** Takes a picture out of the set when its label is removed or the picture is deleted. Does nothing if it is not in the set. */
export async function removePictureItems(ctx: MutationCtx, pictureId: Id<"pictures">): Promise<void> {
  const items = await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).take(10);
  for (const item of items) {
    await adjustLabelledCount(ctx, "picture", undefined, item.label, -1);
    await ctx.db.delete(item._id);
  }
}
