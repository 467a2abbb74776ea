import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { internalAction, internalMutation, internalQuery, type ActionCtx, type DatabaseReader } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, analystQuery } from "./functions";
import { replayFilterValidator, versionRefValidator } from "./schema";
import { writeAudit } from "./audit";
import { classificationSteps } from "./imageClassification";
import type { RunnableVersion } from "./models";
import { mlpForwardBatch, type MlpPrediction } from "./lib/mlpForward";
import { roundProbability } from "./lib/classificationResult";
import { utcDay } from "./lib/days";
import type { MlpModel } from "./lib/weightsFormat";

/*
 * A replay re-scores the stored features of live classifications (each
 * picture's latest, not removed) with another version and keeps the results
 * apart in shadowClassifications. It runs as a chain of scheduled internal
 * actions, one chunk each: a chunk reads a page of classifications, decodes
 * the version once, scores the page as one batch and hands the results and
 * the next cursor to one mutation. A failure leaves the cursor at the last
 * stored chunk, so `resume` redoes only the chunk that failed.
 */

/** Classifications per chunk: 200 × 512 features stay well inside a query's return size and an action's memory. */
export const REPLAY_CHUNK_SIZE = 200;

/** Seams for fault injection in tests, like classificationSteps; production never reassigns them. */
export const replaySteps = {
  loadVersion: (ctx: ActionCtx, versionId: Id<"modelVersions">): Promise<RunnableVersion | null> =>
    ctx.runQuery(internal.models.versionForReplay, { versionId }),
  score: (model: MlpModel, features: Float64Array, count: number): MlpPrediction[] => mlpForwardBatch(model, features, count),
};

const replayStatusValidator = v.union(v.literal("running"), v.literal("done"), v.literal("failed"));
const replaySummaryValidator = v.object({
  _id: v.id("replays"),
  _creationTime: v.number(),
  version: v.union(versionRefValidator, v.null()),
  filter: replayFilterValidator,
  status: replayStatusValidator,
  processed: v.number(),
  /** Estimated from the day counters when started; exact once done. */
  total: v.number(),
  error: v.optional(v.string()),
  startedBy: v.id("users"),
});

export const reclassify = adminMutation({
  args: { versionId: v.id("modelVersions"), filter: replayFilterValidator },
  returns: v.id("replays"),
  handler: async (ctx, { versionId, filter }) => {
    const version = await ctx.db.get(versionId);
    if (version === null) throw new ConvexError(`no model version with id ${versionId}`);
    if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
      throw new ConvexError(`filter.from (${filter.from}) must not be after filter.to (${filter.to})`);
    }
    if (filter.sourceVersionId !== undefined && (await ctx.db.get(filter.sourceVersionId)) === null) {
      throw new ConvexError(`filter.sourceVersionId names no model version (${filter.sourceVersionId})`);
    }
    const replayId = await ctx.db.insert("replays", {
      versionId,
      filter,
      status: "running",
      processed: 0,
      total: await estimateTotal(ctx.db, filter),
      cursor: null,
      startedBy: ctx.caller.userId,
    });
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "startReplay",
      toVersionId: versionId,
      details: `replay ${replayId} of version ${version.number}`,
    });
    await ctx.scheduler.runAfter(0, internal.replay.runChunk, { replayId });
    return replayId;
  },
});

/** Live classifications by day from the counters; whole days, so a filter with times inside a day over-counts. */
async function estimateTotal(db: DatabaseReader, filter: Doc<"replays">["filter"]) {
  const fromDay = filter.from === undefined ? "0000-00-00" : utcDay(filter.from);
  const toDay = filter.to === undefined ? "9999-99-99" : utcDay(filter.to);
  const rows =
    filter.sourceVersionId === undefined
      ? db.query("dailyCounts").withIndex("by_kind_day", (q) => q.eq("kind", "class").gte("day", fromDay).lte("day", toDay))
      : db
          .query("dailyCounts")
          .withIndex("by_version_kind_day", (q) => q.eq("versionId", filter.sourceVersionId!).eq("kind", "class").gte("day", fromDay).lte("day", toDay));
  let total = 0;
  for (const row of await rows.take(20_000)) total += row.count;
  return total;
}

export const resume = adminMutation({
  args: { replayId: v.id("replays") },
  returns: v.null(),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.db.get(replayId);
    if (replay === null) throw new ConvexError(`no replay with id ${replayId}`);
    if (replay.status !== "failed") throw new ConvexError(`replay ${replayId} is ${replay.status}; only a failed replay can be resumed`);
    await ctx.db.patch(replayId, { status: "running", error: undefined });
    await ctx.scheduler.runAfter(0, internal.replay.runChunk, { replayId });
    return null;
  },
});

async function summarize(ctx: { db: DatabaseReader }, replay: Doc<"replays">) {
  const version = await ctx.db.get(replay.versionId);
  return {
    _id: replay._id,
    _creationTime: replay._creationTime,
    version: version === null ? null : { versionId: version._id, number: version.number, name: version.name },
    filter: replay.filter,
    status: replay.status,
    processed: replay.processed,
    total: replay.total,
    error: replay.error,
    startedBy: replay.startedBy,
  };
}

export const status = analystQuery({
  args: { replayId: v.id("replays") },
  returns: v.union(replaySummaryValidator, v.null()),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.db.get(replayId);
    return replay === null ? null : summarize(ctx, replay);
  },
});

export const list = analystQuery({
  args: {},
  returns: v.array(replaySummaryValidator),
  handler: async (ctx) => {
    const replays = await ctx.db.query("replays").order("desc").take(50);
    return Promise.all(replays.map((replay) => summarize(ctx, replay)));
  },
});

export const results = analystQuery({
  args: { replayId: v.id("replays"), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({
      pictureId: v.id("pictures"),
      shadowLabel: v.string(),
      shadowConfidence: v.number(),
      liveLabel: v.union(v.string(), v.null()),
      liveConfidence: v.union(v.number(), v.null()),
      liveVersionNumber: v.union(v.number(), v.null()),
      agrees: v.boolean(),
    }),
  ),
  handler: async (ctx, { replayId, paginationOpts }) => {
    const page = await ctx.db
      .query("shadowClassifications")
      .withIndex("by_replay", (q) => q.eq("replayId", replayId))
      .paginate(paginationOpts);
    const rows = await Promise.all(
      page.page.map(async (shadow) => {
        // The live result compared against is the one that was replayed.
        const live = await ctx.db.get(shadow.sourceClassificationId);
        return {
          pictureId: shadow.pictureId,
          shadowLabel: shadow.label,
          shadowConfidence: roundProbability(shadow.confidence),
          liveLabel: live?.label ?? null,
          liveConfidence: live === null ? null : roundProbability(live.confidence),
          liveVersionNumber: live?.versionNumber ?? null,
          agrees: live !== null && live.label === shadow.label,
        };
      }),
    );
    return { ...page, page: rows };
  },
});

export const getForRun = internalQuery({
  args: { replayId: v.id("replays") },
  handler: async (ctx, { replayId }) => ctx.db.get(replayId),
});

/** One page of classifications matching the filter; only pictures' live ones are returned for scoring. */
export const pageSources = internalQuery({
  args: { filter: replayFilterValidator, cursor: v.union(v.string(), v.null()), numItems: v.number() },
  handler: async (ctx, { filter, cursor, numItems }) => {
    const from = filter.from ?? 0;
    const to = filter.to ?? Number.MAX_SAFE_INTEGER;
    const query =
      filter.sourceVersionId === undefined
        ? ctx.db.query("classifications").withIndex("by_creation_time", (q) => q.gte("_creationTime", from).lte("_creationTime", to))
        : ctx.db
            .query("classifications")
            .withIndex("by_version", (q) => q.eq("versionId", filter.sourceVersionId!).gte("_creationTime", from).lte("_creationTime", to));
    const page = await query.paginate({ cursor, numItems });
    const items = [];
    for (const classification of page.page) {
      const picture = await ctx.db.get(classification.pictureId);
      if (picture === null || picture.deleted === true || picture.latestClassificationId !== classification._id) continue;
      items.push({ classificationId: classification._id, pictureId: classification.pictureId, features: classification.features });
    }
    return { items, continueCursor: page.continueCursor, isDone: page.isDone };
  },
});

export const runChunk = internalAction({
  args: { replayId: v.id("replays") },
  returns: v.null(),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.runQuery(internal.replay.getForRun, { replayId });
    if (replay === null || replay.status !== "running") return null;
    try {
      const page = await ctx.runQuery(internal.replay.pageSources, {
        filter: replay.filter,
        cursor: replay.cursor,
        numItems: REPLAY_CHUNK_SIZE,
      });
      let results: Array<{ classificationId: Id<"classifications">; pictureId: Id<"pictures">; prediction: MlpPrediction }> = [];
      if (page.items.length > 0) {
        const version = await replaySteps.loadVersion(ctx, replay.versionId);
        if (version === null) throw new Error(`model version ${replay.versionId} no longer exists`);
        // The same checks as live classification, the sha256 included.
        const model = await classificationSteps.decode(await classificationSteps.readWeights(ctx, version), version);
        const dim = version.summary.input.dim;
        // Float64 like the live path, so replaying with the live version reproduces its probabilities exactly.
        const features = new Float64Array(page.items.length * dim);
        page.items.forEach((item, i) => {
          if (item.features.length !== dim) {
            throw new Error(`classification ${item.classificationId} has ${item.features.length} features but version ${version.number} takes ${dim}`);
          }
          features.set(item.features, i * dim);
        });
        const predictions = replaySteps.score(model, features, page.items.length);
        results = page.items.map((item, i) => ({ classificationId: item.classificationId, pictureId: item.pictureId, prediction: predictions[i] }));
      }
      await ctx.runMutation(internal.replay.storeChunk, {
        replayId,
        expectedCursor: replay.cursor,
        nextCursor: page.isDone ? null : page.continueCursor,
        done: page.isDone,
        results: results.map(({ classificationId, pictureId, prediction }) => ({
          sourceClassificationId: classificationId,
          pictureId,
          probabilities: prediction.probabilities,
          labelIndex: prediction.labelIndex,
          label: prediction.label,
          confidence: prediction.confidence,
        })),
      });
    } catch (error) {
      await ctx.runMutation(internal.replay.markFailed, { replayId, error: error instanceof Error ? error.message : String(error) });
    }
    return null;
  },
});

export const storeChunk = internalMutation({
  args: {
    replayId: v.id("replays"),
    expectedCursor: v.union(v.string(), v.null()),
    nextCursor: v.union(v.string(), v.null()),
    done: v.boolean(),
    results: v.array(
      v.object({
        sourceClassificationId: v.id("classifications"),
        pictureId: v.id("pictures"),
        probabilities: v.array(v.float64()),
        labelIndex: v.number(),
        label: v.string(),
        confidence: v.number(),
      }),
    ),
  },
  returns: v.null(),
  handler: async (ctx, { replayId, expectedCursor, nextCursor, done, results }) => {
    const replay = await ctx.db.get(replayId);
    // A chunk that lost a race (a resume started a second chain at the same cursor) stores nothing.
    if (replay === null || replay.status !== "running" || replay.cursor !== expectedCursor) return null;
    for (const result of results) {
      const existing = await ctx.db
        .query("shadowClassifications")
        .withIndex("by_replay_picture", (q) => q.eq("replayId", replayId).eq("pictureId", result.pictureId))
        .unique();
      const shadow = { replayId, versionId: replay.versionId, ...result };
      if (existing === null) await ctx.db.insert("shadowClassifications", shadow);
      else await ctx.db.replace(existing._id, shadow);
    }
    const processed = replay.processed + results.length;
    if (done) {
      await ctx.db.patch(replayId, { status: "done", processed, total: processed, cursor: null });
    } else {
      await ctx.db.patch(replayId, { processed, cursor: nextCursor });
      await ctx.scheduler.runAfter(0, internal.replay.runChunk, { replayId });
    }
    return null;
  },
});

export const markFailed = internalMutation({
  args: { replayId: v.id("replays"), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { replayId, error }) => {
    const replay = await ctx.db.get(replayId);
    if (replay !== null && replay.status === "running") await ctx.db.patch(replayId, { status: "failed", error });
    return null;
  },
});
