import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { storeFeatures } from "../../convex/model/features";
import { utcDay } from "../../convex/lib/days";
import { seededRandom } from "../../convex/lib/seededRandom";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { makeTestModel, seedActiveVersion, testClasses } from "./fixtures";

beforeAll(ensureAuthEnv);
vi.setConfig({ testTimeout: 120_000 });
afterEach(() => {
  vi.useRealTimers();
});

const DAY = 86_400_000;
// convex-test keeps creation times increasing, so the seeded days lie after everything the test created at the real time.
const START = Date.UTC(new Date().getUTCFullYear() + 1, 0, 1);

/** `count` current classifications spread over the day, with features around `centre` (plus `shift` on the first 32 dims). */
async function seedDay(t: Backend, versionId: Id<"modelVersions">, uploaderId: Id<"users">, dayStart: number, count: number, seed: number, shift: number) {
  const random = seededRandom(seed);
  // One transaction per picture: a transaction's documents share its start time.
  for (let start = 0; start < count; start += 1) {
    vi.setSystemTime(dayStart + Math.floor((start / count) * (DAY - 1000)));
    await t.run(async (ctx) => {
      for (let i = start; i < start + 1; i++) {
        const features = Array.from({ length: 512 }, (_, j) => Math.fround((random() - 0.5) + (j < 32 ? shift : 0)));
        const pictureId = await ctx.db.insert("pictures", { uploaderId, fileName: `d${seed}-${i}.jpg`, contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: false });
        const featuresId = await storeFeatures(ctx, features, pictureId);
        const label = testClasses[i % testClasses.length];
        const classificationId = await ctx.db.insert("classifications", {
          pictureId, versionId, versionNumber: 1, probabilities: testClasses.map(() => 1 / 12), labelIndex: i % 12, label, confidence: 0.5, featuresId, day: utcDay(Date.now()), current: true,
        });
        await ctx.db.patch(pictureId, { featuresId, latestClassificationId: classificationId, label, versionId, classLabel: label });
      }
    });
  }
}

describe("embedding map", () => {
  test("projects a bounded, even sample of each window to 2-D, and finds drift only where the features moved", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const version = await seedActiveVersion(t, makeTestModel());
    const analyst = await asUser(t, "analyst");
    const uploaderId = analyst.userId;
    await seedDay(t, version.versionId, uploaderId, START, 300, 1, 0);
    await seedDay(t, version.versionId, uploaderId, START + DAY, 300, 2, 0);
    await seedDay(t, version.versionId, uploaderId, START + 2 * DAY, 300, 3, 0.4);
    vi.useRealTimers();
    const day = (offset: number) => utcDay(START + offset * DAY);

    const same = await analyst.client.action(api.embeddings.map, { a: { from: day(0), to: day(0) }, b: { from: day(1), to: day(1) }, pointsPerWindow: 300 });
    // One point per picture here: every picture of the day, evenly spaced.
    expect(same.countA).toBeGreaterThanOrEqual(295);
    expect(same.countA).toBeLessThanOrEqual(300);
    expect(same.points).toHaveLength(same.countA + same.countB);
    expect(same.explained[0]).toBeGreaterThan(0);
    expect(same.drift!.drift).toBe(false);
    expect(same.drift!.auc).toBeLessThan(0.55);

    const moved = await analyst.client.action(api.embeddings.map, { a: { from: day(0), to: day(0) }, b: { from: day(2), to: day(2) }, pointsPerWindow: 120 });
    expect(moved.drift!.drift).toBe(true);
    expect(moved.drift!.auc).toBeGreaterThan(0.9);
    expect(moved.drift!.centroidEuclidean).toBeGreaterThan(same.drift!.centroidEuclidean);
    // The windows separate along the first component.
    const meanX = (window: "a" | "b") => moved.points.filter((p) => p.window === window).reduce((sum, p, _, all) => sum + p.x / all.length, 0);
    expect(Math.abs(meanX("a") - meanX("b"))).toBeGreaterThan(1);
    expect(moved.points[0]).toMatchObject({ label: expect.any(String), versionNumber: 1, fileName: expect.stringMatching(/\.jpg$/) });

    const alone = await analyst.client.action(api.embeddings.map, { a: { from: day(0), to: day(2) }, pointsPerWindow: 50 });
    expect(alone.drift).toBeNull();
    expect(alone.countB).toBe(0);
    expect(alone.countA).toBeLessThanOrEqual(50);
    await expect(analyst.client.action(api.embeddings.map, { a: { from: day(0), to: day(0) }, pointsPerWindow: 5000 })).rejects.toThrow("The map samples 10 to 2000 points per window, not 5000.");
    const labeller = await asUser(t, "labeller");
    await expect(labeller.client.action(api.embeddings.map, { a: { from: day(0), to: day(0) } })).rejects.toThrow(/needs the analyst role/);
  });
});
