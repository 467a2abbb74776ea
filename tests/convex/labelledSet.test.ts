import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { MAX_LABELLED_ITEMS, removePictureItems, upsertPictureItem } from "../../convex/model/labelledSet";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { classifiedPicture, insertLabelledPicture, makeTestModel, sampleFeatures, seedActiveVersion } from "./fixtures";
import { activateDirectly, seedVersion } from "../../tools/convexTest/seedVersions";

beforeAll(ensureAuthEnv);
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function items(labels: string[], firstSeed = 1) {
  return labels.map((label, i) => ({ features: sampleFeatures(firstSeed + i), label }));
}

async function allPages(t: Backend) {
  const seen: Array<{ label: string; pictureId: Id<"pictures"> | null }> = [];
  let cursor: string | null = null;
  for (;;) {
    const page: { page: Array<{ label: string; pictureId: Id<"pictures"> | null }>; isDone: boolean; continueCursor: string } = await t.query(
      internal.labelledSet.page,
      { paginationOpts: { numItems: 3, cursor } },
    );
    seen.push(...page.page.map(({ label, pictureId }) => ({ label, pictureId })));
    if (page.isDone) return seen;
    cursor = page.continueCursor;
  }
}

describe("importing labelled items", () => {
  test("labels are checked against version classes, so a version must exist first", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await expect(admin.client.mutation(api.labelledSet.importItems, { name: "set", items: items(["cat"]) })).rejects.toThrow(
      /there are no model versions yet.*Import a model version first/,
    );
  });

  test("every bad item is reported with its index: feature count, non-finite values, unknown labels", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await seedVersion(t, makeTestModel({ seed: 1, name: "demo-v1", classes: ["cat", "dog"] }));
    await activateDirectly(t, v1.versionId);
    const withNaN = sampleFeatures(3);
    withNaN[7] = Number.NaN;
    const attempt = admin.client.mutation(api.labelledSet.importItems, {
      name: "set",
      items: [
        { features: sampleFeatures(1), label: "cat" },
        { features: sampleFeatures(2).slice(0, 511), label: "dog" },
        { features: withNaN, label: "cat" },
        { features: sampleFeatures(4), label: "zebra" },
        { features: new Array(512).fill(0), label: "dog" },
      ],
    });
    await expect(attempt).rejects.toThrow(/items\[1\]: Expected 512 CLIP features, got 511/);
    await expect(attempt).rejects.toThrow(/items\[2\]: feature\[7\] is not a finite number \(NaN\)/);
    await expect(attempt).rejects.toThrow(
      /items\[3\]\.label \\?"zebra\\?" is not a class of the active version v1 “demo-v1” \(\\?"cat\\?", \\?"dog\\?"\) nor of any other version/,
    );
    await expect(attempt).rejects.toThrow(/items\[4\]: features are all zeros/);
    expect(await t.run((ctx) => ctx.db.query("labelledItems").collect())).toHaveLength(0);
  });

  test("chunk size and name length are limited, and the limits are stated", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    const tooMany = Array.from({ length: 201 }, () => ({ features: sampleFeatures(1), label: "cat" }));
    await expect(admin.client.mutation(api.labelledSet.importItems, { name: "set", items: tooMany })).rejects.toThrow(
      /items has 201 entries; the limit is 200 per call, so send the set in chunks/,
    );
    await expect(admin.client.mutation(api.labelledSet.importItems, { name: "n".repeat(101), items: items(["cat"]) })).rejects.toThrow(
      /name is 101 characters; the limit is 100/,
    );
    await expect(admin.client.mutation(api.labelledSet.importItems, { name: "set", items: [] })).rejects.toThrow(/items is empty/);
  });

  test("the whole set is capped, with the numbers in the refusal", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    await admin.client.mutation(api.labelledSet.importItems, { name: "set", items: items(["cat"]) });
    // Stand in for a nearly full set without writing twenty thousand 512-float rows.
    await t.run(async (ctx) => {
      const counter = (await ctx.db.query("labelledCounts").first())!;
      await ctx.db.patch(counter._id, { count: MAX_LABELLED_ITEMS - 1 });
    });
    await expect(admin.client.mutation(api.labelledSet.importItems, { name: "set", items: items(["cat", "dog"], 50) })).rejects.toThrow(
      new RegExp(`the set holds ${MAX_LABELLED_ITEMS - 1} items and this chunk adds 2; the limit is ${MAX_LABELLED_ITEMS}`),
    );
  });

  test("chunks with the same name extend one import; labels only an older version knows are accepted and named", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "alice@example.com");
    await seedVersion(t, makeTestModel({ seed: 1, classes: ["cat", "dog", "zebra"] }));
    const current = await seedVersion(t, makeTestModel({ seed: 2, classes: ["cat", "dog"] }));
    await activateDirectly(t, current.versionId);

    const first = await admin.client.mutation(api.labelledSet.importItems, { name: "field-set", items: items(["cat", "dog", "cat"]) });
    expect(first).toMatchObject({ added: 3, importItemCount: 3, labelsUnknownToActive: [] });
    const second = await admin.client.mutation(api.labelledSet.importItems, { name: " field-set ", items: items(["zebra", "dog"], 10) });
    expect(second).toEqual({ importId: first.importId, added: 2, duplicates: 0, importItemCount: 5, labelsUnknownToActive: ["zebra"] });

    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary.total).toBe(5);
    expect(summary.bySource).toEqual({ picture: 0, import: 5 });
    expect(summary.labels).toEqual([
      { label: "cat", picture: 0, import: 2, total: 2, knownToActive: true },
      { label: "dog", picture: 0, import: 2, total: 2, knownToActive: true },
      { label: "zebra", picture: 0, import: 1, total: 1, knownToActive: false },
    ]);
    expect(summary.imports).toEqual([
      expect.objectContaining({ _id: first.importId, name: "field-set", itemCount: 5, importedByEmail: "alice@example.com" }),
    ]);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((entry) => [entry.action, entry.details])).toEqual([
      ["importLabelledSet", '"field-set": +3 items (3 in this import)'],
      ["importLabelledSet", '"field-set": +2 items (5 in this import)'],
    ]);
  });

  test("only admins import or read the summary", async () => {
    const t = makeBackend();
    await seedVersion(t, makeTestModel({ seed: 1 }));
    for (const role of ["labeller", "analyst"] as const) {
      const { client } = await asUser(t, role);
      await expect(client.mutation(api.labelledSet.importItems, { name: "set", items: items(["cat"]) })).rejects.toThrow(/needs the admin role/);
      await expect(client.query(api.labelledSet.summary, {})).rejects.toThrow(/needs the admin role/);
    }
  });
});

describe("labeller-confirmed pictures", () => {
  test("a confirmed picture joins the set, a relabel moves it between labels, and removal takes it out", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const { pictureId, featuresId } = await insertLabelledPicture(t, admin.userId, sampleFeatures(42));
    expect(await t.run((ctx) => upsertPictureItem(ctx, pictureId, "cat", featuresId))).toBe("added");
    expect((await admin.client.query(api.labelledSet.summary, {})).labels).toEqual([
      { label: "cat", picture: 1, import: 0, total: 1, knownToActive: false },
    ]);
    expect(await t.run((ctx) => upsertPictureItem(ctx, pictureId, "dog", featuresId))).toBe("updated");
    const relabelled = await admin.client.query(api.labelledSet.summary, {});
    expect(relabelled.labels.map((entry) => [entry.label, entry.picture])).toEqual([["dog", 1]]);
    expect(await allPages(t)).toEqual([{ label: "dog", pictureId }]);

    await t.run((ctx) => removePictureItems(ctx, pictureId));
    await t.run((ctx) => removePictureItems(ctx, pictureId));
    expect((await admin.client.query(api.labelledSet.summary, {})).total).toBe(0);
    expect(await t.run((ctx) => ctx.db.query("labelledItems").collect())).toHaveLength(0);
  });

  test("a labeller's confirmation respects the cap: the label is saved, the set does not grow, and the answer says so", async () => {
    const t = makeBackend();
    await seedActiveVersion(t, makeTestModel({ seed: 1 }));
    const admin = await asUser(t, "admin");
    await admin.client.mutation(api.labelledSet.importItems, { name: "set", items: items(["cat"]) });
    await t.run(async (ctx) => {
      const counter = (await ctx.db.query("labelledCounts").first())!;
      await ctx.db.patch(counter._id, { count: MAX_LABELLED_ITEMS });
    });
    const labeller = await asUser(t, "labeller");
    const { pictureId, result } = await classifiedPicture(t, labeller.client, 5);
    expect(await labeller.client.mutation(api.labels.set, { pictureId, label: result.label })).toEqual({ verdict: "accepted", labelledSet: "full" });
    expect(await t.run((ctx) => ctx.db.query("labels").collect())).toHaveLength(1);
    expect(await t.run((ctx) => ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect())).toEqual([]);
  });
});

describe("duplicates and single items", () => {
  test("importing the same file twice adds nothing the second time, and says how many were already there", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    const file = items(["cat", "dog", "cat"]);
    expect(await admin.client.mutation(api.labelledSet.importItems, { name: "a", items: file })).toMatchObject({ added: 3, duplicates: 0 });
    expect(await admin.client.mutation(api.labelledSet.importItems, { name: "a again", items: [...file, file[0]] })).toMatchObject({ added: 0, duplicates: 4 });
    // The same features under another label are another item.
    expect(await admin.client.mutation(api.labelledSet.importItems, { name: "b", items: [{ ...file[0], label: "dog" }] })).toMatchObject({ added: 1, duplicates: 0 });
    expect((await admin.client.query(api.labelledSet.summary, {})).total).toBe(4);
  });

  test("an admin lists the items (newest first, with where each came from) and removes one", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    await admin.client.mutation(api.labelledSet.importItems, { name: "field", items: items(["cat", "dog"]) });
    const listed = await admin.client.query(api.labelledSet.items, { paginationOpts: { numItems: 10, cursor: null } });
    expect(listed.page.map((item) => [item.label, item.source, item.importName])).toEqual([
      ["dog", "import", "field"],
      ["cat", "import", "field"],
    ]);
    await admin.client.mutation(api.labelledSet.removeItem, { itemId: listed.page[0]._id });
    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary.labels.map((entry) => [entry.label, entry.total])).toEqual([["cat", 1]]);
    expect(summary.imports[0].itemCount).toBe(1);
    expect(await t.run((ctx) => ctx.db.query("features").collect())).toHaveLength(1);
    await expect(admin.client.mutation(api.labelledSet.removeItem, { itemId: listed.page[0]._id })).rejects.toThrow(/it may already have been removed/);
  });
});

describe("removing imports", () => {
  test("removeImport drops the import from counts and pages at once, and deletes its items in the background", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    const { pictureId, featuresId } = await insertLabelledPicture(t, admin.userId, sampleFeatures(99));
    await t.run((ctx) => upsertPictureItem(ctx, pictureId, "bird", featuresId));
    const kept = await admin.client.mutation(api.labelledSet.importItems, { name: "kept", items: items(["cat", "dog"]) });
    const dropped = await admin.client.mutation(api.labelledSet.importItems, { name: "dropped", items: items(["cat", "cat", "cow", "cow", "car"], 20) });
    expect((await allPages(t)).length).toBe(8);

    await admin.client.mutation(api.labelledSet.removeImport, { importId: dropped.importId });
    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary.total).toBe(3);
    expect(summary.imports.map((record) => record._id)).toEqual([kept.importId]);
    expect((await allPages(t)).map((item) => item.label).sort()).toEqual(["bird", "cat", "dog"]);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect(await t.run((ctx) => ctx.db.query("labelledItems").collect())).toHaveLength(3);
    await expect(admin.client.mutation(api.labelledSet.removeImport, { importId: dropped.importId })).rejects.toThrow(
      /No labelled import with id .*: it may already have been removed/,
    );
    const audit = await t.run((ctx) => ctx.db.query("auditLog").withIndex("by_action", (q) => q.eq("action", "removeLabelledImport")).collect());
    expect(audit.map((entry) => entry.details)).toEqual(['"dropped": 5 items']);
  });

  test("clear removes every import and keeps the picture items", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedVersion(t, makeTestModel({ seed: 1 }));
    const { pictureId, featuresId } = await insertLabelledPicture(t, admin.userId, sampleFeatures(99));
    await t.run((ctx) => upsertPictureItem(ctx, pictureId, "bird", featuresId));
    await admin.client.mutation(api.labelledSet.importItems, { name: "a", items: items(["cat"]) });
    await admin.client.mutation(api.labelledSet.importItems, { name: "b", items: items(["dog", "dog"]) });
    expect(await admin.client.mutation(api.labelledSet.clear, {})).toEqual({ removedImports: 2 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary).toMatchObject({ total: 1, bySource: { picture: 1, import: 0 }, imports: [] });
    expect(await allPages(t)).toEqual([{ label: "bird", pictureId }]);
  });
});
