/**
 * The suspect-label search itself, one scheduled step at a time (started by
 * suspects.start): one action per fold (k-fold) or one for the version
 * average, then `finish` pools the out-of-sample probabilities, applies
 * confident learning and stores the flagged items. A cron marks a search
 * whose chain broke as failed.
 */
import { ConvexError, v } from "convex/values";
import { internalAction, internalMutation, internalQuery, type ActionCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Id } from "./_generated/dataModel";
import { streamLabelledSet } from "./model/evaluation";
import { foldOfItem, MAX_STORED_SUSPECTS, scheduleSuspectStep, SUSPECT_INTERRUPTED_MESSAGE, SUSPECT_STALL_MS } from "./model/suspects";
import { hasChainBroken } from "./model/scheduledChains";
import type { RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { errorSentence } from "./lib/errorMessage";
import { averageVersionProbabilities, findSuspectLabels } from "./lib/labelErrors";
import { mlpForwardBatch } from "./lib/mlpForward";
import { replayStatusValidator, suspectMethodValidator } from "./lib/shapes";
import { predictRows, trainSoftmax } from "./lib/softmaxRegression";
import { versionLabel } from "./lib/versionLabel";

const SUSPECTS_PER_WRITE = 250;

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
      const run = await ctx.runQuery(internal.suspectSearch.runForStep, { runId });
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
        await ctx.runMutation(internal.suspectSearch.storeFold, {
          runId,
          fold,
          itemIds: itemIds.slice(start, start + 4000),
          probabilities: bytes.slice(start * k * 4, (start + 4000) * k * 4),
          last: start + 4000 >= itemIds.length,
        });
      }
      if (itemIds.length === 0) await ctx.runMutation(internal.suspectSearch.storeFold, { runId, fold, itemIds: [], probabilities: new ArrayBuffer(0), last: true });
    } catch (error) {
      await ctx.runMutation(internal.suspectSearch.markFailed, { runId, error: errorSentence(error) });
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
    const next = foldsDone < run.folds ? await scheduleSuspectStep(ctx, runId, "fold", fold + 1) : await scheduleSuspectStep(ctx, runId, "finish");
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
      const run = await ctx.runQuery(internal.suspectSearch.runForStep, { runId });
      if (run === null || run.status !== "running") return null;
      const k = run.classes.length;
      const folds = await ctx.runQuery(internal.suspectSearch.foldsOf, { runId });
      const itemIds = folds.flatMap((fold) => fold.itemIds);
      const probabilities = new Float64Array(itemIds.length * k);
      let offset = 0;
      for (const fold of folds) {
        probabilities.set(new Float32Array(fold.probabilities), offset);
        offset += fold.itemIds.length * k;
      }
      // Labels as they are now: an item relabelled while the folds ran is judged under its new label.
      const current: Array<{ label: string; pictureId: Id<"pictures"> | null } | null> = [];
      for (let start = 0; start < itemIds.length; start += 4000) current.push(...(await ctx.runQuery(internal.suspectSearch.labelsOfItems, { itemIds: itemIds.slice(start, start + 4000) })));
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
        await ctx.runMutation(internal.suspectSearch.storeSuspects, { runId, suspects: flagged.slice(start, start + SUSPECTS_PER_WRITE) });
      }
      await ctx.runMutation(internal.suspectSearch.close, { runId, flaggedCount: report.suspects.length, itemCount: kept.length });
    } catch (error) {
      await ctx.runMutation(internal.suspectSearch.markFailed, { runId, error: errorSentence(error) });
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

/** Run by the cron in crons.ts: a search whose chain broke is marked failed, so a new one can start. */
export const recoverStalled = internalMutation({
  args: {},
  returns: v.object({ markedFailed: v.number() }),
  handler: async (ctx) => {
    const running = await ctx.db.query("suspectRuns").withIndex("by_status", (q) => q.eq("status", "running")).take(10);
    let markedFailed = 0;
    for (const run of running) {
      if (!(await hasChainBroken(ctx.db, run, SUSPECT_STALL_MS))) continue;
      await ctx.db.patch(run._id, { status: "failed", error: SUSPECT_INTERRUPTED_MESSAGE, jobId: undefined, updatedAt: Date.now() });
      markedFailed += 1;
    }
    return { markedFailed };
  },
});
