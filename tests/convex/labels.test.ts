import { beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import { classifiedPicture, makeTestModel, sampleFeatures, seedActiveVersion, testClasses, featuresOf } from "./fixtures";

beforeAll(ensureAuthEnv);
// convex-test runs every function in-process; on a loaded 2-core CI machine the heavier stories need more than the default 5 s.
vi.setConfig({ testTimeout: 30_000 });

async function setup() {
  const t = makeBackend();
  await seedActiveVersion(t, makeTestModel());
  const labeller = await asUser(t, "labeller");
  const { pictureId, result } = await classifiedPicture(t, labeller.client, 1);
  return { t, labeller, pictureId, predicted: result.label };
}

const stateOf = (t: Backend, pictureId: Id<"pictures">) =>
  t.run(async (ctx) => ({
    picture: await ctx.db.get(pictureId),
    labels: await ctx.db.query("labels").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect(),
    items: await ctx.db.query("labelledItems").withIndex("by_picture", (q) => q.eq("pictureId", pictureId)).collect(),
  }));

describe("labels.set", () => {
  test("accepting the prediction records 'accepted' and adds the picture's features to the labelled set", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    expect(await labeller.client.mutation(api.labels.set, { pictureId, label: predicted })).toEqual({ verdict: "accepted", labelledSet: "added" });
    const state = await stateOf(t, pictureId);
    expect(state.picture).toMatchObject({ labelled: true, confirmedLabel: predicted });
    expect(state.labels).toHaveLength(1);
    expect(state.labels[0]).toMatchObject({ label: predicted, predictedLabel: predicted, verdict: "accepted", labellerId: labeller.userId, classificationId: state.picture!.latestClassificationId });
    expect(state.items).toHaveLength(1);
    expect(state.items[0]).toMatchObject({ source: "picture", label: predicted, featuresId: state.picture!.featuresId });
    expect(await featuresOf(t, state.items[0].featuresId)).toEqual(sampleFeatures(1));
  });

  test("a different class records 'corrected'; relabelling replaces the label and the labelled-set item", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    const other = testClasses.find((c) => c !== predicted)!;
    const third = testClasses.find((c) => c !== predicted && c !== other)!;
    expect(await labeller.client.mutation(api.labels.set, { pictureId, label: other })).toEqual({ verdict: "corrected", labelledSet: "added" });
    const admin = await asUser(t, "admin");
    expect(await admin.client.mutation(api.labels.set, { pictureId, label: third })).toEqual({ verdict: "corrected", labelledSet: "updated" });
    const state = await stateOf(t, pictureId);
    expect(state.labels).toHaveLength(1);
    expect(state.labels[0]).toMatchObject({ label: third, labellerId: admin.userId });
    expect(state.items).toHaveLength(1);
    expect(state.items[0].label).toBe(third);
    expect(state.picture?.confirmedLabel).toBe(third);
  });

  test("a label outside the classifying version's classes is refused, naming the choices", async () => {
    const { labeller, pictureId } = await setup();
    await expect(labeller.client.mutation(api.labels.set, { pictureId, label: "unicorn" })).rejects.toThrow(
      /"unicorn" is not a class of v1 “test-model-1”; expected one of: cat, dog, bird/,
    );
    await expect(labeller.client.mutation(api.labels.set, { pictureId, label: "x".repeat(101) })).rejects.toThrow(
      /label is 101 characters; at most 100 are allowed/,
    );
  });

  test("unclassified, removed and missing pictures cannot be labelled; analysts cannot label", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    const unclassified = await labeller.client.mutation(api.pictures.record, { fileName: "u.jpg", contentType: "image/jpeg" });
    await expect(labeller.client.mutation(api.labels.set, { pictureId: unclassified, label: "cat" })).rejects.toThrow(
      /has no classification yet \(status uploaded\): classify it before labelling/,
    );
    const analyst = await asUser(t, "analyst");
    await expect(analyst.client.mutation(api.labels.set, { pictureId, label: predicted })).rejects.toThrow(/you are analyst/);
    await labeller.client.mutation(api.pictures.remove, { pictureId });
    await expect(labeller.client.mutation(api.labels.set, { pictureId, label: predicted })).rejects.toThrow(/does not exist or was removed/);
  });

  test("labels feed predicted vs confirmed", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    const other = testClasses.find((c) => c !== predicted)!;
    await labeller.client.mutation(api.labels.set, { pictureId, label: other });
    const analyst = await asUser(t, "analyst");
    const today = new Date().toISOString().slice(0, 10);
    const matrix = await analyst.client.query(api.analytics.predictedVsConfirmed, { from: today, to: today });
    expect(matrix.cells).toEqual([{ predicted, confirmed: other, count: 1 }]);
  });
});

describe("labels.remove", () => {
  test("removes the label and the labelled-set item, and the picture returns to the review queue", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    await labeller.client.mutation(api.labels.set, { pictureId, label: predicted });
    expect(await labeller.client.query(api.pictures.reviewQueue, { limit: 10 })).toEqual([]);
    await labeller.client.mutation(api.labels.remove, { pictureId });
    const state = await stateOf(t, pictureId);
    expect(state.labels).toEqual([]);
    expect(state.items).toEqual([]);
    expect(state.picture?.labelled).toBe(false);
    expect(state.picture?.confirmedLabel).toBeUndefined();
    expect((await labeller.client.query(api.pictures.reviewQueue, { limit: 10 })).map((p) => p._id)).toEqual([pictureId]);
    await expect(labeller.client.mutation(api.labels.remove, { pictureId })).rejects.toThrow(/has no label to remove/);
  });

  test("only the labeller who set a label, or an admin, may remove it; every set and removal is audited", async () => {
    const { t, labeller, pictureId, predicted } = await setup();
    await labeller.client.mutation(api.labels.set, { pictureId, label: predicted });
    const colleague = await asUser(t, "labeller");
    await expect(colleague.client.mutation(api.labels.remove, { pictureId })).rejects.toThrow("only the labeller who set this label, or an admin, may remove it");
    expect((await stateOf(t, pictureId)).labels).toHaveLength(1);
    const admin = await asUser(t, "admin");
    await admin.client.mutation(api.labels.remove, { pictureId });
    expect((await stateOf(t, pictureId)).labels).toEqual([]);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((entry) => [entry.action, entry.actorId])).toEqual([
      ["setLabel", labeller.userId],
      ["removeLabel", admin.userId],
    ]);
    expect(audit[0].details).toContain(`no label → ${predicted} (accepted v1 “test-model-1”'s "${predicted}")`);
    expect(audit[1].details).toContain(`${predicted} → no label`);
  });
});
