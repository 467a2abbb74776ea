/**
 * Pictures left `classifying` by an action that never finished (a deploy or a
 * crash between `begin` and the store) are released by the cron in
 * convex/crons.ts, so they can be retried.
 */
import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import crons from "../../convex/crons";
import { encodeFeatures } from "../../convex/lib/features";
import { ABANDONED_UPLOAD_MESSAGE, ABANDONED_UPLOAD_MS, STUCK_BATCH_SIZE, STUCK_CLASSIFICATION_MESSAGE, STUCK_CLASSIFYING_MS as STUCK_AFTER_MS } from "../../convex/pictures";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { classifiedPicture, countedClassifications, pictureFeaturesOf, sampleFeatures, seedActiveVersion, storeImage } from "./fixtures";

beforeAll(ensureAuthEnv);
vi.setConfig({ testTimeout: 30_000 });

afterEach(() => {
  vi.useRealTimers();
});

const pictureOf = (t: Backend, pictureId: Id<"pictures">) => t.run((ctx) => ctx.db.get(pictureId));
const classCount = (t: Backend) => countedClassifications(t);

async function setup() {
  vi.useFakeTimers();
  const t = makeBackend();
  await seedActiveVersion(t);
  const labeller = await asUser(t, "labeller");
  return { t, labeller };
}

/** What a classification leaves behind when its action dies right after `begin` committed. */
async function abandonClassification(t: Backend, labellerId: Id<"users">, pictureId: Id<"pictures">, features = sampleFeatures(40)) {
  await t.mutation(internal.classifications.begin, { pictureId, userId: labellerId, role: "labeller", features: encodeFeatures(features) });
}

describe("releasing stuck classifications", () => {
  test("crons.ts runs recoverStuck every 10 minutes (and the replay and suspect-search recoveries)", () => {
    expect(Object.values(crons.crons)).toEqual([
      { name: "pictures:recoverStuck", args: [{}], schedule: { type: "interval", minutes: 10 } },
      { name: "replays:recoverStalled", args: [{}], schedule: { type: "interval", minutes: 5 } },
      { name: "suspectSearch:recoverStalled", args: [{}], schedule: { type: "interval", minutes: 10 } },
    ]);
  });

  test("a never-classified picture stuck for more than 10 minutes is marked failed with the reason, and a retry succeeds", async () => {
    const { t, labeller } = await setup();
    const pictureId = await labeller.client.mutation(api.pictures.record, {
      storageId: await storeImage(t),
      fileName: "stuck.jpg",
      contentType: "image/jpeg",
    });
    await abandonClassification(t, labeller.userId, pictureId);
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classifying" });

    vi.advanceTimersByTime(STUCK_AFTER_MS - 1_000);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 0 });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classifying" });

    vi.advanceTimersByTime(2_000);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 1 });
    const released = await pictureOf(t, pictureId);
    expect(released).toMatchObject({ status: "failed", error: STUCK_CLASSIFICATION_MESSAGE });
    expect(await pictureFeaturesOf(t, pictureId)).toEqual(sampleFeatures(40));
    expect(released?.statusSince).toBeUndefined();

    await labeller.client.action(api.classifications.retry, { pictureId });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
    expect(await classCount(t)).toBe(1);
  });

  test("a stuck picture that had a result goes back to classified with lastError; its result stays counted and queued", async () => {
    const { t, labeller } = await setup();
    const { pictureId, result } = await classifiedPicture(t, labeller.client, 41);
    await abandonClassification(t, labeller.userId, pictureId);
    expect(await labeller.client.query(api.pictures.reviewQueue, { limit: 10 })).toEqual([]);

    vi.advanceTimersByTime(STUCK_AFTER_MS + 1_000);
    const releasedAt = Date.now();
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 1 });
    const shown = await labeller.client.query(api.pictures.get, { pictureId });
    expect(shown?.picture).toMatchObject({ status: "classified", label: result.label, lastError: STUCK_CLASSIFICATION_MESSAGE });
    expect(shown?.picture.lastErrorAt).toBeGreaterThanOrEqual(releasedAt);
    expect(shown?.picture.error).toBeUndefined();
    expect(shown?.result).toEqual(result);
    expect(await classCount(t)).toBe(1);
    expect((await labeller.client.query(api.pictures.reviewQueue, { limit: 10 })).map((p) => p._id)).toEqual([pictureId]);
  });

  test("a classification still running, or one that finished, is left alone", async () => {
    const { t, labeller } = await setup();
    const running = await labeller.client.mutation(api.pictures.record, { fileName: "running.jpg", contentType: "image/jpeg" });
    const { pictureId: done } = await classifiedPicture(t, labeller.client, 42);
    vi.advanceTimersByTime(STUCK_AFTER_MS + 60_000);
    await abandonClassification(t, labeller.userId, running);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 0 });
    expect(await pictureOf(t, running)).toMatchObject({ status: "classifying" });
    expect(await pictureOf(t, done)).toMatchObject({ status: "classified" });
    expect((await pictureOf(t, done))?.lastError).toBeUndefined();
  });

  test(`at most ${STUCK_BATCH_SIZE} pictures per transaction; a full batch schedules the next until none are left`, async () => {
    const { t, labeller } = await setup();
    const total = STUCK_BATCH_SIZE + 7;
    const since = Date.now();
    // Written directly: as `begin` leaves them, without running a hundred actions. One predates statusSince.
    await t.run(async (ctx) => {
      for (let i = 0; i < total; i++) {
        await ctx.db.insert("pictures", {
          uploaderId: labeller.userId,
          fileName: `stuck-${i}.jpg`,
          contentType: "image/jpeg",
          storageMode: "none",
          status: "classifying",
          attempts: 1,
          labelled: false,
          ...(i === 0 ? {} : { statusSince: since }),
        });
      }
    });
    vi.advanceTimersByTime(STUCK_AFTER_MS + 1_000);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: STUCK_BATCH_SIZE });
    const stillStuck = async () => (await t.run((ctx) => ctx.db.query("pictures").collect())).filter((p) => p.status === "classifying").length;
    expect(await stillStuck()).toBe(total - STUCK_BATCH_SIZE);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await stillStuck()).toBe(0);
    const pictures = await t.run((ctx) => ctx.db.query("pictures").collect());
    expect(pictures.every((p) => p.status === "failed" && p.error === STUCK_CLASSIFICATION_MESSAGE)).toBe(true);
  });

  test("a picture recorded but never given features (a closed tab) becomes failed after 30 minutes, saying to retry from the image", async () => {
    const { t, labeller } = await setup();
    const pictureId = await labeller.client.mutation(api.pictures.record, { storageId: await storeImage(t), fileName: "orphan.jpg", contentType: "image/jpeg" });
    vi.advanceTimersByTime(ABANDONED_UPLOAD_MS - 60_000);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 0 });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "uploaded" });
    vi.advanceTimersByTime(2 * 60_000);
    expect(await t.mutation(internal.pictures.recoverStuck, {})).toEqual({ released: 1 });
    const [listed] = (await labeller.client.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 10, cursor: null } })).page;
    expect(listed).toMatchObject({ _id: pictureId, status: "failed", error: ABANDONED_UPLOAD_MESSAGE, hasFeatures: false });
    // Extracting again from the image succeeds.
    await labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(43) });
    expect(await pictureOf(t, pictureId)).toMatchObject({ status: "classified" });
  });
});
