import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { REPLAY_CHUNK_SIZE, REPLAY_INTERRUPTED_MESSAGE, REPLAY_STALL_MS, replaySteps } from "../../convex/replays";
import { mlpForward } from "../../convex/lib/mlpForward";
import type { MlpModel } from "../../convex/lib/weightsFormat";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { storeFeatures } from "../../convex/model/features";
import { utcDay } from "../../convex/lib/days";
import { classifiedPicture, deleteStoredWeights, makeTestModel, replaceStoredWeights, sampleFeatures, seedActiveVersion, storedWeightsOf, testClasses, withLastByteFlipped } from "./fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";
import { CounterTally } from "./counterTally";
import { readsOf } from "../../tools/convexTest/transactionReads";

// The WebAssembly kernel accumulates in float32, in a different order for a
// batch than for one vector: the two agree to float32 rounding, not exactly.
const BATCH_VS_SINGLE_TOLERANCE = 1e-6;

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core CI machine the heavier stories need more than the default 5 s.
vi.setConfig({ testTimeout: 30_000 });

const originalSteps = { ...replaySteps };
afterEach(() => {
  Object.assign(replaySteps, originalSteps);
  vi.useRealTimers();
});

/**
 * Live classifications written straight into the tables (as storeResult
 * leaves them, minus counters, which replays do not read): many rows without
 * running hundreds of actions.
 */
async function seedClassifications(t: Backend, model: MlpModel, versionId: Id<"modelVersions">, versionNumber: number, count: number, seedOffset = 0) {
  const uploaderId = await t.run((ctx) => ctx.db.insert("users", { email: `bulk-${seedOffset}@example.com`, role: "labeller" }));
  const ids: Array<{ pictureId: Id<"pictures">; classificationId: Id<"classifications"> }> = [];
  for (let start = 0; start < count; start += 100) {
    const batch = await t.run(async (ctx) => {
      const made = [];
      for (let i = start; i < Math.min(count, start + 100); i++) {
        const features = sampleFeatures(seedOffset + i + 1000);
        const prediction = mlpForward(model, features);
        const pictureId = await ctx.db.insert("pictures", {
          uploaderId, fileName: `bulk-${i}.jpg`, contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: false,
        });
        const featuresId = await storeFeatures(ctx, features, pictureId);
        const classificationId = await ctx.db.insert("classifications", {
          pictureId, versionId, versionNumber, probabilities: prediction.probabilities, labelIndex: prediction.labelIndex,
          label: prediction.label, confidence: prediction.confidence, featuresId, day: "2026-11-01", current: true,
        });
        await ctx.db.patch(pictureId, { featuresId, latestClassificationId: classificationId, label: prediction.label, confidence: prediction.confidence, versionId, classLabel: prediction.label });
        made.push({ pictureId, classificationId });
      }
      return made;
    });
    ids.push(...batch);
  }
  return ids;
}

async function setup(count: number) {
  vi.useFakeTimers();
  const t = makeBackend();
  const liveModel = makeTestModel({ seed: 1 });
  const live = await seedActiveVersion(t, liveModel);
  const candidateModel = makeTestModel({ seed: 2, name: "candidate" });
  const candidate = await seedVersion(t, candidateModel);
  const admin = await asUser(t, "admin");
  const seeded = await seedClassifications(t, liveModel, live.versionId, live.number, count);
  return { t, admin, live, liveModel, candidate, candidateModel, seeded };
}

const runScheduled = (t: Backend) => t.finishAllScheduledFunctions(vi.runAllTimers);
const replayOf = (t: Backend, replayId: Id<"replays">) => t.run((ctx) => ctx.db.get(replayId));
const shadowsOf = (t: Backend, replayId: Id<"replays">) =>
  t.run((ctx) => ctx.db.query("shadowClassifications").withIndex("by_replay", (q) => q.eq("replayId", replayId)).collect());

describe("replays", () => {
  test("re-scores every live classification with the chosen version, in chunks, apart from live results", async () => {
    const { t, admin, candidate, candidateModel, seeded } = await setup(401);
    const labeller = await asUser(t, "labeller");
    // One picture classified twice (only its latest counts) and one removed: neither adds a shadow of its own.
    const twice = await classifiedPicture(t, labeller.client, 1);
    await labeller.client.action(api.classifications.retry, { pictureId: twice.pictureId });
    const removed = await classifiedPicture(t, labeller.client, 2);
    await labeller.client.mutation(api.pictures.remove, { pictureId: removed.pictureId });

    let batches = 0;
    replaySteps.score = (model, features, count) => {
      batches += 1;
      expect(count).toBeLessThanOrEqual(REPLAY_CHUNK_SIZE);
      return originalSteps.score(model, features, count);
    };
    const liveBefore = await t.run((ctx) => ctx.db.query("classifications").collect());
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    await runScheduled(t);

    const replay = await replayOf(t, replayId);
    expect(replay).toMatchObject({ status: "done", processed: 402, total: 402, cursor: null });
    expect(batches).toBe(3);
    const shadows = await shadowsOf(t, replayId);
    expect(shadows).toHaveLength(402);
    expect(new Set(shadows.map((s) => s.pictureId)).size).toBe(402);
    expect(shadows.some((s) => s.pictureId === removed.pictureId)).toBe(false);

    // Scores equal a direct forward pass of the candidate on the stored features.
    const sample = shadows.find((s) => s.pictureId === seeded[123].pictureId)!;
    const expected = mlpForward(candidateModel, sampleFeatures(1123));
    expect(sample.label).toBe(expected.label);
    sample.probabilities.forEach((p, i) => expect(Math.abs(p - expected.probabilities[i])).toBeLessThan(BATCH_VS_SINGLE_TOLERANCE));
    expect(sample.versionId).toBe(candidate.versionId);

    // Live classifications are untouched.
    expect(await t.run((ctx) => ctx.db.query("classifications").collect())).toEqual(liveBefore);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").withIndex("by_action", (q) => q.eq("action", "startReplay")).collect());
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ actorId: admin.userId, toVersionId: candidate.versionId });
  }, 60_000);

  test("a failure mid-way marks the replay failed at its cursor; resume finishes without duplicates", async () => {
    const { t, admin, candidate } = await setup(401);
    let calls = 0;
    replaySteps.score = (model, features, count) => {
      calls += 1;
      if (calls === 2) throw new Error("simulated out-of-memory in chunk 2");
      return originalSteps.score(model, features, count);
    };
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    await runScheduled(t);
    const failed = await replayOf(t, replayId);
    expect(failed).toMatchObject({ status: "failed", processed: 200, error: "simulated out-of-memory in chunk 2" });
    expect(failed?.cursor).not.toBeNull();
    expect(await shadowsOf(t, replayId)).toHaveLength(200);

    const status = await admin.client.query(api.replays.status, { replayId });
    expect(status).toMatchObject({ status: "failed", processed: 200, error: "simulated out-of-memory in chunk 2", version: { name: "candidate" } });

    await admin.client.mutation(api.replays.resume, { replayId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 401 });
    const shadows = await shadowsOf(t, replayId);
    expect(shadows).toHaveLength(401);
    expect(new Set(shadows.map((s) => s.pictureId)).size).toBe(401);
    expect(calls).toBe(4);

    await expect(admin.client.mutation(api.replays.resume, { replayId })).rejects.toThrow("This replay is done; start a new one to replay again.");
  }, 60_000);

  test("a missing weights file fails the replay with the reason; restoring the file and resuming completes it", async () => {
    const { t, admin, candidate, candidateModel } = await setup(30);
    const bytes = await storedWeightsOf(t, candidate.versionId);
    await deleteStoredWeights(t, candidate.versionId);
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    await runScheduled(t);
    const failed = await replayOf(t, replayId);
    expect(failed?.status).toBe("failed");
    expect(failed?.error).toBe("the weights of v2 “candidate” are missing from storage: an admin must re-import them or activate another version");

    await replaceStoredWeights(t, candidate.versionId, bytes);
    await admin.client.mutation(api.replays.resume, { replayId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 30 });
    expect(candidateModel.name).toBe("candidate");
  });

  test("a weights file with one flipped byte fails its registered sha256: the replay fails with the reason and stores nothing", async () => {
    const { t, admin, candidate } = await setup(30);
    const bytes = await storedWeightsOf(t, candidate.versionId);
    await replaceStoredWeights(t, candidate.versionId, withLastByteFlipped(bytes));
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({
      status: "failed",
      processed: 0,
      error: "the weights of v2 “candidate” do not match their registered sha256: an admin must re-import it or activate another version",
    });
    expect(await t.run((ctx) => ctx.db.query("shadowClassifications").collect())).toEqual([]);

    await replaceStoredWeights(t, candidate.versionId, bytes);
    await admin.client.mutation(api.replays.resume, { replayId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 30 });
  });

  test("filters by source version and time; results pair shadow and live labels", async () => {
    const { t, admin, live, liveModel, seeded } = await setup(5);
    const other = await seedVersion(t, makeTestModel({ seed: 3, name: "other" }));
    await seedClassifications(t, makeTestModel({ seed: 3 }), other.versionId, other.number, 4, 500);

    // Replaying with the live version itself: every shadow agrees with its live result.
    const replayId = await admin.client.mutation(api.replays.start, { versionId: live.versionId, filter: { sourceVersionId: live.versionId } });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 5 });

    const analyst = await asUser(t, "analyst");
    const first = await analyst.client.query(api.replays.results, { replayId, paginationOpts: { numItems: 3, cursor: null } });
    const second = await analyst.client.query(api.replays.results, { replayId, paginationOpts: { numItems: 3, cursor: first.continueCursor } });
    const rows = [...first.page, ...second.page];
    expect(rows).toHaveLength(5);
    expect(rows.every((row) => row.agrees && row.liveVersionNumber === 1)).toBe(true);
    const pairs = await t.run(async (ctx) =>
      Promise.all(seeded.map(async ({ pictureId, classificationId }) => ({
        live: (await ctx.db.get(classificationId))!.probabilities,
        shadow: (await ctx.db.query("shadowClassifications").withIndex("by_replay_picture", (q) => q.eq("replayId", replayId).eq("pictureId", pictureId)).unique())!.probabilities,
      }))),
    );
    // The batch kernel sums in another order than the single-vector one: equal up to float rounding.
    for (const { live, shadow } of pairs) shadow.forEach((p, i) => expect(Math.abs(p - live[i])).toBeLessThan(BATCH_VS_SINGLE_TOLERANCE));
    expect(rows.map((r) => r.pictureId).sort()).toEqual(seeded.map((s) => s.pictureId).sort());
    for (const row of rows) expect(Math.round(row.shadowConfidence * 1000) / 1000).toBe(row.shadowConfidence);
    expect(liveModel.classes).toContain(rows[0].shadowLabel);

    const times = await t.run(async (ctx) => Promise.all(seeded.map(async (s) => (await ctx.db.get(s.classificationId))!._creationTime)));
    const windowed = await admin.client.mutation(api.replays.start, { versionId: live.versionId, filter: { from: times[1], to: times[2] } });
    await runScheduled(t);
    expect(await replayOf(t, windowed)).toMatchObject({ status: "done", processed: 2 });

    const listed = await analyst.client.query(api.replays.list, {});
    expect(listed.map((r) => r._id)).toEqual([windowed, replayId]);
  });

  test("a chunk of classifications made before the replay stores its results without looking each picture up", async () => {
    const { t, admin, candidate } = await setup(REPLAY_CHUNK_SIZE);
    vi.setSystemTime(Date.now() + 10 * 60_000);
    await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    const { reads } = await readsOf(async () => {
      vi.runOnlyPendingTimers();
      await t.finishInProgressScheduledFunctions();
    });
    const store = reads.transactions.find((transaction) => transaction.documentsWritten >= REPLAY_CHUNK_SIZE)!;
    // The replay document, read and patched; no lookup per result.
    expect(store.databaseQueries).toBeLessThanOrEqual(3);
    expect(store.documentsRead).toBeLessThanOrEqual(3);
  });

  test("a picture classified again while its replay runs keeps one shadow, from its new classification", async () => {
    const { t, admin, candidate, seeded } = await setup(450);
    vi.setSystemTime(Date.now() + 10 * 60_000);
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    vi.runOnlyPendingTimers();
    await t.finishInProgressScheduledFunctions();
    expect(await replayOf(t, replayId)).toMatchObject({ status: "running", processed: REPLAY_CHUNK_SIZE });
    // Already replayed in the first chunk; its new classification comes again at the end of the stream.
    const again = seeded[5];
    await admin.client.action(api.classifications.retry, { pictureId: again.pictureId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 451 });
    const shadows = await shadowsOf(t, replayId);
    expect(shadows).toHaveLength(450);
    const latest = (await t.run((ctx) => ctx.db.get(again.pictureId)))!.latestClassificationId;
    expect(latest).not.toBe(again.classificationId);
    expect(shadows.filter((shadow) => shadow.pictureId === again.pictureId).map((shadow) => shadow.sourceClassificationId)).toEqual([latest]);
  });

  test("the estimated total reads whole months from the monthly counters, the partial months' days from the daily ones", async () => {
    const { t, admin, live, candidate } = await setup(1);
    // January to March: every class counted every day, class i (i + 1) times: 78 a day.
    const tally = new CounterTally();
    for (let day = Date.UTC(2026, 0, 1); day < Date.UTC(2026, 3, 1); day += 86_400_000) {
      testClasses.forEach((label, i) => tally.add({ day: utcDay(day), versionId: live.versionId, label, confidence: 0.5 }, i + 1));
    }
    await t.run(async (ctx) => {
      for (const row of tally.rows()) await ctx.db.insert("analyticsCounts", row);
    });
    const start = async (filter: { from?: number; to?: number; sourceVersionId?: Id<"modelVersions"> }) => {
      const { result: replayId, reads } = await readsOf(() => admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter }));
      return { result: (await replayOf(t, replayId))!.total, reads };
    };
    // Besides the counters: the caller, the version, the source version, the replay patched after its insert.
    const otherReads = 4;

    const all = await start({});
    expect(all.result).toBe(90 * 78);
    expect(all.reads.total.documentsRead).toBeLessThanOrEqual(3 * testClasses.length + otherReads);

    // 15 to 31 January and 1 to 2 March from day rows, February from its month rows.
    const partial = await start({ from: Date.UTC(2026, 0, 15, 10), to: Date.UTC(2026, 2, 2, 8), sourceVersionId: live.versionId });
    expect(partial.result).toBe((17 + 28 + 2) * 78);
    expect(partial.reads.total.documentsRead).toBeLessThanOrEqual((17 + 1 + 2) * testClasses.length + otherReads);

    expect((await start({ sourceVersionId: candidate.versionId })).result).toBe(0);
  });

  test("bad requests are refused clearly; only admins start or resume replays", async () => {
    const { t, admin, candidate } = await setup(1);
    await expect(
      admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: { from: 20, to: 10 } }),
    ).rejects.toThrow("The date range is reversed: from 1970-01-01T00:00:00.020Z is after to 1970-01-01T00:00:00.010Z.");
    const goneVersion = await t.run(async (ctx) => {
      const { _id, _creationTime, ...fields } = (await ctx.db.get(candidate.versionId))!;
      const id = await ctx.db.insert("modelVersions", fields);
      await ctx.db.delete(id);
      return id;
    });
    await expect(admin.client.mutation(api.replays.start, { versionId: goneVersion, filter: {} })).rejects.toThrow(/No model version with id/);
    await expect(
      admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: { sourceVersionId: goneVersion } }),
    ).rejects.toThrow(/The source version filter names no model version/);
    for (const role of ["labeller", "analyst"] as const) {
      const user = await asUser(t, role);
      await expect(user.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} })).rejects.toThrow(/needs the admin role/);
    }
  });

  test("a chain that broke without a word (its chunk never ran) is found by the cron, marked failed, and resumes to the end", async () => {
    const { t, admin, candidate } = await setup(450);
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    // What a killed chunk leaves: the replay running, its job gone (here: cancelled, as a restart would drop it).
    const running = (await replayOf(t, replayId))!;
    expect(running.jobId).toBeDefined();
    await t.run((ctx) => ctx.scheduler.cancel(running.jobId!));
    // A resume while the chain looks alive is refused; the cron leaves young replays alone.
    expect(await t.mutation(internal.replays.recoverStalled, {})).toEqual({ markedFailed: 0 });
    vi.advanceTimersByTime(REPLAY_STALL_MS + 1_000);
    expect(await t.mutation(internal.replays.recoverStalled, {})).toEqual({ markedFailed: 1 });
    expect(await replayOf(t, replayId)).toMatchObject({ status: "failed", error: REPLAY_INTERRUPTED_MESSAGE, processed: 0 });
    await admin.client.mutation(api.replays.resume, { replayId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 450 });
    expect(await shadowsOf(t, replayId)).toHaveLength(450);
  }, 60_000);

  test("resume takes a running replay whose chunk died, and refuses one whose chunk is still scheduled", async () => {
    const { t, admin, candidate } = await setup(10);
    const replayId = await admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    await expect(admin.client.mutation(api.replays.resume, { replayId })).rejects.toThrow("This replay is still running: its next chunk is scheduled or in progress.");
    await t.run(async (ctx) => ctx.scheduler.cancel((await ctx.db.get(replayId))!.jobId!));
    await admin.client.mutation(api.replays.resume, { replayId });
    await runScheduled(t);
    expect(await replayOf(t, replayId)).toMatchObject({ status: "done", processed: 10 });
  });
});
