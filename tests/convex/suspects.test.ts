import { afterEach, beforeAll, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { foldOfItem, SUSPECT_FOLDS, SUSPECT_INTERRUPTED_MESSAGE, SUSPECT_STALL_MS } from "../../convex/model/suspects";
import { seededRandom } from "../../convex/lib/seededRandom";
import { asUser, ensureAuthEnv, makeBackend, type Backend, type UserClient } from "./harness";
import { classifiedPicture, makeTestModel, seedActiveVersion, testClasses } from "./fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";

beforeAll(ensureAuthEnv);
vi.setConfig({ testTimeout: 120_000 });
afterEach(() => {
  vi.useRealTimers();
});

/** Separable synthetic features: one random centre per class, items scattered tightly around it. */
function clusteredSet(perClass: number, seed: number) {
  const random = seededRandom(seed);
  const centres = testClasses.map(() => Array.from({ length: 512 }, () => random() * 2 - 1));
  const items: Array<{ features: number[]; label: string; trueLabel: string }> = [];
  for (let c = 0; c < testClasses.length; c++) {
    for (let i = 0; i < perClass; i++) {
      items.push({ features: centres[c].map((x) => Math.fround(x + (random() - 0.5) * 0.6)), label: testClasses[c], trueLabel: testClasses[c] });
    }
  }
  // Flip 5% of the labels to another class.
  const flipped = new Set<number>();
  while (flipped.size < Math.round(items.length * 0.05)) flipped.add(Math.floor(random() * items.length));
  for (const index of flipped) {
    const other = testClasses[(testClasses.indexOf(items[index].label) + 1 + Math.floor(random() * 11)) % testClasses.length];
    items[index] = { ...items[index], label: other };
  }
  return { items, flipped };
}

async function importSet(admin: { client: UserClient }, items: Array<{ features: number[]; label: string }>) {
  for (let start = 0; start < items.length; start += 200) {
    await admin.client.mutation(api.labelledSet.importItems, { name: "field set", items: items.slice(start, start + 200).map(({ features, label }) => ({ features, label })) });
  }
}

const runAll = (t: Backend) => t.finishAllScheduledFunctions(vi.runAllTimers);

describe("suspect labels", () => {
  test("k-fold training finds at least 80% of 5% flipped labels and flags at most 5% of the clean ones", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel());
    const { items, flipped } = clusteredSet(40, 3);
    await importSet(admin, items);
    const runId = await admin.client.mutation(api.suspects.start, { method: "kfold" });
    await runAll(t);
    const { latest } = await admin.client.query(api.suspects.status, {});
    expect(latest).toMatchObject({ _id: runId, status: "done", method: "kfold", folds: SUSPECT_FOLDS, foldsDone: SUSPECT_FOLDS, itemCount: items.length });
    const suspects = await t.run((ctx) => ctx.db.query("suspects").collect());
    const stored = await t.run((ctx) => ctx.db.query("labelledItems").collect());
    // Items were imported in order, so the nth stored item is items[n].
    const indexOf = new Map(stored.map((item, index) => [item._id, index]));
    const flaggedIndices = new Set(suspects.map((suspect) => indexOf.get(suspect.itemId)!));
    const found = [...flipped].filter((index) => flaggedIndices.has(index)).length;
    const cleanFlagged = [...flaggedIndices].filter((index) => !flipped.has(index)).length;
    const foundRate = found / flipped.size;
    const cleanRate = cleanFlagged / (items.length - flipped.size);
    console.log(`suspects k-fold: found ${found}/${flipped.size} flipped (${(foundRate * 100).toFixed(1)}%), flagged ${cleanFlagged}/${items.length - flipped.size} clean (${(cleanRate * 100).toFixed(2)}%)`);
    expect(foundRate).toBeGreaterThanOrEqual(0.8);
    expect(cleanRate).toBeLessThanOrEqual(0.05);
    for (const suspect of suspects.filter((s) => flipped.has(indexOf.get(s.itemId)!))) {
      expect(suspect.suspectedLabel).toBe(items[indexOf.get(suspect.itemId)!].trueLabel);
    }
    // The fold data is cleaned up; the run says how many it flagged.
    expect(await t.run((ctx) => ctx.db.query("suspectFolds").collect())).toEqual([]);
    expect(latest?.flaggedCount).toBe(suspects.length);
  });

  test("an item's fold depends only on its id, and the folds are about equal", () => {
    const ids = Array.from({ length: 5000 }, (_, i) => `${String(i).padStart(6, "0")}labelledItems`);
    const sizes = new Array(SUSPECT_FOLDS).fill(0);
    for (const id of ids) sizes[foldOfItem(id, SUSPECT_FOLDS)] += 1;
    expect(foldOfItem(ids[7], SUSPECT_FOLDS)).toBe(foldOfItem(ids[7], SUSPECT_FOLDS));
    for (const size of sizes) expect(Math.abs(size - 1000)).toBeLessThan(100);
  });

  test("a labeller keeps or fixes each flagged item (a picture's fix relabels the picture), both audited; compare reports the set with and without them", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const labeller = await asUser(t, "labeller");
    await seedActiveVersion(t, makeTestModel({ seed: 1 }));
    const candidate = await seedVersion(t, makeTestModel({ seed: 2, name: "candidate" }));
    const { items } = clusteredSet(30, 5);
    await importSet(admin, items);
    // One labelled picture too, so a fix can go through its label.
    const { pictureId, result } = await classifiedPicture(t, labeller.client, 9);
    await labeller.client.mutation(api.labels.set, { pictureId, label: result.label });
    await admin.client.mutation(api.suspects.start, { method: "kfold" });
    await runAll(t);
    const queue = await labeller.client.query(api.suspects.queue, { limit: 100 });
    expect(queue.length).toBeGreaterThan(2);
    const scores = queue.map((row) => row.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));

    const comparison = await admin.client.action(api.evaluation.compare, { candidateId: candidate.versionId });
    expect(comparison.withoutSuspects).toMatchObject({ flaggedInSet: queue.length, itemCount: comparison.itemCount - queue.length });

    const [first, second] = queue;
    await labeller.client.mutation(api.suspects.keep, { suspectId: first._id });
    await labeller.client.mutation(api.suspects.fix, { suspectId: second._id, label: second.suspectedLabel });
    await expect(labeller.client.mutation(api.suspects.keep, { suspectId: first._id })).rejects.toThrow("This flagged item was already kept.");
    await expect(labeller.client.mutation(api.suspects.fix, { suspectId: queue[2]._id, label: "unicorn" })).rejects.toThrow(/"unicorn" is not one of the set's classes/);
    const left = await labeller.client.query(api.suspects.queue, { limit: 100 });
    expect(left.map((row) => row._id)).not.toContain(first._id);
    expect(left.map((row) => row._id)).not.toContain(second._id);
    const fixedItem = await t.run(async (ctx) => ctx.db.get((await ctx.db.get(second._id))!.itemId));
    expect(fixedItem?.label).toBe(second.suspectedLabel);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.filter((entry) => entry.action === "keepSuspectLabel")).toHaveLength(1);
    expect(audit.filter((entry) => entry.action === "fixSuspectLabel")).toHaveLength(1);
    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary.total).toBe(items.length + 1);
  });

  test("averaging registered versions needs versions with the active version's classes, and says when the set is too small", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await expect(admin.client.mutation(api.suspects.start, { method: "versions" })).rejects.toThrow(/No version is active/);
    await seedActiveVersion(t, makeTestModel({ seed: 1 }));
    await seedVersion(t, makeTestModel({ seed: 2, name: "twin classes" }));
    await expect(admin.client.mutation(api.suspects.start, { method: "kfold" })).rejects.toThrow(
      /The labelled set has 0 items in 0 classes; looking for wrong labels needs at least 2 classes and 5 items per class/,
    );
    await importSet(admin, clusteredSet(8, 7).items);
    const runId = await admin.client.mutation(api.suspects.start, { method: "versions" });
    await expect(admin.client.mutation(api.suspects.start, { method: "kfold" })).rejects.toThrow(/already running/);
    await runAll(t);
    const { latest } = await admin.client.query(api.suspects.status, {});
    expect(latest).toMatchObject({ _id: runId, status: "done", method: "versions", folds: 1 });
    expect(latest?.versions.map((version) => version.name)).toEqual(["test-model-1", "twin classes"]);
    expect(await t.query(internal.suspects.openItemIds, {})).toMatchObject({ runId });
  });

  test("a search whose step died is marked failed by the cron after 10 minutes, and a new one may start", async () => {
    vi.useFakeTimers();
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel());
    await importSet(admin, clusteredSet(8, 11).items);
    const runId = await admin.client.mutation(api.suspects.start, { method: "kfold" });
    await t.run(async (ctx) => ctx.scheduler.cancel((await ctx.db.get(runId))!.jobId!));
    expect(await t.mutation(internal.suspectSearch.recoverStalled, {})).toEqual({ markedFailed: 0 });
    vi.advanceTimersByTime(SUSPECT_STALL_MS + 1000);
    expect(await t.mutation(internal.suspectSearch.recoverStalled, {})).toEqual({ markedFailed: 1 });
    expect((await admin.client.query(api.suspects.status, {})).latest).toMatchObject({ status: "failed", error: SUSPECT_INTERRUPTED_MESSAGE });
    await admin.client.mutation(api.suspects.start, { method: "kfold" });
  });
});
