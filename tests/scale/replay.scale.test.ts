/**
 * A replay of 50,000 stored classifications (a year's, with their features
 * and day counters) with another version, failing mid-way and resumed to
 * the end: every classification re-scored exactly once, every chunk within
 * its bound.
 *
 * Read bound per chunk, per transaction: pageSources reads
 * REPLAY_CHUNK_SIZE classifications and their features (2 × 200 = 400
 * documents, each pair under 3 KB: 2 KB of float32 features, a
 * classification of 12 probabilities); storeChunk reads the replay (it
 * looks up earlier shadows only for classifications made since the replay
 * started, none here); the weights query reads the version's one chunk
 * (its weights, about 650 KB).
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { REPLAY_CHUNK_SIZE, replaySteps } from "../../convex/replays";
import { storeFeatures } from "../../convex/model/features";
import { seededRandom } from "../../convex/lib/seededRandom";
import { asUser, type Backend } from "../convex/harness";
import { makeTestModel, testClasses } from "../convex/fixtures";
import { activateDirectly, seedVersion } from "../../tools/convexTest/seedVersions";
import { readsOf, summarizeTransactions, type CallReads } from "../../tools/convexTest/transactionReads";
import { measured, printCalls } from "./readReport";
import { DAY_MS, dayName, dayStart, insertCounterRows, randomFeatures, setClock, YEAR_DAYS, YEAR_START_MS, yearBackend } from "./scaleSeed";
import { CounterTally } from "../convex/counterTally";

const CLASSIFICATIONS = 50_000;
const CHUNKS = Math.ceil(CLASSIFICATIONS / REPLAY_CHUNK_SIZE);
/** The chunk whose forward pass fails: half-way through. */
const FAILING_CHUNK = Math.floor(CHUNKS / 2);
const CHUNK_DOCUMENTS_BOUND = 2 * REPLAY_CHUNK_SIZE;
const PAGE_BYTES_BOUND = REPLAY_CHUNK_SIZE * 3 * 1024;

let t: Backend;
let admin: Awaited<ReturnType<typeof asUser>>;
let candidate: { versionId: Id<"modelVersions"> };
/** The most one chunk's transaction may read: a page of sources, or the weights with their chunk document's fields. */
let chunkBytesBound: number;
let classificationIds: Id<"classifications">[];

beforeAll(async () => {
  t = await yearBackend("all timers");
  admin = await asUser(t, "admin");
  const labeller = await asUser(t, "labeller");
  const live = await seedVersion(t, makeTestModel({ seed: 31, name: "live", hidden: [256, 128] }));
  candidate = await seedVersion(t, makeTestModel({ seed: 32, name: "candidate", hidden: [256, 128] }));
  await activateDirectly(t, live.versionId);
  const weightsBytes = (await t.run((ctx) => ctx.db.get(candidate.versionId)))!.byteLength;
  chunkBytesBound = Math.max(PAGE_BYTES_BOUND, weightsBytes + 1024);

  // One transaction per day of the year: about 137 pictures × (picture, features, classification, patch).
  const random = seededRandom(50);
  const tally = new CounterTally();
  classificationIds = [];
  for (let day = 0; day < YEAR_DAYS; day++) {
    const first = Math.floor((day * CLASSIFICATIONS) / YEAR_DAYS);
    const end = Math.floor(((day + 1) * CLASSIFICATIONS) / YEAR_DAYS);
    const planned = Array.from({ length: end - first }, () => ({
      features: randomFeatures(random),
      labelIndex: Math.floor(random() * testClasses.length),
      confidence: 0.2 + 0.8 * random(),
    }));
    setClock(dayStart(day) + 12 * 3_600_000);
    const ids = await t.run(async (ctx) => {
      const made: Id<"classifications">[] = [];
      for (const [i, item] of planned.entries()) {
        const pictureId = await ctx.db.insert("pictures", {
          uploaderId: labeller.userId, fileName: `replayed-${first + i}.jpg`, contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: false,
        });
        const featuresId = await storeFeatures(ctx, item.features, pictureId);
        const probabilities = new Array<number>(testClasses.length).fill((1 - item.confidence) / (testClasses.length - 1));
        probabilities[item.labelIndex] = item.confidence;
        const label = testClasses[item.labelIndex];
        const classificationId = await ctx.db.insert("classifications", {
          pictureId, versionId: live.versionId, versionNumber: live.number, probabilities, labelIndex: item.labelIndex, label, confidence: item.confidence, featuresId, day: dayName(day), current: true,
        });
        await ctx.db.patch(pictureId, { featuresId, latestClassificationId: classificationId, label, confidence: item.confidence, versionId: live.versionId, classLabel: label });
        made.push(classificationId);
      }
      return made;
    });
    classificationIds.push(...ids);
    for (const item of planned) tally.add({ day: dayName(day), versionId: live.versionId, label: testClasses[item.labelIndex], confidence: item.confidence });
  }
  await insertCounterRows(t, tally.rows());
  setClock(YEAR_START_MS + YEAR_DAYS * DAY_MS);
});

afterAll(() => {
  vi.useRealTimers();
});

const replayOf = (replayId: Id<"replays">) => t.run((ctx) => ctx.db.get(replayId));

/** Runs the replay's chain one scheduled chunk at a time, measuring each, until it stops running. */
async function runChunks(replayId: Id<"replays">): Promise<CallReads[]> {
  const chunks: CallReads[] = [];
  while ((await replayOf(replayId))?.status === "running") {
    if (chunks.length > CHUNKS + 1) throw new Error(`the replay is still running after ${chunks.length} chunks; ${CHUNKS} were expected`);
    const { reads } = await readsOf(async () => {
      vi.runOnlyPendingTimers();
      await t.finishInProgressScheduledFunctions();
    });
    chunks.push(reads);
  }
  return chunks;
}

describe(`a replay of ${CLASSIFICATIONS.toLocaleString("en")} classifications`, () => {
  test("fails mid-way, resumes to the end, re-scores every classification exactly once within bounded reads per chunk", async () => {
    const original = replaySteps.score;
    let scoreCalls = 0;
    let scoredItems = 0;
    replaySteps.score = (model, features, count) => {
      scoreCalls += 1;
      if (scoreCalls === FAILING_CHUNK) throw new Error(`simulated out-of-memory in chunk ${FAILING_CHUNK}`);
      scoredItems += count;
      return original(model, features, count);
    };
    try {
      const { result: replayId, reads: startReads } = await measured("replays.start", () => admin.client.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} }));
      // The estimate reads the year's monthly class counters (12 months × 12 classes); besides them the caller, the version, the replay.
      expect(startReads.total.documentsRead).toBeLessThanOrEqual(12 * testClasses.length + 3);
      // The estimate comes from the year's day counters.
      expect(await replayOf(replayId)).toMatchObject({ status: "running", total: CLASSIFICATIONS });

      const beforeFailure = await runChunks(replayId);
      const failed = await replayOf(replayId);
      expect(failed).toMatchObject({ status: "failed", processed: (FAILING_CHUNK - 1) * REPLAY_CHUNK_SIZE, error: `simulated out-of-memory in chunk ${FAILING_CHUNK}` });
      expect(beforeFailure).toHaveLength(FAILING_CHUNK);

      await measured("replays.resume", () => admin.client.mutation(api.replays.resume, { replayId }));
      const afterResume = await runChunks(replayId);
      expect(await replayOf(replayId)).toMatchObject({ status: "done", processed: CLASSIFICATIONS, total: CLASSIFICATIONS, cursor: null });
      expect(afterResume).toHaveLength(CHUNKS - FAILING_CHUNK + 1);

      expect(scoredItems).toBe(CLASSIFICATIONS);
      // Read back in pages: one transaction may read at most 32,000 documents, the check included.
      const shadows: Id<"classifications">[] = [];
      for (let cursor: string | null = null, isDone = false; !isDone; ) {
        const page = await t.run((ctx) => ctx.db.query("shadowClassifications").withIndex("by_replay", (q) => q.eq("replayId", replayId)).paginate({ cursor, numItems: 10_000 }));
        shadows.push(...page.page.map((shadow) => shadow.sourceClassificationId));
        ({ continueCursor: cursor, isDone } = page);
      }
      expect(shadows).toHaveLength(CLASSIFICATIONS);
      expect([...shadows].sort()).toEqual([...classificationIds].sort());

      const chunks = [...beforeFailure, ...afterResume];
      for (const chunk of chunks) {
        expect(chunk.largest.documentsRead).toBeLessThanOrEqual(CHUNK_DOCUMENTS_BOUND);
        expect(chunk.largest.bytesRead).toBeLessThanOrEqual(chunkBytesBound);
      }
      printCalls("replays.runChunk, per chunk (its transactions summed; at most = its largest transaction)", chunks, `${chunks.length} chunks for ${CLASSIFICATIONS} classifications, bound ${CHUNK_DOCUMENTS_BOUND} documents per transaction`);
      printCalls("replays.runChunk, per chunk, all its transactions together", chunks.map((chunk) => ({ ...chunk, largest: chunk.total })));
      // The one transaction of a chunk that reads more than a few documents.
      printCalls("replays.pageSources, one per chunk", chunks.map((chunk) => summarizeTransactions(chunk.transactions.filter((transaction) => transaction.documentsRead > 10))));

      const analyst = await asUser(t, "analyst");
      const page = await measured("replays.results (100 rows)", () => analyst.client.query(api.replays.results, { replayId, paginationOpts: { numItems: 100, cursor: null } }));
      expect(page.result.page).toHaveLength(100);
      // Per row: the shadow, the live classification it replayed, the picture.
      expect(page.reads.total.documentsRead).toBeLessThanOrEqual(3 * 100 + 1);
    } finally {
      replaySteps.score = original;
    }
  });
});
