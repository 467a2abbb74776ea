import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { confidenceBin } from "../../convex/lib/classificationResult";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";
import { storeFeatures } from "../../convex/model/features";
import { classifiedPicture, makeTestModel, sampleFeatures, seedActiveVersion, testClasses } from "./fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core CI machine the heavier stories need more than the default 5 s.
vi.setConfig({ testTimeout: 30_000 });
afterEach(() => {
  vi.useRealTimers();
});

const DAY_MS = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Classifies pictures on three different UTC days, through the real action path. */
async function threeDays() {
  vi.useFakeTimers({ now: Date.UTC(2026, 10, 1, 12) });
  const t = makeBackend();
  const v1 = await seedActiveVersion(t, makeTestModel({ seed: 1 }));
  const labeller = await asUser(t, "labeller");
  const analyst = await asUser(t, "analyst");
  const made: Array<{ day: string; label: string; confidence: number; pictureId: Id<"pictures"> }> = [];
  for (let d = 0; d < 3; d++) {
    vi.setSystemTime(Date.UTC(2026, 10, 1 + d, 12));
    for (let i = 0; i < 4; i++) {
      const seed = d * 10 + i + 1;
      const { pictureId } = await classifiedPicture(t, labeller.client, seed);
      const picture = (await t.run((ctx) => ctx.db.get(pictureId)))!;
      made.push({ day: day(Date.now()), label: picture.label!, confidence: picture.confidence!, pictureId });
    }
  }
  return { t, v1, labeller, analyst, made };
}

function tally(labels: string[]) {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return counts;
}

describe("analytics over real classifications", () => {
  test("classDistribution counts each picture's latest classification by label and version", async () => {
    const { t, v1, labeller, analyst, made } = await threeDays();
    const all = await analyst.client.query(api.analytics.classDistribution, { from: "2026-11-01", to: "2026-11-03" });
    expect(all.total).toBe(12);
    expect(new Map(all.counts.map((c) => [c.label, c.count]))).toEqual(tally(made.map((m) => m.label)));
    expect(all.byVersion).toHaveLength(1);
    expect(all.byVersion[0]).toMatchObject({ version: { versionId: v1.versionId, number: 1, name: "test-model-1" }, total: 12 });

    const secondDay = await analyst.client.query(api.analytics.classDistribution, { from: "2026-11-02", to: "2026-11-02", versionId: v1.versionId });
    expect(secondDay.total).toBe(4);

    // A new version re-classifies one picture today: it moves, it is not added.
    vi.setSystemTime(Date.UTC(2026, 10, 3, 18));
    const v2 = await seedActiveVersion(t, makeTestModel({ seed: 2, name: "v2" }));
    await labeller.client.action(api.classifications.retry, { pictureId: made[0].pictureId });
    const after = await analyst.client.query(api.analytics.classDistribution, { from: "2026-11-01", to: "2026-11-03" });
    expect(after.total).toBe(12);
    expect(after.byVersion.map((b) => [b.version.number, b.total])).toEqual([[1, 11], [2, 1]]);
    expect((await analyst.client.query(api.analytics.classDistribution, { from: "2026-11-01", to: "2026-11-01" })).total).toBe(3);
    expect((await analyst.client.query(api.analytics.classDistribution, { from: "2026-11-01", to: "2026-11-03", versionId: v2.versionId })).total).toBe(1);
  });

  test("timeSeries gives per-day counts per label and activation/rollback markers in range", async () => {
    const { t, v1, analyst, made } = await threeDays();
    const admin = await asUser(t, "admin");
    const audit = async (action: "activateVersion" | "rollback", reason: string, when: number) => {
      vi.setSystemTime(when);
      return t.run(async (ctx) => {
        const at = Date.now();
        await ctx.db.insert("auditLog", { actorId: admin.userId, action, toVersionId: v1.versionId, reason, at });
        return at;
      });
    };
    // convex-test keeps document times increasing, so the out-of-range entry comes after the range.
    const activatedAt = await audit("activateVersion", "go", Date.UTC(2026, 10, 3, 13));
    const rolledBackAt = await audit("rollback", "oops", Date.UTC(2026, 10, 3, 14));
    await audit("activateVersion", "later", Date.UTC(2026, 10, 10));
    const series = await analyst.client.query(api.analytics.timeSeries, { from: "2026-10-31", to: "2026-11-04" });
    expect(series.days).toEqual(["2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]);
    for (const { label, counts } of series.series) {
      const expected = series.days.map((d) => made.filter((m) => m.day === d && m.label === label).length);
      expect(counts).toEqual(expected);
    }
    expect(series.series.reduce((sum, s) => sum + s.counts.reduce((a, b) => a + b, 0), 0)).toBe(12);
    const version = { versionId: v1.versionId, number: 1, name: "test-model-1" };
    expect(series.markers).toEqual([
      { day: "2026-11-03", at: activatedAt, action: "activateVersion", version, reason: "go" },
      { day: "2026-11-03", at: rolledBackAt, action: "rollback", version, reason: "oops" },
    ]);
    const before = await analyst.client.query(api.analytics.timeSeries, { from: "2026-10-01", to: "2026-11-02" });
    expect(before.markers).toEqual([]);
  });

  test("confidenceHistogram puts each picture in its tenth of [0, 1]", async () => {
    const { analyst, made } = await threeDays();
    const histogram = await analyst.client.query(api.analytics.confidenceHistogram, { from: "2026-11-01", to: "2026-11-03" });
    expect(histogram.total).toBe(12);
    expect(histogram.bins).toHaveLength(10);
    expect(histogram.bins[3]).toMatchObject({ bin: 3, lower: 0.3, upper: 0.4 });
    const expected = new Array(10).fill(0);
    for (const m of made) expected[confidenceBin(m.confidence)] += 1;
    expect(histogram.bins.map((b) => b.count)).toEqual(expected);
  });

  test("drift between two windows: zero for the same window, positive for different ones, with a per-class breakdown", async () => {
    const { analyst } = await threeDays();
    const same = await analyst.client.query(api.analytics.drift, { a: { from: "2026-11-01", to: "2026-11-01" }, b: { from: "2026-11-01", to: "2026-11-01" } });
    expect(same.jensenShannon).toBeCloseTo(0, 12);
    expect(same.psi).toBeCloseTo(0, 12);
    expect(same.perClass.every((c) => c.shareA === c.shareB)).toBe(true);
    const differs = await analyst.client.query(api.analytics.drift, { a: { from: "2026-11-01", to: "2026-11-01" }, b: { from: "2026-11-02", to: "2026-11-03" } });
    expect(differs.totalA).toBe(4);
    expect(differs.totalB).toBe(8);
    expect(differs.jensenShannon).toBeGreaterThan(0);
    expect(differs.jensenShannon).toBeLessThanOrEqual(1);
    expect(differs.psi).toBeGreaterThan(0);
    const termSum = differs.perClass.reduce((sum, c) => sum + (c.jensenShannon ?? 0), 0);
    expect(differs.jensenShannon).toBeCloseTo(termSum, 12);
    // An empty window has nothing to compare.
    const empty = await analyst.client.query(api.analytics.drift, { a: { from: "2026-10-01", to: "2026-10-02" }, b: { from: "2026-11-01", to: "2026-11-03" } });
    expect(empty).toMatchObject({ jensenShannon: null, psi: null, totalA: 0, totalB: 12 });
    expect(differs.perClass.reduce((sum, c) => sum + c.countA, 0)).toBe(4);
    expect(differs.perClass.reduce((sum, c) => sum + c.countB, 0)).toBe(8);
    await expect(
      analyst.client.query(api.analytics.drift, { a: { from: "2026-11-02", to: "2026-11-01" }, b: { from: "2026-11-01", to: "2026-11-01" } }),
    ).rejects.toThrow(/a.from \(2026-11-02\) must not be after a.to \(2026-11-01\)/);
  });

  test("predictedVsConfirmed is bounded and says when it stopped reading", async () => {
    const { t, analyst, labeller, made } = await threeDays();
    await labeller.client.mutation(api.labels.set, { pictureId: made[0].pictureId, label: made[0].label });
    const matrix = await analyst.client.query(api.analytics.predictedVsConfirmed, { from: "2026-11-03", to: "2026-11-03" });
    expect(matrix).toEqual({ labels: [made[0].label], cells: [{ predicted: made[0].label, confirmed: made[0].label, count: 1 }], total: 1, truncated: false });

    await t.run(async (ctx) => {
      for (let i = 0; i < 5_001; i++) {
        await ctx.db.insert("labels", { pictureId: made[1].pictureId, labellerId: labeller.userId, label: "dog", predictedLabel: "cat", verdict: "corrected" });
      }
    });
    const big = await analyst.client.query(api.analytics.predictedVsConfirmed, { from: "2026-11-03", to: "2026-11-03" });
    expect(big.truncated).toBe(true);
    expect(big.total).toBe(5_000);
  });
});

describe("date ranges", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["2026-13-01", "2026-12-01", /range.from must be a UTC day as YYYY-MM-DD, got "2026-13-01"/],
    ["2026-02-01", "2026-02-30", /range.to must be a UTC day as YYYY-MM-DD, got "2026-02-30"/],
    ["yesterday", "2026-01-01", /range.from must be a UTC day as YYYY-MM-DD, got "yesterday"/],
    ["2026-03-02", "2026-03-01", /range.from \(2026-03-02\) must not be after range.to \(2026-03-01\)/],
    ["2025-01-01", "2026-01-02", /range spans 367 days \(2025-01-01 to 2026-01-02\); at most 366 days are allowed/],
  ];
  for (const [from, to, message] of cases) {
    test(`${from}..${to} is refused`, async () => {
      const t = makeBackend();
      const analyst = await asUser(t, "analyst");
      for (const query of [api.analytics.classDistribution, api.analytics.timeSeries, api.analytics.confidenceHistogram, api.analytics.predictedVsConfirmed]) {
        await expect(analyst.client.query(query, { from, to })).rejects.toThrow(message);
      }
    });
  }

  test("labellers cannot read analytics", async () => {
    const t = makeBackend();
    const labeller = await asUser(t, "labeller");
    await expect(labeller.client.query(api.analytics.classDistribution, { from: "2026-01-01", to: "2026-01-01" })).rejects.toThrow(/you are labeller/);
  });
});

/*
 * Scale: how many documents does a chart query read?
 *
 * convex-test enforces Convex's per-transaction limits when created with
 * `transactionLimits`; a `documentsRead` limit makes any function that reads
 * one document more than the limit throw "Scanned too many documents". Each
 * query below runs twice on identical data: once with the limit set to the
 * exact number of documents we expect it to read (it must pass) and once with
 * one fewer (it must fail). So the test pins the read count exactly:
 * counter rows in range + the caller's user document + the version documents
 * named in the answer. The backend also holds 1,000 classification documents
 * (and counters standing for 20,000 classifications); the control at the end
 * shows that reading the classifications instead would blow the budget.
 */
describe("scale: chart queries read only the counters in range", () => {
  const DAYS = 60;
  const VERSIONS = 2;
  const CLASSES = testClasses.length;
  const START = Date.UTC(2026, 8, 1);
  const from = day(START + 15 * DAY_MS);
  const to = day(START + 44 * DAY_MS);
  const DAYS_IN_RANGE = 30;

  async function seeded(documentsRead: number) {
    const t = makeBackend({ documentsRead });
    const versions = [await seedVersion(t, makeTestModel({ seed: 1 })), await seedVersion(t, makeTestModel({ seed: 2, name: "v2" }))];
    const analyst = await asUser(t, "analyst");
    // Counters for 20,000 classifications: 60 days × 2 versions × 12 classes, plus the confidence bins.
    let rowIndex = 0;
    let classTotalInRange = 0;
    for (let d = 0; d < DAYS; d++) {
      await t.run(async (ctx) => {
        const bucket = day(START + d * DAY_MS);
        const allVersions = new Map<string, number>();
        const add = async (versionId: Id<"modelVersions"> | undefined, kind: "class" | "confidence", key: string, count: number) =>
          ctx.db.insert("analyticsCounts", { period: "day", bucket, ...(versionId === undefined ? {} : { versionId }), kind, key, count });
        for (const { versionId } of versions) {
          for (const label of testClasses) {
            // 1,280 rows of 14 and 160 of 13: 20,000 in all.
            const count = rowIndex++ < 1280 ? 14 : 13;
            if (bucket >= from && bucket <= to) classTotalInRange += count;
            await add(versionId, "class", label, count);
            allVersions.set(`class:${label}`, (allVersions.get(`class:${label}`) ?? 0) + count);
          }
          for (let bin = 0; bin < 10; bin++) {
            const count = 16 + (bin < 6 ? 1 : 0);
            await add(versionId, "confidence", String(bin), count);
            allVersions.set(`confidence:${bin}`, (allVersions.get(`confidence:${bin}`) ?? 0) + count);
          }
        }
        // The rows for all versions together, as countClassification keeps them.
        for (const [scope, count] of allVersions) {
          const [kind, key] = scope.split(":") as ["class" | "confidence", string];
          await add(undefined, kind, key, count);
        }
      });
    }
    // 1,000 of those classifications as documents, with their features, spread over the days.
    const uploaderId = await t.run((ctx) => ctx.db.insert("users", { email: "bulk@example.com", role: "labeller" }));
    for (let batch = 0; batch < 10; batch++) {
      await t.run(async (ctx) => {
        for (let i = 0; i < 100; i++) {
          const n = batch * 100 + i;
          const versionId = versions[n % 2].versionId;
          const features = sampleFeatures(n);
          const pictureId = await ctx.db.insert("pictures", { uploaderId, fileName: `${n}.jpg`, contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: false });
          const featuresId = await storeFeatures(ctx, features, pictureId);
          await ctx.db.insert("classifications", {
            pictureId, versionId, versionNumber: (n % 2) + 1, probabilities: new Array(CLASSES).fill(1 / CLASSES), labelIndex: n % CLASSES,
            label: testClasses[n % CLASSES], confidence: 0.5, featuresId, day: day(START + (n % DAYS) * DAY_MS), current: true,
          });
        }
      });
    }
    return { t, analyst, versions, classTotalInRange };
  }

  const classRowsInRange = DAYS_IN_RANGE * VERSIONS * CLASSES;
  type ChartQuery = "classDistribution" | "confidenceHistogram" | "timeSeries" | "classDistributionOfOneVersion";
  const budgets: Record<ChartQuery, number> = {
    // every version's rows (and the all-versions rows beside them in the index) + caller + the two versions named in byVersion
    classDistribution: classRowsInRange + DAYS_IN_RANGE * CLASSES + 1 + VERSIONS,
    // the all-versions rows only
    confidenceHistogram: DAYS_IN_RANGE * 10 + 1,
    // the all-versions rows + caller (no audit entries in range)
    timeSeries: DAYS_IN_RANGE * CLASSES + 1,
    // a version filter reads that version's rows only
    classDistributionOfOneVersion: DAYS_IN_RANGE * CLASSES + 1 + 1,
  };

  test("classDistribution, confidenceHistogram and timeSeries read exactly the counter rows in range", async () => {
    // One backend per distinct limit: a query passes on every backend whose limit is at least its budget.
    const limits = [...new Set(Object.values(budgets).flatMap((budget) => [budget, budget - 1]))].sort((a, b) => a - b);
    const backends = new Map<number, Awaited<ReturnType<typeof seeded>>>();
    for (const limit of limits) backends.set(limit, await seeded(limit));
    const run = (name: ChartQuery, backend: Awaited<ReturnType<typeof seeded>>) =>
      name === "classDistributionOfOneVersion"
        ? backend.analyst.client.query(api.analytics.classDistribution, { from, to, versionId: backend.versions[0].versionId })
        : backend.analyst.client.query(api.analytics[name], { from, to });

    for (const [name, budget] of Object.entries(budgets) as Array<[ChartQuery, number]>) {
      await expect(run(name, backends.get(budget)!), `${name} within ${budget} reads`).resolves.toBeTruthy();
      await expect(run(name, backends.get(budget - 1)!), `${name} within ${budget - 1} reads`).rejects.toThrow(/Scanned too many documents/);
    }

    const largest = backends.get(Math.max(...limits))!;
    const distribution = await largest.analyst.client.query(api.analytics.classDistribution, { from, to });
    expect(distribution.total).toBe(largest.classTotalInRange);
    expect(distribution.byVersion).toHaveLength(2);
    const histogram = await largest.analyst.client.query(api.analytics.confidenceHistogram, { from, to });
    expect(histogram.total).toBe(DAYS_IN_RANGE * VERSIONS * (16 * 10 + 6));
    const series = await largest.analyst.client.query(api.analytics.timeSeries, { from, to });
    expect(series.series.reduce((sum, entry) => sum + entry.counts.reduce((a, b) => a + b, 0), 0)).toBe(largest.classTotalInRange);

    // Control: the same budget is far too small to count from the classifications themselves (each with its features).
    await expect(
      largest.t.run(async (ctx) => {
        for (const classification of await ctx.db.query("classifications").collect()) await ctx.db.get(classification.featuresId);
      }),
    ).rejects.toThrow(/Scanned too many documents/);
  }, 120_000);
});

describe("drift reads both windows on one budget", () => {
  test("two windows of 12,600 counter rows each (within partial months, so no monthly rows help) are refused together with a sentence", async () => {
    const t = makeBackend();
    const analyst = await asUser(t, "analyst");
    // 42 days × 300 keys per window: the all-versions rows of a deployment whose versions together know 300 classes.
    const keys = Array.from({ length: 300 }, (_, i) => `class-${i}`);
    const windowA = { start: Date.UTC(2025, 0, 10), days: 42 };
    const windowB = { start: Date.UTC(2025, 2, 10), days: 42 };
    const rows: Array<{ bucket: string; key: string }> = [];
    for (const window of [windowA, windowB]) {
      for (let d = 0; d < window.days; d++) for (const key of keys) rows.push({ bucket: day(window.start + d * DAY_MS), key });
    }
    for (let from = 0; from < rows.length; from += 8000) {
      await t.run(async (ctx) => {
        for (const row of rows.slice(from, from + 8000)) await ctx.db.insert("analyticsCounts", { period: "day", bucket: row.bucket, kind: "class", key: row.key, count: 1 });
      });
    }
    const rangeOf = (window: typeof windowA) => ({ from: day(window.start), to: day(window.start + (window.days - 1) * DAY_MS) });
    const a = rangeOf(windowA);
    const b = rangeOf(windowB);
    await expect(analyst.client.query(api.analytics.drift, { a, b })).rejects.toThrow(
      `${b.from} to ${b.to} needs more than 20000 counter rows: choose a shorter range or one version.`,
    );
    // One window is within the budget on its own.
    const series = await analyst.client.query(api.analytics.timeSeries, a);
    expect(series.series.reduce((sum, entry) => sum + entry.counts.reduce((x, y) => x + y, 0), 0)).toBe(42 * 300);
  }, 120_000);
});
