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
import { internalQuery, type MutationCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, labellerMutation, labellerQuery, viewerQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { adjustLabelledCount } from "./model/labelledSet";
import { setPictureLabel } from "./model/labels";
import { loadActiveVersion } from "./model/deployment";
import { toPictureSummary } from "./model/pictures";
import { latestDoneRun, MAX_EXCLUDED_SUSPECTS, MAX_STORED_SUSPECTS, scheduleSuspectStep, SUSPECT_FOLDS } from "./model/suspects";
import { toVersionRef } from "./model/versions";
import {
  labelledSourceValidator,
  pictureSummaryValidator,
  replayStatusValidator,
  suspectMethodValidator,
  versionRefValidator,
} from "./lib/shapes";

const MAX_LISTED_SUSPECTS = 100;

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
    await ctx.db.patch(runId, await scheduleSuspectStep(ctx, runId, "fold"));
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "findSuspects",
      details: method === "kfold" ? `k-fold (${SUSPECT_FOLDS} folds) over ${itemCount} items` : `averaging ${versionIds.length} versions over ${itemCount} items`,
    });
    return runId;
  },
});

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
      source: labelledSourceValidator,
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
