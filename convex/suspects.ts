/**
 * Suspect labels: items of the labelled set that are likely mislabelled, by
 * confident learning (convex/lib/labelErrors.ts) over out-of-sample
 * probabilities. Two ways to get them:
 *
 * - kfold: a small softmax head is trained on the set's own features, one
 *   fold per scheduled action (each loads the set, trains on the other
 *   folds and scores its own; an item's fold comes from a hash of its id,
 *   so it is the same in every action whatever the page order), then one
 *   action pools the folds, flags items and stores them;
 * - versions: the registered versions that share the classes score every
 *   item and their outputs are averaged (no training, but in-sample for
 *   items those versions learned from: the run says so).
 *
 * A labeller works through the flagged items, keeping a label or fixing it;
 * both are audited. Comparisons report how many flagged items the set holds
 * and the headline figures without them.
 */
import { ConvexError, v } from "convex/values";
import { internalAction, internalMutation, internalQuery, type ActionCtx, type MutationCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, labellerMutation, labellerQuery, viewerQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { streamLabelledSet } from "./model/evaluation";
import { adjustLabelledCount } from "./model/labelledSet";
import { setPictureLabel } from "./model/labels";
import { loadActiveVersion } from "./model/deployment";
import { toPictureSummary } from "./model/pictures";
import { toVersionRef, type RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { averageVersionProbabilities, findSuspectLabels } from "./lib/labelErrors";
import { mlpForwardBatch } from "./lib/mlpForward";
import { pictureSummaryValidator, replayStatusValidator, suspectMethodValidator, versionRefValidator } from "./lib/shapes";
import { predictRows, trainSoftmax } from "./lib/softmaxRegression";
import { versionLabel } from "./lib/versionLabel";

export const SUSPECT_FOLDS = 5;
/** Flagged items stored per run at most (the worst first); a set with more wrong labels than this needs relabelling, not a queue. */
export const MAX_STORED_SUSPECTS = 2000;
const SUSPECTS_PER_WRITE = 250;
const MAX_LISTED_SUSPECTS = 100;
/** Open flagged items a comparison leaves out at most (an argument array stays under Convex's 8,192). */
export const MAX_EXCLUDED_SUSPECTS = 8000;

/** Fold of an item: FNV-1a of its id, so every fold action assigns it the same fold whatever the order it reads the set in. */
export function foldOfItem(itemId: string, folds: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < itemId.length; i++) {
    hash ^= itemId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % folds;
}

function messageOf(error: unknown): string {
  if (error instanceof ConvexError && typeof error.data === "string") return error.data;
  return error instanceof Error ? error.message : String(error);
}

async function schedule(ctx: MutationCtx, runId: Id<"suspectRuns">, step: "fold" | "finish", fold = 0) {
  const jobId =
    step === "fold"
      ? await ctx.scheduler.runAfter(0, internal.suspects.runFold, { runId, fold })
      : await ctx.scheduler.runAfter(0, internal.suspects.finish, { runId });
  return { jobId, updatedAt: Date.now() };
}

export const start = adminMutation({
  args: { method: suspectMethodValidator },
  returns: v.id("suspectRuns"),
  handler: async (ctx, { method }) => {
    const running = await ctx.db.query("suspectRuns").withIndex("by_status", (q) => q.eq("status", "running")).first();
    if (running !== null) throw new ConvexError("A search for suspect labels is already running: wait for it to finish.");
    const counts = await ctx.db.query("labelledCounts").take(10_000);
    const itemCount = counts.reduce((sum, row) => sum + row.count, 0);
    let classes = [...new Set(counts.map((row) => row.label))].sort();
    let versionIds: Id<"modelVersions">[] = [];
    if (method === "versions") {
      const active = await loadActiveVersion(ctx);
      if (active === null) throw new ConvexError("No version is active, so there are no classes to compare versions on: activate one, or use k-fold training.");
      const wanted = [...active.summary.classes].sort().join("\n");
      const versions = (await ctx.db.query("modelVersions").take(500)).filter(
        (version) => version.status === "ready" && [...version.summary.classes].sort().join("\n") === wanted && version.summary.input.dim === active.summary.input.dim,
      );
      classes = [...active.summary.classes];
      versionIds = versions.map((version) => version._id);
    }
    const labelledInClasses = counts.filter((row) => classes.includes(row.label)).reduce((sum, row) => sum + row.count, 0);
    if (classes.length < 2 || labelledInClasses < SUSPECT_FOLDS * classes.length) {
      throw new ConvexError(
        `The labelled set has ${labelledInClasses} items in ${classes.length} classes; looking for wrong labels needs at least 2 classes and ${SUSPECT_FOLDS} items per class. Import or label more pictures first.`,
      );
    }
    const runId = await ctx.db.insert("suspectRuns", {
      method,
      status: "running",
      classes,
      folds: method === "kfold" ? SUSPECT_FOLDS : 1,
      foldsDone: 0,
      versionIds,
      itemCount,
      startedBy: ctx.caller.userId,
      updatedAt: Date.now(),
    });
    await ctx.db.patch(runId, await schedule(ctx, runId, "fold"));
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "findSuspects",
      details: method === "kfold" ? `k-fold (${SUSPECT_FOLDS} folds) over ${itemCount} items` : `averaging ${versionIds.length} versions over ${itemCount} items`,
    });
    return runId;
  },
});

const runDocValidator = v.object({
  _id: v.id("suspectRuns"),
  method: suspectMethodValidator,
  status: replayStatusValidator,
  classes: v.array(v.string()),
  folds: v.number(),
  versionIds: v.array(v.id("modelVersions")),
  itemCount: v.number(),
});

export const runForStep = internalQuery({
  args: { runId: v.id("suspectRuns") },
  returns: v.union(runDocValidator, v.null()),
  handler: async (ctx, { runId }) => {
    const run = await ctx.db.get(runId);
    return run === null
      ? null
      : { _id: run._id, method: run.method, status: run.status, classes: run.classes, folds: run.folds, versionIds: run.versionIds, itemCount: run.itemCount };
  },
});

interface LoadedSet {
  itemIds: Id<"labelledItems">[];
  labels: Int32Array;
  features: Float32Array;
  count: number;
  dim: number;
}

/** The whole set as one Float32Array (20,000 × 512 is 41 MB, inside an action's 64 MiB), skipping labels outside `classes`. */
async function loadSet(ctx: ActionCtx, classes: readonly string[], dim: number, expected: number): Promise<LoadedSet> {
  const classIndex = new Map(classes.map((name, index) => [name, index]));
  let capacity = Math.max(expected, 256);
  let features = new Float32Array(capacity * dim);
  let labels = new Int32Array(capacity);
  const itemIds: Id<"labelledItems">[] = [];
  await streamLabelledSet(ctx, dim, (page) => {
    for (let i = 0; i < page.count; i++) {
      const label = classIndex.get(page.labels[i]);
      if (label === undefined) continue;
      if (itemIds.length === capacity) {
        capacity *= 2;
        const grown = new Float32Array(capacity * dim);
        grown.set(features);
        features = grown;
        const grownLabels = new Int32Array(capacity);
        grownLabels.set(labels);
        labels = grownLabels;
      }
      features.set(page.features.subarray(i * dim, (i + 1) * dim), itemIds.length * dim);
      labels[itemIds.length] = label;
      itemIds.push(page.itemIds[i]);
    }
  });
  return { itemIds, labels: labels.subarray(0, itemIds.length), features: features.subarray(0, itemIds.length * dim), count: itemIds.length, dim };
}

async function featureDim(ctx: ActionCtx): Promise<number> {
  return (await ctx.runQuery(internal.settings.getInternal, {})).featureDim;
}

/** One fold (k-fold) or the whole averaging (versions): out-of-sample probabilities for some items, stored for `finish`. */
export const runFold = internalAction({
  args: { runId: v.id("suspectRuns"), fold: v.number() },
  returns: v.null(),
  handler: async (ctx, { runId, fold }) => {
    try {
      const run = await ctx.runQuery(internal.suspects.runForStep, { runId });
      if (run === null || run.status !== "running") return null;
      const k = run.classes.length;
      let itemIds: Id<"labelledItems">[];
      let probabilities: Float64Array;
      if (run.method === "kfold") {
        const set = await loadSet(ctx, run.classes, await featureDim(ctx), run.itemCount);
        const foldOf = Int32Array.from(set.itemIds, (id) => foldOfItem(id, run.folds));
        const trainRows: number[] = [];
        const heldRows: number[] = [];
        foldOf.forEach((assigned, row) => (assigned === fold ? heldRows : trainRows).push(row));
        const { model } = trainSoftmax(set.features, set.dim, set.labels, k, Int32Array.from(trainRows));
        itemIds = heldRows.map((row) => set.itemIds[row]);
        probabilities = predictRows(model, set.features, Int32Array.from(heldRows));
      } else {
        const versions: RunnableVersion[] = [];
        for (const versionId of run.versionIds) {
          const version: RunnableVersion | null = await ctx.runQuery(internal.models.runnable, { versionId });
          if (version !== null) versions.push(version);
        }
        if (versions.length === 0) throw new ConvexError("None of the versions this search averages exists any more.");
        const models = await Promise.all(versions.map((version) => loadVersionModel(ctx, version)));
        const set = await loadSet(ctx, run.classes, models[0].input.dim, run.itemCount);
        const perVersion = models.map((model) => {
          const outputs = mlpForwardBatch(model, set.features, set.count);
          const flat = new Float64Array(set.count * model.classes.length);
          outputs.forEach((output, row) => flat.set(output.probabilities, row * model.classes.length));
          return flat;
        });
        itemIds = set.itemIds;
        probabilities = averageVersionProbabilities(
          versions.map((version, i) => ({ version: versionLabel(version), classes: version.summary.classes, probabilities: perVersion[i] })),
          run.classes,
          set.count,
        );
      }
      // float32 is plenty for probabilities and keeps a fold of 4,000 items × 12 classes at 192 KB.
      const bytes = Float32Array.from(probabilities).buffer;
      for (let start = 0; start < itemIds.length; start += 4000) {
        await ctx.runMutation(internal.suspects.storeFold, {
          runId,
          fold,
          itemIds: itemIds.slice(start, start + 4000),
          probabilities: bytes.slice(start * k * 4, (start + 4000) * k * 4),
          last: start + 4000 >= itemIds.length,
        });
      }
      if (itemIds.length === 0) await ctx.runMutation(internal.suspects.storeFold, { runId, fold, itemIds: [], probabilities: new ArrayBuffer(0), last: true });
    } catch (error) {
      await ctx.runMutation(internal.suspects.markFailed, { runId, error: messageOf(error) });
    }
    return null;
  },
});

export const storeFold = internalMutation({
  args: { runId: v.id("suspectRuns"), fold: v.number(), itemIds: v.array(v.id("labelledItems")), probabilities: v.bytes(), last: v.boolean() },
  returns: v.null(),
  handler: async (ctx, { runId, fold, itemIds, probabilities, last }) => {
    const run = await ctx.db.get(runId);
    if (run === null || run.status !== "running") return null;
    if (itemIds.length > 0) await ctx.db.insert("suspectFolds", { runId, fold, itemIds, probabilities });
    if (!last) return null;
    const foldsDone = run.foldsDone + 1;
    const next = foldsDone < run.folds ? await schedule(ctx, runId, "fold", fold + 1) : await schedule(ctx, runId, "finish");
    await ctx.db.patch(runId, { foldsDone, ...next });
    return null;
  },
});

export const foldsOf = internalQuery({
  args: { runId: v.id("suspectRuns") },
  returns: v.array(v.object({ itemIds: v.array(v.id("labelledItems")), probabilities: v.bytes() })),
  handler: async (ctx, { runId }) => {
    const folds = await ctx.db.query("suspectFolds").withIndex("by_run", (q) => q.eq("runId", runId)).take(100);
    return folds.map((fold) => ({ itemIds: fold.itemIds, probabilities: fold.probabilities }));
  },
});

export const labelsOfItems = internalQuery({
  args: { itemIds: v.array(v.id("labelledItems")) },
  returns: v.array(v.union(v.null(), v.object({ label: v.string(), pictureId: v.union(v.id("pictures"), v.null()) }))),
  handler: async (ctx, { itemIds }) =>
    Promise.all(
      itemIds.map(async (itemId) => {
        const item = await ctx.db.get(itemId);
        return item === null ? null : { label: item.label, pictureId: item.pictureId ?? null };
      }),
    ),
});

/** Pools the folds, applies confident learning, stores the flagged items (worst first) and closes the run. */
export const finish = internalAction({
  args: { runId: v.id("suspectRuns") },
  returns: v.null(),
  handler: async (ctx, { runId }) => {
    try {
      const run = await ctx.runQuery(internal.suspects.runForStep, { runId });
      if (run === null || run.status !== "running") return null;
      const k = run.classes.length;
      const folds = await ctx.runQuery(internal.suspects.foldsOf, { runId });
      const itemIds = folds.flatMap((fold) => fold.itemIds);
      const probabilities = new Float64Array(itemIds.length * k);
      let offset = 0;
      for (const fold of folds) {
        probabilities.set(new Float32Array(fold.probabilities), offset);
        offset += fold.itemIds.length * k;
      }
      // Labels as they are now: an item relabelled while the folds ran is judged under its new label.
      const current: Array<{ label: string; pictureId: Id<"pictures"> | null } | null> = [];
      for (let start = 0; start < itemIds.length; start += 4000) current.push(...(await ctx.runQuery(internal.suspects.labelsOfItems, { itemIds: itemIds.slice(start, start + 4000) })));
      const classIndex = new Map(run.classes.map((name, index) => [name, index]));
      const kept: number[] = [];
      current.forEach((item, row) => {
        if (item !== null && classIndex.has(item.label)) kept.push(row);
      });
      const keptProbabilities = new Float64Array(kept.length * k);
      kept.forEach((row, i) => keptProbabilities.set(probabilities.subarray(row * k, (row + 1) * k), i * k));
      const labels = Int32Array.from(kept, (row) => classIndex.get(current[row]!.label)!);
      const report = findSuspectLabels(keptProbabilities, labels, k, run.method === "kfold" ? "out-of-fold" : "version-average");
      const flagged = report.suspects.slice(0, MAX_STORED_SUSPECTS).map((suspect) => {
        const row = kept[suspect.index];
        return {
          itemId: itemIds[row],
          pictureId: current[row]!.pictureId,
          givenLabel: run.classes[suspect.givenLabel],
          suspectedLabel: run.classes[suspect.suspectedLabel],
          score: suspect.score,
        };
      });
      for (let start = 0; start < flagged.length; start += SUSPECTS_PER_WRITE) {
        await ctx.runMutation(internal.suspects.storeSuspects, { runId, suspects: flagged.slice(start, start + SUSPECTS_PER_WRITE) });
      }
      await ctx.runMutation(internal.suspects.close, { runId, flaggedCount: report.suspects.length, itemCount: kept.length });
    } catch (error) {
      await ctx.runMutation(internal.suspects.markFailed, { runId, error: messageOf(error) });
    }
    return null;
  },
});

export const storeSuspects = internalMutation({
  args: {
    runId: v.id("suspectRuns"),
    suspects: v.array(
      v.object({ itemId: v.id("labelledItems"), pictureId: v.union(v.id("pictures"), v.null()), givenLabel: v.string(), suspectedLabel: v.string(), score: v.number() }),
    ),
  },
  returns: v.null(),
  handler: async (ctx, { runId, suspects }) => {
    for (const { pictureId, ...suspect } of suspects) {
      await ctx.db.insert("suspects", { runId, ...suspect, ...(pictureId === null ? {} : { pictureId }), status: "open" });
    }
    return null;
  },
});

export const close = internalMutation({
  args: { runId: v.id("suspectRuns"), flaggedCount: v.number(), itemCount: v.number() },
  returns: v.null(),
  handler: async (ctx, { runId, flaggedCount, itemCount }) => {
    const run = await ctx.db.get(runId);
    if (run === null || run.status !== "running") return null;
    await ctx.db.patch(runId, { status: "done", flaggedCount, itemCount, jobId: undefined, updatedAt: Date.now() });
    const folds = await ctx.db.query("suspectFolds").withIndex("by_run", (q) => q.eq("runId", runId)).take(100);
    for (const fold of folds) await ctx.db.delete(fold._id);
    return null;
  },
});

export const markFailed = internalMutation({
  args: { runId: v.id("suspectRuns"), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { runId, error }) => {
    const run = await ctx.db.get(runId);
    if (run !== null && run.status === "running") await ctx.db.patch(runId, { status: "failed", error, jobId: undefined, updatedAt: Date.now() });
    return null;
  },
});

/** A running search whose step has not reported for this long is checked against its scheduled job. */
export const SUSPECT_STALL_MS = 10 * 60_000;
export const SUSPECT_INTERRUPTED_MESSAGE = "the search stopped mid-way (a step ended without handing over, e.g. a server restart): start it again";

/** Run by the cron in crons.ts: a search whose chain broke is marked failed, so a new one can start. */
export const recoverStalled = internalMutation({
  args: {},
  returns: v.object({ markedFailed: v.number() }),
  handler: async (ctx) => {
    const running = await ctx.db.query("suspectRuns").withIndex("by_status", (q) => q.eq("status", "running")).take(10);
    let markedFailed = 0;
    for (const run of running) {
      if (run.updatedAt > Date.now() - SUSPECT_STALL_MS) continue;
      const job = run.jobId === undefined ? null : await ctx.db.system.get(run.jobId);
      if (job !== null && (job.state.kind === "pending" || job.state.kind === "inProgress")) continue;
      await ctx.db.patch(run._id, { status: "failed", error: SUSPECT_INTERRUPTED_MESSAGE, jobId: undefined, updatedAt: Date.now() });
      markedFailed += 1;
    }
    return { markedFailed };
  },
});

/** The latest finished run: the one whose flagged items the queue and comparisons use. */
async function latestDoneRun(ctx: Parameters<typeof toPictureSummary>[0]): Promise<Doc<"suspectRuns"> | null> {
  return ctx.db.query("suspectRuns").withIndex("by_status", (q) => q.eq("status", "done")).order("desc").first();
}

const runSummaryValidator = v.object({
  _id: v.id("suspectRuns"),
  _creationTime: v.number(),
  method: suspectMethodValidator,
  status: replayStatusValidator,
  folds: v.number(),
  foldsDone: v.number(),
  classes: v.array(v.string()),
  versions: v.array(versionRefValidator),
  itemCount: v.number(),
  flaggedCount: v.union(v.number(), v.null()),
  openCount: v.number(),
  error: v.union(v.string(), v.null()),
});

/** The newest run (running, done or failed) and the latest finished one with how many of its items are still open. */
export const status = viewerQuery({
  args: {},
  returns: v.object({ latest: v.union(runSummaryValidator, v.null()), done: v.union(runSummaryValidator, v.null()) }),
  handler: async (ctx) => {
    const latest = await ctx.db.query("suspectRuns").order("desc").first();
    const done = await latestDoneRun(ctx);
    const summarize = async (run: Doc<"suspectRuns"> | null) => {
      if (run === null) return null;
      const versions = [];
      for (const versionId of run.versionIds) {
        const version = await ctx.db.get(versionId);
        if (version !== null) versions.push(toVersionRef(version));
      }
      const open = await ctx.db
        .query("suspects")
        .withIndex("by_run_status_score", (q) => q.eq("runId", run._id).eq("status", "open"))
        .take(MAX_STORED_SUSPECTS + 1);
      return {
        _id: run._id,
        _creationTime: run._creationTime,
        method: run.method,
        status: run.status,
        folds: run.folds,
        foldsDone: run.foldsDone,
        classes: run.classes,
        versions,
        itemCount: run.itemCount,
        flaggedCount: run.flaggedCount ?? null,
        openCount: open.length,
        error: run.error ?? null,
      };
    };
    return { latest: await summarize(latest), done: await summarize(done) };
  },
});

/** The open flagged items of the latest finished run, most suspicious first, with their picture when they came from one. */
export const queue = labellerQuery({
  args: { limit: v.number() },
  returns: v.array(
    v.object({
      _id: v.id("suspects"),
      givenLabel: v.string(),
      suspectedLabel: v.string(),
      score: v.number(),
      source: v.union(v.literal("picture"), v.literal("import")),
      picture: v.union(pictureSummaryValidator, v.null()),
      /** The classes a fix may choose from: the run's classes. */
      classes: v.array(v.string()),
    }),
  ),
  handler: async (ctx, { limit }) => {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LISTED_SUSPECTS) {
      throw new ConvexError(`The suspect queue shows 1 to ${MAX_LISTED_SUSPECTS} items, not ${limit}.`);
    }
    const run = await latestDoneRun(ctx);
    if (run === null) return [];
    const open = await ctx.db
      .query("suspects")
      .withIndex("by_run_status_score", (q) => q.eq("runId", run._id).eq("status", "open"))
      .order("desc")
      .take(limit);
    const rows = [];
    for (const suspect of open) {
      const picture = suspect.pictureId === undefined ? null : await ctx.db.get(suspect.pictureId);
      rows.push({
        _id: suspect._id,
        givenLabel: suspect.givenLabel,
        suspectedLabel: suspect.suspectedLabel,
        score: suspect.score,
        source: suspect.pictureId === undefined ? ("import" as const) : ("picture" as const),
        picture: picture === null || picture.deleted === true ? null : await toPictureSummary(ctx, picture),
        classes: run.classes,
      });
    }
    return rows;
  },
});

async function requireOpenSuspect(ctx: MutationCtx, suspectId: Id<"suspects">): Promise<Doc<"suspects">> {
  const suspect = await ctx.db.get(suspectId);
  if (suspect === null) throw new ConvexError("This flagged item no longer exists: a newer search replaced it. Reload the queue.");
  if (suspect.status !== "open") throw new ConvexError(`This flagged item was already ${suspect.status === "kept" ? "kept" : "fixed"}.`);
  return suspect;
}

/** The given label is right after all: the item stays as it is and leaves the queue. */
export const keep = labellerMutation({
  args: { suspectId: v.id("suspects") },
  returns: v.null(),
  handler: async (ctx, { suspectId }) => {
    const suspect = await requireOpenSuspect(ctx, suspectId);
    await ctx.db.patch(suspectId, { status: "kept", resolvedBy: ctx.caller.userId });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "keepSuspectLabel", details: `labelled item ${suspect.itemId}: kept "${suspect.givenLabel}" (suspected "${suspect.suspectedLabel}")` });
    return null;
  },
});

/** The label was wrong: the item (and its picture's label, for a picture) takes the new one. */
export const fix = labellerMutation({
  args: { suspectId: v.id("suspects"), label: v.string() },
  returns: v.null(),
  handler: async (ctx, { suspectId, label }) => {
    const suspect = await requireOpenSuspect(ctx, suspectId);
    const run = await ctx.db.get(suspect.runId);
    if (run !== null && !run.classes.includes(label)) throw new ConvexError(`"${label}" is not one of the set's classes: ${run.classes.join(", ")}.`);
    const item = await ctx.db.get(suspect.itemId);
    if (item === null) throw new ConvexError("This item has left the labelled set since it was flagged; nothing to fix.");
    if (item.pictureId !== undefined) {
      await setPictureLabel(ctx, ctx.caller, item.pictureId, label);
    } else if (item.label !== label) {
      await adjustLabelledCount(ctx, "import", item.importId, item.label, -1);
      await adjustLabelledCount(ctx, "import", item.importId, label, 1);
      await ctx.db.patch(item._id, { label });
    }
    await ctx.db.patch(suspectId, { status: "fixed", resolvedBy: ctx.caller.userId });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "fixSuspectLabel", details: `labelled item ${item._id}${item.pictureId ? ` (picture ${item.pictureId})` : ""}: "${item.label}" → "${label}"` });
    return null;
  },
});

/** For comparisons: the open flagged items of the latest finished run. */
export const openItemIds = internalQuery({
  args: {},
  returns: v.object({ runId: v.union(v.id("suspectRuns"), v.null()), itemIds: v.array(v.id("labelledItems")) }),
  handler: async (ctx) => {
    const run = await latestDoneRun(ctx);
    if (run === null) return { runId: null, itemIds: [] };
    const open = await ctx.db
      .query("suspects")
      .withIndex("by_run_status_score", (q) => q.eq("runId", run._id).eq("status", "open"))
      .take(MAX_EXCLUDED_SUSPECTS);
    return { runId: run._id, itemIds: open.map((suspect) => suspect.itemId) };
  },
});
