/**
 * A labelled set written straight into its tables (one import record, its
 * items with their features documents, the per-label counts), as
 * labelledSet.importItems leaves them, in transactions small enough for
 * Convex's write limits. For scale tests and the bench, where importing
 * 10,000 items through the public mutation would take minutes of argument
 * parsing that measures nothing.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { storeFeatures } from "../../convex/model/features.ts";
import type { ConvexTestBackend } from "./backend.ts";

export interface LabelledItemSeed {
  features: ArrayLike<number>;
  label: string;
}

export interface SeedLabelledSetOptions {
  name: string;
  importedBy: Id<"users">;
  /** Items per transaction: each writes an item and a features document (2 KB). */
  perTransaction?: number;
}

export async function seedLabelledSet(t: ConvexTestBackend, items: readonly LabelledItemSeed[], { name, importedBy, perTransaction = 2_000 }: SeedLabelledSetOptions): Promise<Id<"labelledImports">> {
  const importId = await t.run((ctx) => ctx.db.insert("labelledImports", { name, importedBy, itemCount: items.length }));
  for (let start = 0; start < items.length; start += perTransaction) {
    await t.run(async (ctx) => {
      for (const item of items.slice(start, start + perTransaction)) {
        const featuresId = await storeFeatures(ctx, item.features);
        await ctx.db.insert("labelledItems", { source: "import", importId, featuresId, label: item.label });
      }
    });
  }
  const perLabel = new Map<string, number>();
  for (const { label } of items) perLabel.set(label, (perLabel.get(label) ?? 0) + 1);
  await t.run(async (ctx) => {
    for (const [label, count] of perLabel) await ctx.db.insert("labelledCounts", { source: "import", importId, label, count });
  });
  return importId;
}
