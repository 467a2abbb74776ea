import { beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { classifiedPicture, countedClassifications, makeTestModel, sampleFeatures, seedActiveVersion, storeImage } from "./fixtures";

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core CI machine the heavier stories need more than the default 5 s.
vi.setConfig({ testTimeout: 30_000 });

async function setup() {
  const t = makeBackend();
  const version = await seedActiveVersion(t, makeTestModel());
  const labeller = await asUser(t, "labeller");
  return { t, version, labeller };
}

const firstPage = { numItems: 50, cursor: null };
const countersTotal = (t: Backend) => countedClassifications(t);

describe("pictures.list", () => {
  test("every member sees the team's pictures, newest first, without features, and removed ones are gone", async () => {
    const { t, labeller } = await setup();
    const colleague = await asUser(t, "labeller");
    const a = await classifiedPicture(t, labeller.client, 1);
    const b = await classifiedPicture(t, colleague.client, 2);
    const c = await classifiedPicture(t, labeller.client, 3);
    await labeller.client.mutation(api.pictures.remove, { pictureId: c.pictureId });

    for (const role of ["labeller", "analyst", "admin"] as const) {
      const viewer = await asUser(t, role);
      const page = await viewer.client.query(api.pictures.list, { filter: {}, paginationOpts: firstPage });
      expect(page.page.map((p) => p._id)).toEqual([b.pictureId, a.pictureId]);
    }
    const page = await labeller.client.query(api.pictures.list, { filter: {}, paginationOpts: firstPage });
    for (const summary of page.page) {
      expect(summary).not.toHaveProperty("features");
      expect(typeof summary.imageUrl).toBe("string");
      expect(Math.round(summary.confidence! * 1000) / 1000).toBe(summary.confidence);
    }
  });

  test("filters by label, version, labelled and upload time, and paginates", async () => {
    const { t, labeller, version } = await setup();
    const made: Array<Awaited<ReturnType<typeof classifiedPicture>>> = [];
    for (let seed = 1; seed <= 6; seed++) made.push(await classifiedPicture(t, labeller.client, seed));
    const byLabel = made.filter((m) => m.result.label === made[0].result.label).map((m) => m.pictureId);
    const labelPage = await labeller.client.query(api.pictures.list, { filter: { classLabel: made[0].result.label }, paginationOpts: firstPage });
    expect(labelPage.page.map((p) => p._id).sort()).toEqual([...byLabel].sort());

    await labeller.client.mutation(api.labels.set, { pictureId: made[1].pictureId, label: made[1].result.label });
    const labelled = await labeller.client.query(api.pictures.list, { filter: { labelled: true }, paginationOpts: firstPage });
    expect(labelled.page.map((p) => p._id)).toEqual([made[1].pictureId]);
    expect(labelled.page[0].confirmedLabel).toBe(made[1].result.label);
    const unlabelled = await labeller.client.query(api.pictures.list, { filter: { labelled: false, versionId: version.versionId }, paginationOpts: firstPage });
    expect(unlabelled.page).toHaveLength(5);

    const times = await t.run(async (ctx) => Promise.all(made.map(async (m) => (await ctx.db.get(m.pictureId))!._creationTime)));
    const window = await labeller.client.query(api.pictures.list, { filter: { from: times[2], to: times[3] }, paginationOpts: firstPage });
    expect(window.page.map((p) => p._id)).toEqual([made[3].pictureId, made[2].pictureId]);

    const first = await labeller.client.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 4, cursor: null } });
    const second = await labeller.client.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 4, cursor: first.continueCursor } });
    expect(first.page).toHaveLength(4);
    expect(second.page).toHaveLength(2);
    expect(second.isDone).toBe(true);

    await expect(
      labeller.client.query(api.pictures.list, { filter: { from: 10, to: 5 }, paginationOpts: firstPage }),
    ).rejects.toThrow(/The date range is reversed: from 1970-01-01T00:00:00.010Z is after to 1970-01-01T00:00:00.005Z/);
  });
});

describe("pictures.get", () => {
  test("returns the image URL, the rounded top-3 result, the version's classes and the label", async () => {
    const { t, labeller } = await setup();
    const { pictureId, result } = await classifiedPicture(t, labeller.client, 1);
    const analyst = await asUser(t, "analyst");
    const view = await analyst.client.query(api.pictures.get, { pictureId });
    expect(typeof view?.picture.imageUrl).toBe("string");
    expect(view?.result).toEqual(result);
    expect(view?.classes).toEqual(makeTestModel().classes);
    expect(view?.label).toBeNull();
    expect(view).not.toHaveProperty("picture.features");

    await labeller.client.mutation(api.labels.set, { pictureId, label: "bus" });
    const labelled = await analyst.client.query(api.pictures.get, { pictureId });
    expect(labelled?.label).toMatchObject({ label: "bus", predictedLabel: result.label, labellerId: labeller.userId });
  });

  test("an unclassified picture has no result; a picture without an image has no URL; a removed one is null", async () => {
    const { labeller } = await setup();
    const pictureId = await labeller.client.mutation(api.pictures.record, { fileName: "no-image.jpg", contentType: "image/jpeg" });
    const view = await labeller.client.query(api.pictures.get, { pictureId });
    expect(view).toMatchObject({ result: null, classes: [], label: null, picture: { imageUrl: null, status: "uploaded" } });
    await labeller.client.mutation(api.pictures.remove, { pictureId });
    expect(await labeller.client.query(api.pictures.get, { pictureId })).toBeNull();
  });
});

describe("pictures.reviewQueue", () => {
  test("unlabelled classified pictures, least confident first; labelled, failed, unclassified and removed ones are left out", async () => {
    const { t, labeller } = await setup();
    const made: Array<Awaited<ReturnType<typeof classifiedPicture>>> = [];
    for (let seed = 1; seed <= 8; seed++) made.push(await classifiedPicture(t, labeller.client, seed));
    await labeller.client.mutation(api.labels.set, { pictureId: made[0].pictureId, label: made[0].result.label });
    await labeller.client.mutation(api.pictures.remove, { pictureId: made[1].pictureId });
    const failing = await labeller.client.mutation(api.pictures.record, { storageId: await storeImage(t), fileName: "f.jpg", contentType: "image/jpeg" });
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId: failing, clipFeatures: [] }),
    ).rejects.toThrow();
    await labeller.client.mutation(api.pictures.record, { fileName: "u.jpg", contentType: "image/jpeg" });

    const expected = await t.run(async (ctx) => {
      const docs = await Promise.all(made.slice(2).map((m) => ctx.db.get(m.pictureId)));
      return docs.sort((a, b) => a!.confidence! - b!.confidence!).map((d) => d!._id);
    });
    const queue = await labeller.client.query(api.pictures.reviewQueue, { limit: 10 });
    expect(queue.map((p) => p._id)).toEqual(expected);
    const confidences = queue.map((p) => p.confidence!);
    expect([...confidences].sort((a, b) => a - b)).toEqual(confidences);
    expect(await labeller.client.query(api.pictures.reviewQueue, { limit: 2 })).toHaveLength(2);
  });

  test("the limit must be a whole number from 1 to 100", async () => {
    const { labeller } = await setup();
    for (const limit of [0, 101, 1.5]) {
      await expect(labeller.client.query(api.pictures.reviewQueue, { limit })).rejects.toThrow(
        new RegExp(`The review queue shows 1 to 100 pictures, not ${limit}`),
      );
    }
  });
});

describe("pictures.remove", () => {
  test("the uploader or an admin may remove; counters, label and labelled-set item go with it", async () => {
    const { t, labeller } = await setup();
    const mine = await classifiedPicture(t, labeller.client, 1);
    const other = await classifiedPicture(t, labeller.client, 2);
    await labeller.client.mutation(api.labels.set, { pictureId: mine.pictureId, label: "cat" });
    expect(await countersTotal(t)).toBe(2);

    const colleague = await asUser(t, "labeller");
    await expect(colleague.client.mutation(api.pictures.remove, { pictureId: mine.pictureId })).rejects.toThrow(
      /only the picture's uploader or an admin may remove it/,
    );

    await labeller.client.mutation(api.pictures.remove, { pictureId: mine.pictureId });
    expect(await countersTotal(t)).toBe(1);
    const state = await t.run(async (ctx) => ({
      picture: await ctx.db.get(mine.pictureId),
      labels: await ctx.db.query("labels").withIndex("by_picture", (q) => q.eq("pictureId", mine.pictureId)).collect(),
      items: await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", mine.pictureId)).collect(),
    }));
    expect(state.picture).toMatchObject({ deleted: true, labelled: false });
    expect(state.labels).toEqual([]);
    expect(state.items).toEqual([]);
    await expect(labeller.client.mutation(api.pictures.remove, { pictureId: mine.pictureId })).rejects.toThrow(/does not exist or was removed/);

    const admin = await asUser(t, "admin");
    await admin.client.mutation(api.pictures.remove, { pictureId: other.pictureId });
    expect(await countersTotal(t)).toBe(0);
    expect(await t.run((ctx) => ctx.db.query("analyticsCounts").collect())).toEqual([]);
  });

  test("removing an unclassified picture touches no counters", async () => {
    const { t, labeller } = await setup();
    await classifiedPicture(t, labeller.client, 1);
    const pictureId: Id<"pictures"> = await labeller.client.mutation(api.pictures.record, { fileName: "x.jpg", contentType: "image/jpeg" });
    await labeller.client.mutation(api.pictures.remove, { pictureId });
    expect(await countersTotal(t)).toBe(1);
    // and it can no longer be classified
    await expect(
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(3) }),
    ).rejects.toThrow(/was removed/);
  });

  test("removing a picture deletes its stored image and its features at once: its old URL serves nothing", async () => {
    const { t, labeller } = await setup();
    const { pictureId } = await classifiedPicture(t, labeller.client, 7);
    const before = await t.run(async (ctx) => ctx.db.get(pictureId));
    const storageId = before!.storageId!;
    expect(await t.run(async (ctx) => ctx.storage.getUrl(storageId))).not.toBeNull();
    await labeller.client.mutation(api.pictures.remove, { pictureId });
    expect(await t.run(async (ctx) => ctx.storage.get(storageId))).toBeNull();
    expect(await t.run(async (ctx) => ctx.storage.getUrl(storageId))).toBeNull();
    expect(await t.run((ctx) => ctx.db.query("features").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect())).toEqual([]);
    const after = await t.run(async (ctx) => ctx.db.get(pictureId));
    expect(after).toMatchObject({ deleted: true });
    expect(after?.storageId).toBeUndefined();
    expect(after?.featuresId).toBeUndefined();
  });
});
