/**
 * A replay re-scores the stored features of live classifications (each
 * picture's current one) with another version and keeps the results apart
 * in shadowClassifications. It runs as a chain of scheduled internal
 * actions, one chunk each: a chunk reads a page of classifications with
 * their features, loads the version once, scores the page as one batch and
 * hands the results and the next cursor to one mutation, which schedules
 * the next chunk and records its job. A failure leaves the cursor at the
 * last stored chunk, so `resume` redoes only the chunk that failed; a chain
 * that broke without a word (a chunk killed by memory, time or a restart:
 * scheduled actions are not retried) is found by the cron and marked
 * failed, so it can be resumed too.
 */
import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { internalAction, internalMutation, internalQuery, type DatabaseReader, type MutationCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminMutation, analystQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { hasChainBroken, isChainAlive } from "./model/scheduledChains";
import { loadSettings } from "./model/settings";
import { requireVersion, toVersionRef, type RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { roundProbability } from "./lib/classificationResult";
import { resolveDayRange, splitIntoMonths, utcDay } from "./lib/days";
import { errorSentence } from "./lib/errorMessage";
import { decodeFeatures } from "./lib/features";
import { mlpForwardBatch, type MlpPrediction } from "./lib/mlpForward";
import { replayFilterValidator, replayStatusValidator, versionRefValidator } from "./lib/shapes";
import { describeInputMismatch } from "./lib/versionChecks";
import { versionLabel } from "./lib/versionLabel";
import type { MlpModel } from "./lib/weightsFormat";

/** Classifications per chunk: 200 × (classification + 2 KB of features) per query, well inside an action's memory. */
export const REPLAY_CHUNK_SIZE = 200;
/** A running replay whose chunk has not reported for this long is checked against its scheduled job. */
export const REPLAY_STALL_MS = 5 * 60_000;
export const REPLAY_INTERRUPTED_MESSAGE = "the replay stopped mid-way (a chunk ended without handing over to the next, e.g. a server restart): resume it";

/** Seam for fault injection in tests (a failing forward pass); weights faults go through model/weights.ts. Production never reassigns it. */
export const replaySteps = {
  score: (model: MlpModel, features: ArrayLike<number>, count: number): MlpPrediction[] => mlpForwardBatch(model, features, count),
};

const replaySummaryValidator = v.object({
  _id: v.id("replays"),
  _creationTime: v.number(),
  version: v.union(versionRefValidator, v.null()),
  filter: replayFilterValidator,
  status: replayStatusValidator,
  processed: v.number(),
  /** Estimated from the counters when started; exact once done. */
  total: v.number(),
  error: v.optional(v.string()),
  startedBy: v.id("users"),
  /** Why the version's results mean little for these features (another CLIP model), or null. */
  inputMismatch: v.union(v.string(), v.null()),
});

async function scheduleChunk(ctx: MutationCtx, replayId: Id<"replays">): Promise<Partial<Doc<"replays">>> {
  const jobId = await ctx.scheduler.runAfter(0, internal.replays.runChunk, { replayId });
  return { jobId, updatedAt: Date.now() };
}

export const start = adminMutation({
  args: { versionId: v.id("modelVersions"), filter: replayFilterValidator },
  returns: v.id("replays"),
  handler: async (ctx, { versionId, filter }) => {
    const version = await requireVersion(ctx, versionId);
    if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) {
      throw new ConvexError(`The date range is reversed: from ${new Date(filter.from).toISOString()} is after to ${new Date(filter.to).toISOString()}.`);
    }
    if (filter.sourceVersionId !== undefined && (await ctx.db.get(filter.sourceVersionId)) === null) {
      throw new ConvexError(`The source version filter names no model version (${filter.sourceVersionId}).`);
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
    await ctx.db.patch(replayId, await scheduleChunk(ctx, replayId));
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "startReplay", toVersionId: versionId, details: `replay ${replayId} with ${versionLabel(version)}` });
    return replayId;
  },
});

/** The latest day a replay filter's bounds are read as (Convex timestamps are far earlier). */
const LAST_ESTIMATED_DAY_MS = Date.UTC(9999, 11, 31);
/** Counter rows one estimate reads at most: a year is about 12 months × the classes. */
const MAX_ESTIMATE_ROWS = 20_000;

/**
 * Live classifications from the counters: whole months from the monthly
 * rows, the partial months at either end from the daily ones (as the
 * charts read them), so a year costs months × classes rows, not days ×
 * classes. Whole days, so a filter with times inside a day over-counts.
 */
async function estimateTotal(db: DatabaseReader, filter: Doc<"replays">["filter"]): Promise<number> {
  const clamp = (ms: number) => Math.min(Math.max(ms, 0), LAST_ESTIMATED_DAY_MS);
  const range = resolveDayRange({ from: utcDay(clamp(filter.from ?? 0)), to: utcDay(clamp(filter.to ?? LAST_ESTIMATED_DAY_MS)) }, "filter", Number.POSITIVE_INFINITY);
  if (typeof range === "string") throw new ConvexError(`The replay's date range cannot be read: ${range}.`);
  const { dayRanges, monthRange } = splitIntoMonths(range);
  let total = 0;
  let remaining = MAX_ESTIMATE_ROWS;
  for (const [period, buckets] of [...dayRanges.map((days) => ["day", days] as const), ...(monthRange ? [["month", monthRange] as const] : [])]) {
    const rows = await db
      .query("analyticsCounts")
      .withIndex("by_scope", (q) => q.eq("period", period).eq("versionId", filter.sourceVersionId).eq("kind", "class").gte("bucket", buckets.from).lte("bucket", buckets.to))
      .take(remaining);
    remaining -= rows.length;
    total += rows.reduce((sum, row) => sum + row.count, 0);
  }
  return total;
}

export const resume = adminMutation({
  args: { replayId: v.id("replays") },
  returns: v.null(),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.db.get(replayId);
    if (replay === null) throw new ConvexError(`No replay with id ${replayId}.`);
    if (replay.status === "done") throw new ConvexError("This replay is done; start a new one to replay again.");
    if (replay.status === "running" && (await isChainAlive(ctx.db, replay))) {
      throw new ConvexError("This replay is still running: its next chunk is scheduled or in progress.");
    }
    await ctx.db.patch(replayId, { status: "running", error: undefined, ...(await scheduleChunk(ctx, replayId)) });
    return null;
  },
});

/** Run by the cron in crons.ts: marks failed the running replays whose chain broke, so they show a Resume button. */
export const recoverStalled = internalMutation({
  args: {},
  returns: v.object({ markedFailed: v.number() }),
  handler: async (ctx) => {
    const running = await ctx.db.query("replays").withIndex("by_status", (q) => q.eq("status", "running")).take(100);
    let markedFailed = 0;
    for (const replay of running) {
      if (!(await hasChainBroken(ctx.db, replay, REPLAY_STALL_MS))) continue;
      await ctx.db.patch(replay._id, { status: "failed", error: REPLAY_INTERRUPTED_MESSAGE, updatedAt: Date.now() });
      markedFailed += 1;
    }
    return { markedFailed };
  },
});

async function summarize(ctx: { db: DatabaseReader }, replay: Doc<"replays">, clients: { featureDim: number; clipModelId: string }) {
  const version = await ctx.db.get(replay.versionId);
  return {
    _id: replay._id,
    _creationTime: replay._creationTime,
    version: version === null ? null : toVersionRef(version),
    filter: replay.filter,
    status: replay.status,
    processed: replay.processed,
    total: replay.total,
    error: replay.error,
    startedBy: replay.startedBy,
    inputMismatch: version === null ? null : describeInputMismatch(versionLabel(version), version.summary.input, clients),
  };
}

export const status = analystQuery({
  args: { replayId: v.id("replays") },
  returns: v.union(replaySummaryValidator, v.null()),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.db.get(replayId);
    return replay === null ? null : summarize(ctx, replay, await loadSettings(ctx));
  },
});

export const list = analystQuery({
  args: {},
  returns: v.array(replaySummaryValidator),
  handler: async (ctx) => {
    const replays = await ctx.db.query("replays").order("desc").take(50);
    const settings = await loadSettings(ctx);
    return Promise.all(replays.map((replay) => summarize(ctx, replay, settings)));
  },
});

export const results = analystQuery({
  args: { replayId: v.id("replays"), paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(
    v.object({
      pictureId: v.id("pictures"),
      fileName: v.union(v.string(), v.null()),
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
      .paginate({ ...paginationOpts, numItems: Math.min(paginationOpts.numItems, 100) });
    const rows = await Promise.all(
      page.page.map(async (shadow) => {
        // The live result compared against is the one that was replayed.
        const live = await ctx.db.get(shadow.sourceClassificationId);
        const picture = await ctx.db.get(shadow.pictureId);
        return {
          pictureId: shadow.pictureId,
          fileName: picture?.fileName ?? null,
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

const replayDocValidator = v.object({
  _id: v.id("replays"),
  versionId: v.id("modelVersions"),
  filter: replayFilterValidator,
  status: replayStatusValidator,
  cursor: v.union(v.string(), v.null()),
});

export const getForRun = internalQuery({
  args: { replayId: v.id("replays") },
  returns: v.union(replayDocValidator, v.null()),
  handler: async (ctx, { replayId }) => {
    const replay = await ctx.db.get(replayId);
    return replay === null ? null : { _id: replay._id, versionId: replay.versionId, filter: replay.filter, status: replay.status, cursor: replay.cursor };
  },
});

/** One page of current classifications matching the filter, with their features. */
export const pageSources = internalQuery({
  args: { filter: replayFilterValidator, cursor: v.union(v.string(), v.null()), numItems: v.number() },
  returns: v.object({
    items: v.array(v.object({ classificationId: v.id("classifications"), classifiedAt: v.number(), pictureId: v.id("pictures"), vector: v.bytes(), dim: v.number() })),
    continueCursor: v.string(),
    isDone: v.boolean(),
  }),
  handler: async (ctx, { filter, cursor, numItems }) => {
    const from = filter.from ?? 0;
    const to = filter.to ?? Number.MAX_SAFE_INTEGER;
    const classifications = ctx.db.query("classifications");
    const query =
      filter.sourceVersionId === undefined
        ? classifications.withIndex("by_current", (q) => q.eq("current", true).gte("_creationTime", from).lte("_creationTime", to))
        : classifications.withIndex("by_current_version", (q) => q.eq("current", true).eq("versionId", filter.sourceVersionId!).gte("_creationTime", from).lte("_creationTime", to));
    const page = await query.paginate({ cursor, numItems });
    const items = [];
    for (const classification of page.page) {
      const features = await ctx.db.get(classification.featuresId);
      if (features === null) continue;
      items.push({ classificationId: classification._id, classifiedAt: classification._creationTime, pictureId: classification.pictureId, vector: features.vector, dim: features.dim });
    }
    return { items, continueCursor: page.continueCursor, isDone: page.isDone };
  },
});

export const runChunk = internalAction({
  args: { replayId: v.id("replays") },
  returns: v.null(),
  handler: async (ctx, { replayId }) => {
    try {
      const replay = await ctx.runQuery(internal.replays.getForRun, { replayId });
      if (replay === null || replay.status !== "running") return null;
      const page = await ctx.runQuery(internal.replays.pageSources, { filter: replay.filter, cursor: replay.cursor, numItems: REPLAY_CHUNK_SIZE });
      let results: Array<{ classificationId: Id<"classifications">; classifiedAt: number; pictureId: Id<"pictures">; prediction: MlpPrediction }> = [];
      if (page.items.length > 0) {
        const version: RunnableVersion | null = await ctx.runQuery(internal.models.runnable, { versionId: replay.versionId });
        if (version === null) throw new ConvexError(`model version ${replay.versionId} no longer exists`);
        const model = await loadVersionModel(ctx, version);
        const dim = version.summary.input.dim;
        const features = new Float32Array(page.items.length * dim);
        page.items.forEach((item, i) => {
          if (item.dim !== dim) throw new ConvexError(`classification ${item.classificationId} has ${item.dim} features but ${versionLabel(version)} takes ${dim}`);
          features.set(decodeFeatures(item.vector, dim), i * dim);
        });
        const predictions = replaySteps.score(model, features, page.items.length);
        results = page.items.map((item, i) => ({ classificationId: item.classificationId, classifiedAt: item.classifiedAt, pictureId: item.pictureId, prediction: predictions[i] }));
      }
      await ctx.runMutation(internal.replays.storeChunk, {
        replayId,
        expectedCursor: replay.cursor,
        nextCursor: page.isDone ? null : page.continueCursor,
        done: page.isDone,
        results: results.map(({ classificationId, classifiedAt, pictureId, prediction }) => ({
          sourceClassificationId: classificationId,
          sourceClassifiedAt: classifiedAt,
          pictureId,
          probabilities: prediction.probabilities,
          labelIndex: prediction.labelIndex,
          label: prediction.label,
          confidence: prediction.confidence,
        })),
      });
    } catch (error) {
      const message = errorSentence(error);
      await ctx.runMutation(internal.replays.markFailed, { replayId, error: message });
    }
    return null;
  },
});

/**
 * A picture has a shadow in this replay already only if it was classified
 * again since the replay started: a classification is current from its
 * creation until it is replaced, and each is read once, so one made before
 * the start is its picture's only source. Only those made since (or just
 * before: a mutation that was still running at the start) are looked up,
 * not every result of every chunk.
 */
const REPEAT_MARGIN_MS = 60_000;

export const storeChunk = internalMutation({
  args: {
    replayId: v.id("replays"),
    expectedCursor: v.union(v.string(), v.null()),
    nextCursor: v.union(v.string(), v.null()),
    done: v.boolean(),
    results: v.array(
      v.object({
        sourceClassificationId: v.id("classifications"),
        /** The source classification's creation time: only one made since the replay started can repeat a picture. */
        sourceClassifiedAt: v.number(),
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
    for (const { sourceClassifiedAt, ...result } of results) {
      const existing =
        sourceClassifiedAt < replay._creationTime - REPEAT_MARGIN_MS
          ? null
          : await ctx.db
              .query("shadowClassifications")
              .withIndex("by_replay_picture", (q) => q.eq("replayId", replayId).eq("pictureId", result.pictureId))
              .unique();
      const shadow = { replayId, versionId: replay.versionId, ...result };
      if (existing === null) await ctx.db.insert("shadowClassifications", shadow);
      else await ctx.db.replace(existing._id, shadow);
    }
    const processed = replay.processed + results.length;
    if (done) await ctx.db.patch(replayId, { status: "done", processed, total: processed, cursor: null, jobId: undefined, updatedAt: Date.now() });
    else await ctx.db.patch(replayId, { processed, cursor: nextCursor, ...(await scheduleChunk(ctx, replayId)) });
    return null;
  },
});

export const markFailed = internalMutation({
  args: { replayId: v.id("replays"), error: v.string() },
  returns: v.null(),
  handler: async (ctx, { replayId, error }) => {
    const replay = await ctx.db.get(replayId);
    if (replay !== null && replay.status === "running") await ctx.db.patch(replayId, { status: "failed", error, updatedAt: Date.now() });
    return null;
  },
});
