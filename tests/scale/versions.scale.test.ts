/**
 * A year with 100 model versions: each imported, activated through
 * deployment.activate, every tenth rolled back the next day, a few archived;
 * 5,000 other audit entries (labels) beside them. The version lists, the
 * timeline, an activation and a rollback at that size.
 *
 * Read bounds: the lists read the caller, every version (100), the
 * deployment and settings documents and each distinct creator once; the
 * timeline reads at most `limit` entries per timeline action (5 actions)
 * plus each distinct actor and version once; activation and rollback read
 * a handful of documents per transaction (the empty labelled set adds none).
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { asUser, type Backend } from "../convex/harness";
import { makeTestModel } from "../convex/fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";
import { measured } from "./readReport";
import { DAY_MS, dayStart, setClock, YEAR_DAYS, YEAR_START_MS, yearBackend } from "./scaleSeed";

const VERSIONS = 100;
const OTHER_AUDIT_ENTRIES = 5_000;
const TIMELINE_ACTIONS = 5;

let t: Backend;
let admin: Awaited<ReturnType<typeof asUser>>;
let versionIds: Id<"modelVersions">[];
let rollbacks = 0;
let archived = 0;

beforeAll(async () => {
  t = await yearBackend("all timers");
  admin = await asUser(t, "admin");
  const labeller = await asUser(t, "labeller");
  versionIds = [];
  for (let i = 0; i < VERSIONS; i++) {
    const day = Math.floor((i * 360) / VERSIONS);
    setClock(dayStart(day) + 10 * 3_600_000);
    const { versionId } = await seedVersion(t, makeTestModel({ seed: 100 + i, name: `weekly-${i + 1}` }), { createdBy: admin.userId });
    await t.run((ctx) => ctx.db.insert("auditLog", { actorId: admin.userId, action: "importVersion", toVersionId: versionId, details: `weekly-${i + 1}`, at: Date.now() }));
    versionIds.push(versionId);
    setClock(Date.now() + 3_600_000);
    await admin.client.action(api.deployment.activate, { versionId, reason: `week ${i + 1}'s retrain` });
    if (i % 10 === 9) {
      setClock(Date.now() + DAY_MS);
      await admin.client.mutation(api.deployment.rollback, { reason: "worse on new uploads", expectedActiveVersionId: versionId });
      rollbacks += 1;
      await admin.client.mutation(api.models.archive, { versionId, reason: "rolled back" });
      archived += 1;
    }
  }
  for (let start = 0; start < OTHER_AUDIT_ENTRIES; start += 2_500) {
    await t.run(async (ctx) => {
      for (let i = start; i < start + 2_500; i++) await ctx.db.insert("auditLog", { actorId: labeller.userId, action: "setLabel", details: `label ${i}`, at: Date.now() });
    });
  }
  setClock(YEAR_START_MS + YEAR_DAYS * DAY_MS);
});

afterAll(() => {
  vi.useRealTimers();
});

describe(`${VERSIONS} model versions over a year`, () => {
  test("models.list and models.choices return every version within bounded reads", async () => {
    const list = await measured(`models.list (${VERSIONS} versions)`, () => admin.client.query(api.models.list, {}));
    expect(list.result).toHaveLength(VERSIONS);
    expect(list.result.map((version) => version.number)).toEqual(Array.from({ length: VERSIONS }, (_, i) => VERSIONS - i));
    expect(list.result.filter((version) => version.isActive)).toHaveLength(1);
    expect(list.result.filter((version) => version.status === "archived")).toHaveLength(archived);
    // Caller, versions, deployment, settings, the one creator.
    expect(list.reads.total.documentsRead).toBeLessThanOrEqual(1 + VERSIONS + 1 + 1 + 1);

    const choices = await measured(`models.choices (${VERSIONS} versions)`, () => admin.client.query(api.models.choices, {}));
    expect(choices.result).toHaveLength(VERSIONS);
    expect(choices.reads.total.documentsRead).toBeLessThanOrEqual(1 + VERSIONS + 1);
  });

  test("deployment.timeline: the newest moves first, bounded by its limit, unaffected by other audit entries", async () => {
    const moves = VERSIONS + VERSIONS + rollbacks + archived;
    for (const limit of [undefined, 1000]) {
      const { result, reads } = await measured(`deployment.timeline (limit ${limit ?? "default 200"}, ${moves} moves among ${moves + OTHER_AUDIT_ENTRIES} audit entries)`, () =>
        admin.client.query(api.deployment.timeline, limit === undefined ? {} : { limit }),
      );
      expect(result).toHaveLength(Math.min(limit ?? 200, moves));
      expect(result[0]).toMatchObject({ action: "archiveVersion" });
      expect(result.every((entry, i) => i === 0 || result[i - 1].at >= entry.at)).toBe(true);
      const effectiveLimit = limit ?? 200;
      expect(reads.total.documentsRead).toBeLessThanOrEqual(1 + TIMELINE_ACTIONS * effectiveLimit + 1 + VERSIONS);
    }
  });

  test("an activation and a rollback with 100 versions behind them", async () => {
    const target = versionIds[VERSIONS - 12];
    const activation = await measured("deployment.activate (empty labelled set: no gate)", () =>
      admin.client.action(api.deployment.activate, { versionId: target, reason: "back to a known good one" }),
    );
    expect(activation.result).toMatchObject({ version: { versionId: target }, gate: null });
    expect(activation.reads.largest.documentsRead).toBeLessThanOrEqual(10);

    const rollback = await measured("deployment.rollback", () => admin.client.mutation(api.deployment.rollback, { reason: "not that one either", expectedActiveVersionId: target }));
    expect(rollback.result.from.versionId).toBe(target);
    expect(rollback.reads.total.documentsRead).toBeLessThanOrEqual(10);
    const deployment = await t.run((ctx) => ctx.db.query("deployment").first());
    expect(deployment?.activeVersionId).toBe(rollback.result.to.versionId);
    expect(deployment!.previousVersionIds.length).toBeLessThanOrEqual(100);
  });
});
