import type { MutationCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { confidenceBin } from "../lib/classificationResult";

/**
 * Counter rows that are created on first use and deleted when they reach
 * zero, so a reader only ever reads rows that carry counts. Each caller
 * looks its row up by a unique index and runs in the mutation that changes
 * what is counted, so counts and data cannot disagree.
 */
export async function applyCountDelta<Table extends "analyticsCounts" | "labelledCounts">(
  ctx: MutationCtx,
  table: Table,
  row: Doc<Table> | null,
  fields: Omit<Doc<Table>, "_id" | "_creationTime" | "count">,
  delta: number,
): Promise<void> {
  if (row === null) {
    if (delta > 0) await ctx.db.insert(table, { ...fields, count: delta } as never);
    return;
  }
  const count = row.count + delta;
  if (count <= 0) await ctx.db.delete(row._id);
  else await ctx.db.patch(row._id, { count } as never);
}

type Scope = { period: "day" | "month"; bucket: string; versionId: Id<"modelVersions"> | undefined; kind: "class" | "confidence"; key: string };

async function adjustAnalytics(ctx: MutationCtx, scope: Scope, delta: number): Promise<void> {
  const row = await ctx.db
    .query("analyticsCounts")
    .withIndex("by_scope", (q) =>
      q.eq("period", scope.period).eq("versionId", scope.versionId).eq("kind", scope.kind).eq("bucket", scope.bucket).eq("key", scope.key),
    )
    .unique();
  await applyCountDelta(ctx, "analyticsCounts", row, scope, delta);
}

type CountedClassification = Pick<Doc<"classifications">, "day" | "versionId" | "label" | "confidence">;

/**
 * delta is +1 when a classification becomes a picture's counted one, -1 when
 * it stops being counted (a re-classification or a removal), so each picture
 * is counted once however often it is classified.
 */
export async function countClassification(ctx: MutationCtx, classification: CountedClassification, delta: 1 | -1): Promise<void> {
  const month = classification.day.slice(0, 7);
  const keys = [
    { kind: "class" as const, key: classification.label },
    { kind: "confidence" as const, key: String(confidenceBin(classification.confidence)) },
  ];
  for (const { kind, key } of keys) {
    for (const versionId of [classification.versionId, undefined]) {
      await adjustAnalytics(ctx, { period: "day", bucket: classification.day, versionId, kind, key }, delta);
      await adjustAnalytics(ctx, { period: "month", bucket: month, versionId, kind, key }, delta);
    }
  }
}
