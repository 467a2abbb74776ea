/**
 * The labelled set that versions are compared on. Two sources: imported
 * feature sets (admins, in chunks) and labeller-confirmed pictures (kept in
 * step with labels by labels.ts through model/labelledSet.ts).
 */
import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { internalMutation, internalQuery, type MutationCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, adminQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { loadActiveVersion } from "./model/deployment";
import { storeFeatures } from "./model/features";
import { adjustLabelledCount, labelledItemCount, MAX_LABELLED_ITEMS, removePictureItems } from "./model/labelledSet";
import { labelOf } from "./model/pictures";
import { emailReader } from "./model/versions";
import { loadSettings } from "./model/settings";
import { scheduleMetricsRefresh } from "./model/metricsRefresh";
import { checkFeatures, encodeFeatures } from "./lib/features";
import { labelledSourceValidator } from "./lib/shapes";
import { checkText } from "./lib/versionChecks";
import { versionLabel } from "./lib/versionLabel";
import { sha256Hex } from "./lib/weightsBinary";

/** Items per importItems call: 200 × 512 numbers keeps arguments near 1 MB and writes at 400 documents. */
export const MAX_ITEMS_PER_IMPORT_CALL = 200;
export const IMPORT_NAME_MAX_LENGTH = 100;
const DELETE_BATCH_SIZE = 250;
const MAX_LISTED_PROBLEMS = 20;
const MAX_LISTED_IMPORTS = 500;
const MAX_VERSIONS_CHECKED = 1000;

function quoteList(values: readonly string[]): string {
  return values.map((value) => `"${value}"`).join(", ");
}

function summarizeProblems(problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join("; ");
  return problems.length > MAX_LISTED_PROBLEMS ? `${listed}; and ${problems.length - MAX_LISTED_PROBLEMS} more` : listed;
}

/** Identifies an item by what it is, so the same file imported twice adds nothing the second time. */
async function contentKeyOf(label: string, features: readonly number[]): Promise<string> {
  const vector = new Uint8Array(encodeFeatures(features));
  const labelBytes = new TextEncoder().encode(label);
  const joined = new Uint8Array(labelBytes.length + 1 + vector.length);
  joined.set(labelBytes, 0);
  joined.set(vector, labelBytes.length + 1);
  return sha256Hex(joined);
}

export const importItems = adminMutation({
  args: {
    name: v.string(),
    items: v.array(v.object({ features: v.array(v.float64()), label: v.string() })),
  },
  returns: v.object({
    importId: v.id("labelledImports"),
    added: v.number(),
    /** Items already in the set (same label and features), skipped. */
    duplicates: v.number(),
    importItemCount: v.number(),
    /** Labels accepted because some version knows them, though the active version does not. */
    labelsUnknownToActive: v.array(v.string()),
  }),
  handler: async (ctx, { name: rawName, items }) => {
    const name = rawName.trim();
    const problems = checkText("name", name, IMPORT_NAME_MAX_LENGTH, true);
    if (items.length === 0) problems.push("items is empty: send at least one {features, label}");
    if (items.length > MAX_ITEMS_PER_IMPORT_CALL) {
      problems.push(`items has ${items.length} entries; the limit is ${MAX_ITEMS_PER_IMPORT_CALL} per call, so send the set in chunks`);
    }
    if (problems.length > 0) throw new ConvexError(`Labelled items not imported: ${problems.join("; ")}.`);

    const settings = await loadSettings(ctx);
    const versions = await ctx.db.query("modelVersions").take(MAX_VERSIONS_CHECKED);
    if (versions.length === 0) {
      throw new ConvexError("Labelled items not imported: there are no model versions yet, and labels are checked against version classes. Import a model version first.");
    }
    const active = await loadActiveVersion(ctx);
    const activeClasses = new Set(active?.summary.classes ?? []);
    const knownClasses = new Set(versions.flatMap((version) => version.summary.classes));
    const unknownToActive = new Set<string>();
    items.forEach((item, index) => {
      const featureProblem = checkFeatures(item.features, settings.featureDim);
      if (featureProblem !== null) problems.push(`items[${index}]: ${featureProblem}`);
      if (!knownClasses.has(item.label)) {
        const activePart = active ? `the active version ${versionLabel(active)} (${quoteList(active.summary.classes)}) nor of any other version` : "any model version";
        problems.push(`items[${index}].label "${item.label}" is not a class of ${activePart}`);
      } else if (active && !activeClasses.has(item.label)) {
        unknownToActive.add(item.label);
      }
    });
    if (problems.length > 0) throw new ConvexError(`Labelled items not imported: ${summarizeProblems(problems)}.`);

    const fresh: Array<{ features: number[]; label: string; contentKey: string }> = [];
    const seen = new Set<string>();
    for (const item of items) {
      const contentKey = await contentKeyOf(item.label, item.features);
      if (seen.has(contentKey)) continue;
      seen.add(contentKey);
      const existing = await ctx.db.query("labelledItems").withIndex("by_content", (q) => q.eq("contentKey", contentKey)).first();
      if (existing === null) fresh.push({ ...item, contentKey });
    }
    const total = await labelledItemCount(ctx);
    if (total + fresh.length > MAX_LABELLED_ITEMS) {
      throw new ConvexError(
        `Labelled items not imported: the set holds ${total} items and this chunk adds ${fresh.length}; the limit is ${MAX_LABELLED_ITEMS}. Remove an import first.`,
      );
    }

    const existingImport = await ctx.db.query("labelledImports").withIndex("by_name", (q) => q.eq("name", name)).first();
    const importId = existingImport?._id ?? (await ctx.db.insert("labelledImports", { name, importedBy: ctx.caller.userId, itemCount: 0 }));
    const importItemCount = (existingImport?.itemCount ?? 0) + fresh.length;
    await ctx.db.patch(importId, { itemCount: importItemCount });
    const perLabel = new Map<string, number>();
    for (const item of fresh) {
      const featuresId = await storeFeatures(ctx, item.features);
      await ctx.db.insert("labelledItems", { source: "import", importId, featuresId, label: item.label, contentKey: item.contentKey });
      perLabel.set(item.label, (perLabel.get(item.label) ?? 0) + 1);
    }
    for (const [label, count] of perLabel) await adjustLabelledCount(ctx, "import", importId, label, count);
    const duplicates = items.length - fresh.length;
    if (fresh.length > 0) await scheduleMetricsRefresh(ctx);
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "importLabelledSet",
      details: `"${name}": +${fresh.length} items${duplicates > 0 ? ` (${duplicates} already in the set, skipped)` : ""} (${importItemCount} in this import)`,
    });
    return { importId, added: fresh.length, duplicates, importItemCount, labelsUnknownToActive: [...unknownToActive].sort() };
  },
});

const labelCountValidator = v.object({
  label: v.string(),
  picture: v.number(),
  import: v.number(),
  total: v.number(),
  knownToActive: v.boolean(),
});

export const summary = adminQuery({
  args: {},
  returns: v.object({
    total: v.number(),
    limit: v.number(),
    bySource: v.object({ picture: v.number(), import: v.number() }),
    labels: v.array(labelCountValidator),
    imports: v.array(
      v.object({
        _id: v.id("labelledImports"),
        name: v.string(),
        itemCount: v.number(),
        importedByEmail: v.union(v.string(), v.null()),
        createdAt: v.number(),
      }),
    ),
  }),
  handler: async (ctx) => {
    const rows = await ctx.db.query("labelledCounts").take(10_000);
    const active = await loadActiveVersion(ctx);
    const byLabel = new Map<string, { picture: number; import: number }>();
    for (const row of rows) {
      const entry = byLabel.get(row.label) ?? { picture: 0, import: 0 };
      entry[row.source] += row.count;
      byLabel.set(row.label, entry);
    }
    const labels = [...byLabel.entries()]
      .map(([label, counts]) => ({ label, ...counts, total: counts.picture + counts.import, knownToActive: active?.summary.classes.includes(label) ?? false }))
      .sort((a, b) => a.label.localeCompare(b.label));
    const imports = await ctx.db.query("labelledImports").order("desc").take(MAX_LISTED_IMPORTS);
    const emailOf = emailReader(ctx);
    const listed = [];
    for (const record of imports) {
      listed.push({ _id: record._id, name: record.name, itemCount: record.itemCount, importedByEmail: await emailOf(record.importedBy), createdAt: record._creationTime });
    }
    return {
      total: labels.reduce((sum, entry) => sum + entry.total, 0),
      limit: MAX_LABELLED_ITEMS,
      bySource: {
        picture: labels.reduce((sum, entry) => sum + entry.picture, 0),
        import: labels.reduce((sum, entry) => sum + entry.import, 0),
      },
      labels,
      imports: listed,
    };
  },
});

const itemSummaryValidator = v.object({
  _id: v.id("labelledItems"),
  _creationTime: v.number(),
  label: v.string(),
  source: labelledSourceValidator,
  importName: v.union(v.string(), v.null()),
  pictureId: v.union(v.id("pictures"), v.null()),
  fileName: v.union(v.string(), v.null()),
});

/** The set's items, newest first, without features: what an admin looks through before removing one. */
export const items = adminQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(itemSummaryValidator),
  handler: async (ctx, { paginationOpts }) => {
    const page = await ctx.db.query("labelledItems").order("desc").paginate({ ...paginationOpts, numItems: Math.min(paginationOpts.numItems, 100) });
    const importNames = new Map<Id<"labelledImports">, string | null>();
    const rows = [];
    for (const item of page.page) {
      let importName: string | null = null;
      if (item.importId !== undefined) {
        if (!importNames.has(item.importId)) importNames.set(item.importId, (await ctx.db.get(item.importId))?.name ?? null);
        importName = importNames.get(item.importId) ?? null;
        // An import being removed: its items are going in the background.
        if (importName === null) continue;
      }
      const picture = item.pictureId === undefined ? null : await ctx.db.get(item.pictureId);
      rows.push({
        _id: item._id,
        _creationTime: item._creationTime,
        label: item.label,
        source: item.source,
        importName,
        pictureId: item.pictureId ?? null,
        fileName: picture?.fileName ?? null,
      });
    }
    return { ...page, page: rows };
  },
});

/** One item out of the set. A picture's item goes with its label (the picture stays, unlabelled). */
export const removeItem = adminMutation({
  args: { itemId: v.id("labelledItems") },
  returns: v.null(),
  handler: async (ctx, { itemId }) => {
    const item = await ctx.db.get(itemId);
    if (item === null) throw new ConvexError(`No labelled item with id ${itemId}: it may already have been removed.`);
    // Named for the audit view by what a person recognises: the picture's file or the import's name.
    const origin =
      item.pictureId !== undefined
        ? `"${(await ctx.db.get(item.pictureId))?.fileName ?? "a removed picture"}" (a confirmed picture)`
        : `an item of import "${(item.importId && (await ctx.db.get(item.importId))?.name) ?? "(removed)"}"`;
    if (item.pictureId !== undefined) {
      const label = await labelOf(ctx, item.pictureId);
      if (label !== null) await ctx.db.delete(label._id);
      const picture = await ctx.db.get(item.pictureId);
      if (picture !== null) await ctx.db.patch(picture._id, { labelled: false, confirmedLabel: undefined, classLabel: picture.label });
      await removePictureItems(ctx, item.pictureId);
    } else {
      await ctx.db.delete(itemId);
      await ctx.db.delete(item.featuresId);
      await adjustLabelledCount(ctx, "import", item.importId, item.label, -1);
      if (item.importId !== undefined) {
        const record = await ctx.db.get(item.importId);
        if (record !== null) await ctx.db.patch(record._id, { itemCount: Math.max(0, record.itemCount - 1) });
      }
    }
    await scheduleMetricsRefresh(ctx);
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "removeLabelledItem", details: `${origin} labelled "${item.label}"` });
    return null;
  },
});

/**
 * The import record and its counters go at once, so the set's size and every
 * comparison stop counting its items immediately (`page` skips orphans);
 * the items themselves are deleted in scheduled batches.
 */
async function removeImportNow(ctx: MutationCtx, record: Doc<"labelledImports">, actorId: Id<"users">): Promise<void> {
  const counters = await ctx.db
    .query("labelledCounts")
    .withIndex("by_import_label", (q) => q.eq("importId", record._id))
    .take(10_000);
  for (const counter of counters) await ctx.db.delete(counter._id);
  await ctx.db.delete(record._id);
  await ctx.scheduler.runAfter(0, internal.labelledSet.deleteImportItems, { importId: record._id });
  await writeAudit(ctx, { actorId, action: "removeLabelledImport", details: `"${record.name}": ${record.itemCount} items` });
  await scheduleMetricsRefresh(ctx);
}

export const removeImport = adminMutation({
  args: { importId: v.id("labelledImports") },
  returns: v.null(),
  handler: async (ctx, { importId }) => {
    const record = await ctx.db.get(importId);
    if (record === null) throw new ConvexError(`No labelled import with id ${importId}: it may already have been removed.`);
    await removeImportNow(ctx, record, ctx.caller.userId);
    return null;
  },
});

/** Removes every import. Picture items stay: they follow the labels, and go when a label is removed. */
export const clear = adminMutation({
  args: {},
  returns: v.object({ removedImports: v.number() }),
  handler: async (ctx) => {
    const imports = await ctx.db.query("labelledImports").take(100);
    for (const record of imports) await removeImportNow(ctx, record, ctx.caller.userId);
    return { removedImports: imports.length };
  },
});

export const deleteImportItems = internalMutation({
  args: { importId: v.id("labelledImports") },
  returns: v.null(),
  handler: async (ctx, { importId }) => {
    const batch = await ctx.db
      .query("labelledItems")
      .withIndex("by_import", (q) => q.eq("importId", importId))
      .take(DELETE_BATCH_SIZE);
    for (const item of batch) {
      await ctx.db.delete(item.featuresId);
      await ctx.db.delete(item._id);
    }
    if (batch.length === DELETE_BATCH_SIZE) await ctx.scheduler.runAfter(0, internal.labelledSet.deleteImportItems, { importId });
    return null;
  },
});

/** One page of the set, with each item's features, for the actions that evaluate versions; skips items of an import being removed. */
export const page = internalQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: v.object({
    page: v.array(v.object({ itemId: v.id("labelledItems"), vector: v.bytes(), dim: v.number(), label: v.string(), pictureId: v.union(v.id("pictures"), v.null()) })),
    isDone: v.boolean(),
    continueCursor: v.string(),
  }),
  handler: async (ctx, { paginationOpts }) => {
    const result = await ctx.db.query("labelledItems").paginate(paginationOpts);
    const importExists = new Map<Id<"labelledImports">, boolean>();
    const rows = [];
    for (const item of result.page) {
      if (item.importId !== undefined) {
        if (!importExists.has(item.importId)) importExists.set(item.importId, (await ctx.db.get(item.importId)) !== null);
        if (!importExists.get(item.importId)) continue;
      }
      const features = await ctx.db.get(item.featuresId);
      if (features === null) continue;
      rows.push({ itemId: item._id, vector: features.vector, dim: features.dim, label: item.label, pictureId: item.pictureId ?? null });
    }
    return { page: rows, isDone: result.isDone, continueCursor: result.continueCursor };
  },
});
