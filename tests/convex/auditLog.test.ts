import { beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { upsertPictureItem } from "../../convex/model/labelledSet";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";
import { classifiedPicture, insertLabelledPicture, makeTestModel, sampleFeatures, seedActiveVersion } from "./fixtures";

beforeAll(ensureAuthEnv);
vi.setConfig({ testTimeout: 30_000 });

const firstPage = { numItems: 20, cursor: null };

describe("the audit view", () => {
  test("labels, roles and settings changes are listed in their groups with who, when and before → after", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "boss@example.com");
    await seedActiveVersion(t, makeTestModel());
    const labeller = await asUser(t, "labeller", "lab@example.com");
    const { pictureId, result } = await classifiedPicture(t, labeller.client, 1);
    await labeller.client.mutation(api.labels.set, { pictureId, label: result.label });
    await admin.client.mutation(api.users.setRole, { userId: labeller.userId, role: "analyst" });
    await admin.client.mutation(api.settings.update, { privacyMode: "thumbnail" });

    const labels = await admin.client.query(api.auditLog.list, { group: "labels", paginationOpts: firstPage });
    expect(labels.page.map((entry) => [entry.action, entry.actorEmail])).toEqual([["setLabel", "lab@example.com"]]);
    expect(labels.page[0].details).toContain(`no label → ${result.label}`);
    const users = await admin.client.query(api.auditLog.list, { group: "users", paginationOpts: firstPage });
    expect(users.page.map((entry) => [entry.action, entry.actorEmail, entry.details])).toEqual([["setRole", "boss@example.com", "lab@example.com: labeller → analyst"]]);
    const settings = await admin.client.query(api.auditLog.list, { group: "settings", paginationOpts: firstPage });
    expect(settings.page.map((entry) => entry.details)).toEqual(["privacyMode: full → thumbnail"]);
    const all = await admin.client.query(api.auditLog.list, { group: "all", paginationOpts: firstPage });
    expect(all.page.map((entry) => entry.action).slice(0, 3)).toEqual(["updateSettings", "setRole", "setLabel"]);
    expect(all.page.every((entry) => typeof entry.at === "number")).toBe(true);
    await expect(labeller.client.query(api.auditLog.list, { group: "all", paginationOpts: firstPage })).rejects.toThrow(/admin/);
  });

  test("removing a labelled item names its picture or import, not an id", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await seedActiveVersion(t, makeTestModel());
    await admin.client.mutation(api.labelledSet.importItems, { name: "march", items: [{ features: sampleFeatures(1), label: "cat" }] });
    const { pictureId, featuresId } = await insertLabelledPicture(t, admin.userId, sampleFeatures(2));
    await t.run((ctx) => upsertPictureItem(ctx, pictureId, "bird", featuresId));
    const listed = await admin.client.query(api.labelledSet.items, { paginationOpts: firstPage });
    for (const item of listed.page) await admin.client.mutation(api.labelledSet.removeItem, { itemId: item._id });

    const entries = await admin.client.query(api.auditLog.list, { group: "labelledSet", paginationOpts: firstPage });
    const removals = entries.page.filter((entry) => entry.action === "removeLabelledItem").map((entry) => entry.details);
    const picture = listed.page.find((item) => item.source === "picture")!;
    expect(removals.sort()).toEqual(
      [`"${picture.fileName}" (a confirmed picture) labelled "${picture.label}"`, 'an item of import "march" labelled "cat"'].sort(),
    );
  });
});
