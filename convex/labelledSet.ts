/**
 * The labelled set that versions are compared on. Two sources: imported
 * feature sets (admins, in chunks) and labeller-confirmed pictures (kept in
 * step with labels by the labels flow through the internal mutations here).
 */
import { ConvexError, v } from "convex/values";
import { paginationOptsValidator } from "convex/server";
import { internalMutation, internalQuery, type MutationCtx, type QueryCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, adminQuery } from "./functions";
import { writeAudit } from "./audit";
import { loadSettings } from "./settings";
import { checkFeatures } from "./lib/features";
import { checkText } from "./lib/versionChecks";

/** Items per importItems call: 200 × 512 floats keeps arguments near 1 MB. */
export const MAX_ITEMS_PER_IMPORT_CALL = 200;
/**
 * The whole set: comparing streams it through an action (64 MiB, 10 min), and
 * each item is 4 KB of features.
 */
export const MAX_LABELLED_ITEMS = 20_000;
export const IMPORT_NAME_MAX_LENGTH = 100;
/** Items per page when actions stream the set; about 1 MB of features. */
export const LABELLED_PAGE_SIZE = 250;
const DELETE_BATCH_SIZE = 250;
const MAX_LISTED_PROBLEMS = 20;

type Source = Doc<"labelledItems">["source"];

async function adjustCount(ctx: MutationCtx, source: Source, importId: Id<"labelledImports"> | undefined, label: string, delta: number) {
  const row = await ctx.db
    .query("labelledCounts")
    .withIndex("by_import_label", (q) => q.eq("importId", importId).eq("label", label))
    .unique();
  if (row === null) {
    if (delta > 0) await ctx.db.insert("labelledCounts", { source, importId, label, count: delta });
    return;
  }
  const count = row.count + delta;
  if (count <= 0) await ctx.db.delete(row._id);
  else await ctx.db.patch(row._id, { count });
}

async function totalItemCount(ctx: QueryCtx): Promise<number> {
  const rows = await ctx.db.query("labelledCounts").collect();
  return rows.reduce((sum, row) => sum + row.count, 0);
}

async function activeVersion(ctx: QueryCtx): Promise<Doc<"modelVersions"> | null> {
  const deployment = await ctx.db.query("deployment").first();
  return deployment?.activeVersionId ? ctx.db.get(deployment.activeVersionId) : null;
}

function quoteList(values: readonly string[]): string {
  return values.map((value) => `"${value}"`).join(", ");
}

function summarizeProblems(problems: string[]): string {
  const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join("; ");
  return problems.length > MAX_LISTED_PROBLEMS ? `${listed}; and ${problems.length - MAX_LISTED_PROBLEMS} more` : listed;
}

export const importItems = adminMutation({
  args: {
    name: v.string(),
    items: v.array(v.object({ features: v.array(v.float64()), label: v.string() })),
  },
  returns: v.object({
    importId: v.id("labelledImports"),
    added: v.number(),
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
    const versions = await ctx.db.query("modelVersions").take(1000);
    if (versions.length === 0) {
      throw new ConvexError("Labelled items not imported: there are no model versions yet, and labels are checked against version classes. Import a model version first.");
    }
    const active = await activeVersion(ctx);
    const activeClasses = new Set(active?.summary.classes ?? []);
    const knownClasses = new Set(versions.flatMap((version) => version.summary.classes));
    const unknownToActive = new Set<string>();
    items.forEach((item, index) => {
      const featureProblem = checkFeatures(item.features, settings.featureDim);
      if (featureProblem !== null) problems.push(`items[${index}]: ${featureProblem}`);
      if (!knownClasses.has(item.label)) {
        const activePart = active ? `the active version ${active.number} '${active.name}' (${quoteList(active.summary.classes)}) nor of any other version` : "any model version";
        problems.push(`items[${index}].label "${item.label}" is not a class of ${activePart}`);
      } else if (active && !activeClasses.has(item.label)) {
        unknownToActive.add(item.label);
      }
    });
    if (problems.length > 0) throw new ConvexError(`Labelled items not imported: ${summarizeProblems(problems)}.`);

    const total = await totalItemCount(ctx);
    if (total + items.length > MAX_LABELLED_ITEMS) {
      throw new ConvexError(
        `Labelled items not imported: the set holds ${total} items and this chunk adds ${items.length}; the limit is ${MAX_LABELLED_ITEMS}. Remove an import first.`,
      );
    }

    const existing = await ctx.db.query("labelledImports").withIndex("by_name", (q) => q.eq("name", name)).first();
    const importId = existing?._id ?? (await ctx.db.insert("labelledImports", { name, importedBy: ctx.caller.userId, itemCount: 0 }));
    const importItemCount = (existing?.itemCount ?? 0) + items.length;
    await ctx.db.patch(importId, { itemCount: importItemCount });
    const perLabel = new Map<string, number>();
    for (const item of items) {
      await ctx.db.insert("labelledItems", { source: "import", importId, features: item.features, label: item.label });
      perLabel.set(item.label, (perLabel.get(item.label) ?? 0) + 1);
    }
    for (const [label, count] of perLabel) await adjustCount(ctx, "import", importId, label, count);
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "importLabelledSet",
      details: `"${name}": +${items.length} items (${importItemCount} in this import)`,
    });
    return { importId, added: items.length, importItemCount, labelsUnknownToActive: [...unknownToActive].sort() };
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
    const rows = await ctx.db.query("labelledCounts").collect();
    const active = await activeVersion(ctx);
    const byLabel = new Map<string, { picture: number; import: number }>();
    for (const row of rows) {
      const entry = byLabel.get(row.label) ?? { picture: 0, import: 0 };
      entry[row.source] += row.count;
      byLabel.set(row.label, entry);
    }
    const labels = [...byLabel.entries()]
      .map(([label, counts]) => ({
        label,
        ...counts,
        total: counts.picture + counts.import,
        knownToActive: active?.summary.classes.includes(label) ?? false,
      }))
      .sort((a, b) => a.label.localeCompare(b.label));
    const imports = await ctx.db.query("labelledImports").order("desc").take(500);
    const importers = new Map<Id<"users">, string | null>();
    for (const record of imports) {
      if (!importers.has(record.importedBy)) importers.set(record.importedBy, (await ctx.db.get(record.importedBy))?.email ?? null);
    }
    return {
      total: labels.reduce((sum, entry) => sum + entry.total, 0),
      bySource: {
        picture: labels.reduce((sum, entry) => sum + entry.picture, 0),
        import: labels.reduce((sum, entry) => sum + entry.import, 0),
      },
      labels,
      imports: imports.map((record) => ({
        _id: record._id,
        name: record.name,
        itemCount: record.itemCount,
        importedByEmail: importers.get(record.importedBy) ?? null,
        createdAt: record._creationTime,
      })),
    };
  },
});

/**
 * The import record and its counters go at once, so the set's size and every
 * comparison stop counting its items immediately (`page` skips orphans);
 * the items themselves are deleted in scheduled batches.
 */
async function removeImportNow(ctx: MutationCtx, record: Doc<"labelledImports">, actorId: Id<"users">) {
  const counters = await ctx.db
    .query("labelledCounts")
    .withIndex("by_import_label", (q) => q.eq("importId", record._id))
    .collect();
  for (const counter of counters) await ctx.db.delete(counter._id);
  await ctx.db.delete(record._id);
  await ctx.scheduler.runAfter(0, internal.labelledSet.deleteImportItems, { importId: record._id });
  await writeAudit(ctx, { actorId, action: "removeLabelledImport", details: `"${record.name}": ${record.itemCount} items` });
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
    const imports = await ctx.db.query("labelledImports").take(1000);
    for (const record of imports) await removeImportNow(ctx, record, ctx.caller.userId);
    return { removedImports: imports.length };
  },
});

export const deleteImportItems = internalMutation({
  args: { importId: v.id("labelledImports") },
  returns: v.null(),
  handler: async (ctx, { importId }) => {
    const items = await ctx.db
      .query("labelledItems")
      .withIndex("by_import", (q) => q.eq("importId", importId))
      .take(DELETE_BATCH_SIZE);
    for (const item of items) await ctx.db.delete(item._id);
    if (items.length === DELETE_BATCH_SIZE) await ctx.scheduler.runAfter(0, internal.labelledSet.deleteImportItems, { importId });
    return null;
  },
});

/**
 * Puts a labelled picture's features into the set under its label (or moves
 * it to a new label). A plain helper, called by the labels flow inside its
 * own mutation, so no nested ctx.runMutation re-validates 512 features.
 */
export async function upsertPictureItem(ctx: MutationCtx, pictureId: Id<"pictures">, label: string, features: number[]): Promise<Id<"labelledItems">> {
  const featureProblem = checkFeatures(features, features.length);
  if (featureProblem !== null || features.length === 0) {
    throw new ConvexError(`picture ${pictureId} cannot join the labelled set: ${featureProblem ?? "it has no features"}`);
  }
  const existing = await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).first();
  if (existing !== null) {
    if (existing.label !== label) {
      await adjustCount(ctx, "picture", undefined, existing.label, -1);
      await adjustCount(ctx, "picture", undefined, label, 1);
    }
    await ctx.db.patch(existing._id, { label, features });
    return existing._id;
  }
  await adjustCount(ctx, "picture", undefined, label, 1);
  return ctx.db.insert("labelledItems", { source: "picture", pictureId, features, label });
}

/** Takes a picture out of the set when its label is removed or the picture is deleted. Does nothing if it is not in the set. */
export async function removePictureItems(ctx: MutationCtx, pictureId: Id<"pictures">): Promise<void> {
  const items = await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect();
  for (const item of items) {
    await adjustCount(ctx, "picture", undefined, item.label, -1);
    await ctx.db.delete(item._id);
  }
}

export const upsertFromPicture = internalMutation({
  args: { pictureId: v.id("pictures"), label: v.string(), features: v.array(v.float64()) },
  returns: v.id("labelledItems"),
  handler: async (ctx, { pictureId, label, features }) => upsertPictureItem(ctx, pictureId, label, features),
});

export const removeFromPicture = internalMutation({
  args: { pictureId: v.id("pictures") },
  returns: v.null(),
  handler: async (ctx, { pictureId }) => {
    await removePictureItems(ctx, pictureId);
    return null;
  },
});

/** One page of the set for the actions that evaluate versions; skips items of an import being removed. */
export const page = internalQuery({
  args: { paginationOpts: paginationOptsValidator },
  returns: v.object({
    page: v.array(v.object({ features: v.array(v.float64()), label: v.string(), pictureId: v.union(v.id("pictures"), v.null()) })),
    isDone: v.boolean(),
    continueCursor: v.string(),
  }),
  handler: async (ctx, { paginationOpts }) => {
    const result = await ctx.db.query("labelledItems").paginate(paginationOpts);
    const importExists = new Map<Id<"labelledImports">, boolean>();
    const items = [];
    for (const item of result.page) {
      if (item.importId !== undefined) {
        if (!importExists.has(item.importId)) importExists.set(item.importId, (await ctx.db.get(item.importId)) !== null);
        if (!importExists.get(item.importId)) continue;
      }
      items.push({ features: item.features, label: item.label, pictureId: item.pictureId ?? null });
    }
    return { page: items, isDone: result.isDone, continueCursor: result.continueCursor };
  },
});
