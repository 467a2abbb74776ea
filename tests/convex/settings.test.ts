import { beforeAll, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { defaultSettings } from "../../convex/lib/settings";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";

beforeAll(ensureAuthEnv);

describe("settings", () => {
  test("a fresh deployment reports the defaults to every member, and nothing to a user without a role", async () => {
    const t = makeBackend();
    for (const role of ["admin", "labeller", "analyst"] as const) {
      const { client } = await asUser(t, role);
      expect(await client.query(api.settings.get, {})).toEqual(defaultSettings);
    }
    const pending = await asUser(t, null);
    await expect(pending.client.query(api.settings.get, {})).rejects.toThrow(/no role yet/);
    await expect(t.query(api.settings.get, {})).rejects.toThrow(/Not signed in/);
  });

  test("an admin's update is merged over the defaults, audited, and seen by actions", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const saved = await admin.client.mutation(api.settings.update, {
      privacyMode: "thumbnail",
      promotion: { maxAccuracyDrop: 0.02 },
    });
    expect(saved).toEqual({
      ...defaultSettings,
      privacyMode: "thumbnail",
      promotion: { ...defaultSettings.promotion, maxAccuracyDrop: 0.02 },
    });
    expect(await t.query(internal.settings.getInternal, {})).toEqual(saved);
    await admin.client.mutation(api.settings.update, { clipModelId: "  org/other-clip  " });
    expect((await t.query(internal.settings.getInternal, {})).clipModelId).toBe("org/other-clip");

    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((entry) => entry.details)).toEqual([
      "privacyMode: full → thumbnail, promotion.maxAccuracyDrop: 0.01 → 0.02",
      `clipModelId: ${defaultSettings.clipModelId} → org/other-clip`,
    ]);
    expect(audit.every((entry) => entry.action === "updateSettings" && entry.actorId === admin.userId)).toBe(true);
    expect(await t.run((ctx) => ctx.db.query("settings").collect())).toHaveLength(1);
  });

  test("an update that changes nothing writes no audit entry", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await admin.client.mutation(api.settings.update, { privacyMode: defaultSettings.privacyMode });
    expect(await t.run((ctx) => ctx.db.query("auditLog").collect())).toHaveLength(0);
  });

  test("invalid values are refused together, each named with what was found, and nothing is saved", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const attempt = admin.client.mutation(api.settings.update, {
      clipModelId: "   ",
      featureDim: 0,
      promotion: { maxAccuracyDrop: 1.5, minPerClassRecall: -0.1, maxPerClassRecallDrop: Number.NaN },
    });
    await expect(attempt).rejects.toThrow(/clipModelId must not be empty/);
    await expect(attempt).rejects.toThrow(/featureDim must be a whole number from 1 to 8192, got 0/);
    await expect(attempt).rejects.toThrow(/promotion.maxAccuracyDrop must be a number from 0 to 1, got 1.5/);
    await expect(attempt).rejects.toThrow(/promotion.minPerClassRecall must be a number from 0 to 1, got -0.1/);
    await expect(attempt).rejects.toThrow(/promotion.maxPerClassRecallDrop must be a number from 0 to 1, got NaN/);
    await expect(admin.client.mutation(api.settings.update, { featureDim: 512.5 })).rejects.toThrow(/got 512.5/);
    await expect(admin.client.mutation(api.settings.update, { clipModelId: "x".repeat(201) })).rejects.toThrow(
      /at most 200 characters, got 201/,
    );
    expect(await t.run((ctx) => ctx.db.query("settings").collect())).toHaveLength(0);
    expect(await t.run((ctx) => ctx.db.query("auditLog").collect())).toHaveLength(0);
  });

  test("only admins may update", async () => {
    const t = makeBackend();
    for (const role of ["labeller", "analyst"] as const) {
      const { client } = await asUser(t, role);
      await expect(client.mutation(api.settings.update, { privacyMode: "none" })).rejects.toThrow(
        new RegExp(`needs the admin role; you are ${role}`),
      );
    }
    await expect(t.mutation(api.settings.update, { privacyMode: "none" })).rejects.toThrow(/Not signed in/);
  });

  test("the audit view lists label, role and settings changes with who and before → after, filtered by group", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "boss@example.com");
    const other = await asUser(t, null, "new@example.com");
    await admin.client.mutation(api.settings.update, { privacyMode: "thumbnail" });
    await admin.client.mutation(api.users.setRole, { userId: other.userId, role: "labeller" });
    const all = await admin.client.query(api.auditLog.list, { group: "all", paginationOpts: { numItems: 10, cursor: null } });
    expect(all.page.map((entry) => [entry.action, entry.actorEmail, entry.details])).toEqual([
      ["setRole", "boss@example.com", "new@example.com: no role → labeller"],
      ["updateSettings", "boss@example.com", "privacyMode: full → thumbnail"],
    ]);
    const settingsOnly = await admin.client.query(api.auditLog.list, { group: "settings", paginationOpts: { numItems: 10, cursor: null } });
    expect(settingsOnly.page.map((entry) => entry.action)).toEqual(["updateSettings"]);
    await expect(admin.client.query(api.auditLog.list, { group: "all", paginationOpts: { numItems: 500, cursor: null } })).rejects.toThrow("An audit page holds 1 to 100 entries, not 500.");
  });
});
