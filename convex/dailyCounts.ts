import type { MutationCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import { confidenceBin } from "./lib/classificationResult";

/**
 * The analytics counters: one row per UTC day × version × kind × key. Only a
 * picture's latest classification is counted, so re-classifying or removing
 * a picture moves its counts instead of adding to them. Every caller runs in
 * the same mutation that changes the classification, so counts and
 * classifications cannot disagree.
 */

type CountedClassification = Pick<Doc<"classifications">, "day" | "versionId" | "label" | "confidence">;

async function addToCounter(
  ctx: MutationCtx,
  key: { day: string; versionId: Id<"modelVersions">; kind: "class" | "confidence"; key: string },
  delta: number,
) {
  const row = await ctx.db
    .query("dailyCounts")
    .withIndex("by_day_version_kind_key", (q) =>
      q.eq("day", key.day).eq("versionId", key.versionId).eq("kind", key.kind).eq("key", key.key),
    )
    .unique();
  if (row === null) {
    if (delta > 0) await ctx.db.insert("dailyCounts", { ...key, count: delta });
    return;
  }
  const count = row.count + delta;
  // Rows that reach zero go away, so a chart query reads only rows that carry counts.
  if (count <= 0) await ctx.db.delete(row._id);
  else await ctx.db.patch(row._id, { count });
}

/** delta is +1 when a classification becomes a picture's counted one, -1 when it stops being counted. */
export async function countClassification(ctx: MutationCtx, classification: CountedClassification, delta: 1 | -1) {
  const { day, versionId } = classification;
  await addToCounter(ctx, { day, versionId, kind: "class", key: classification.label }, delta);
  await addToCounter(ctx, { day, versionId, kind: "confidence", key: String(confidenceBin(classification.confidence)) }, delta);
}
