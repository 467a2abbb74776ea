import { afterEach, beforeAll, beforeEach, describe, expect, test, vi } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { encodeWeights } from "../../convex/lib/weightsBinary";
import { mlpForward } from "../../convex/lib/mlpForward";
import type { MlpModel } from "../../convex/lib/weightsFormat";
import { asUser, ensureAuthEnv, makeBackend, publicFunctionNames, type Backend, type UserClient } from "./harness";
import { deleteStoredWeights, insertLabelledPicture, makeTestModel, replaceStoredWeights, sampleFeatures, storedWeightsOf, testClasses, withLastByteFlipped } from "./fixtures";
import { upsertPictureItem } from "../../convex/model/labelledSet";
import { MAX_WEIGHTS_BYTES } from "../../convex/model/weights";

beforeAll(ensureAuthEnv);
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function storeBytes(t: Backend, bytes: Uint8Array) {
  return t.run((ctx) => ctx.storage.store(new Blob([bytes as Uint8Array<ArrayBuffer>])));
}

async function register(t: Backend, client: UserClient, model: MlpModel, name = model.name, notes = "") {
  const storageId = await storeBytes(t, encodeWeights(model));
  return client.action(api.models.register, { storageId, name, notes });
}

async function storedFileCount(t: Backend) {
  return t.run(async (ctx) => (await ctx.db.system.query("_storage").collect()).length);
}

async function auditActions(t: Backend) {
  return t.run(async (ctx) => (await ctx.db.query("auditLog").collect()).map((entry) => entry.action));
}

async function activeVersionId(t: Backend) {
  return t.run(async (ctx) => (await ctx.db.query("deployment").first())?.activeVersionId ?? null);
}

/** The same weights with one value nudged: a different file that predicts almost identically. */
function nudged(model: MlpModel, name: string): MlpModel {
  const layers = model.layers.map((layer) => ({ ...layer, weight: Float32Array.from(layer.weight), bias: Float32Array.from(layer.bias) }));
  layers[0].weight[0] += 1e-4;
  return { ...model, name, layers };
}

/** A labelled set on which `teacher` is right every time. */
async function importSetLabelledBy(client: UserClient, teacher: MlpModel, count: number, name = "teacher-set") {
  const items = Array.from({ length: count }, (_, i) => {
    const features = sampleFeatures(1000 + i);
    return { features, label: mlpForward(teacher, features).label };
  });
  return client.mutation(api.labelledSet.importItems, { name, items });
}

describe("registering versions", () => {
  test(`a file over ${MAX_WEIGHTS_BYTES} bytes is refused with the limit before it is read, and deleted`, async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const storageId = await t.run((ctx) => ctx.storage.store(new Blob([new Uint8Array(MAX_WEIGHTS_BYTES + 1)])));
    await expect(admin.client.action(api.models.register, { storageId, name: "huge", notes: "" })).rejects.toThrow(
      `Version not registered: the file is ${MAX_WEIGHTS_BYTES + 1} bytes; the limit is ${MAX_WEIGHTS_BYTES} bytes.`,
    );
    expect(await t.run((ctx) => ctx.storage.get(storageId))).toBeNull();
  });

  test("a valid upload becomes version 1 with its summary and sha256, is audited, and gets headline metrics", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "alice@example.com");
    const model = makeTestModel({ seed: 1, name: "demo-v1" });
    const registered = await register(t, admin.client, model, "  demo-v1  ", "first cut");
    expect(registered).toMatchObject({ number: 1, name: "demo-v1" });

    const [listed] = await admin.client.query(api.models.list, {});
    expect(listed).toMatchObject({
      number: 1,
      name: "demo-v1",
      notes: "first cut",
      status: "ready",
      createdByEmail: "alice@example.com",
      isActive: false,
      isRollbackTarget: false,
      metrics: null,
      byteLength: encodeWeights(model).byteLength,
      summary: { classes: model.classes, input: model.input, parameterCount: 512 * 16 + 16 + 16 * 12 + 12 },
    });
    expect(listed.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(listed.summary.layerShapes.map((shape) => [shape.inDim, shape.outDim])).toEqual([[512, 16], [16, 12]]);
    expect(await auditActions(t)).toEqual(["importVersion"]);

    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const afterMetrics = await admin.client.query(api.models.get, { versionId: registered.versionId });
    expect(afterMetrics?.metrics).toMatchObject({ itemCount: 0, accuracy: null, macroF1: null, ece: null });

    const second = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");
    expect(second.number).toBe(2);
  });

  test("identical bytes are refused naming the existing version; the duplicate upload is deleted, the original kept", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const model = makeTestModel({ seed: 1 });
    const first = await register(t, admin.client, model, "demo-v1");
    await expect(register(t, admin.client, model, "again")).rejects.toThrow(/identical to v1 “demo-v1”/);
    expect(await storedFileCount(t)).toBe(1);

    // Registering the very same storage id twice must not delete version 1's file.
    const storageId = await t.run(async (ctx) => (await ctx.db.get(first.versionId))!.storageId);
    await expect(admin.client.action(api.models.register, { storageId, name: "same file", notes: "" })).rejects.toThrow(
      /identical to v1 “demo-v1”/,
    );
    expect(await t.run(async (ctx) => (await ctx.storage.get(storageId)) !== null)).toBe(true);
    expect(await t.run((ctx) => ctx.db.query("modelVersions").collect())).toHaveLength(1);
  });

  test("concurrent registrations get distinct numbers, and concurrent identical uploads keep exactly one", async () => {
    const t = makeBackend();
    const alice = await asUser(t, "admin");
    const bob = await asUser(t, "admin");
    const registered = await Promise.all([1, 2, 3].map((seed) => register(t, seed % 2 ? alice.client : bob.client, makeTestModel({ seed }), `v${seed}`)));
    expect(registered.map((version) => version.number).sort()).toEqual([1, 2, 3]);

    const same = makeTestModel({ seed: 9 });
    const outcomes = await Promise.allSettled([register(t, alice.client, same, "twin-a"), register(t, bob.client, same, "twin-b")]);
    expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
    const rejected = outcomes.find((outcome) => outcome.status === "rejected") as PromiseRejectedResult;
    expect(String(rejected.reason)).toMatch(/identical to v4 “twin-[ab]”/);
    expect(await storedFileCount(t)).toBe(4);
  });

  test("corrupt or non-weights bytes are refused with the decoder's reason and the file is deleted", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const good = encodeWeights(makeTestModel({ seed: 1 }));
    const cases: Array<[Uint8Array, RegExp]> = [
      [new TextEncoder().encode('{"format":"clip-mlp-weights"}'), /not valid MLP weights: not an MLP weights binary: bad magic bytes/],
      [good.slice(0, good.length - 8), /expected \d+ bytes of tensors, found \d+/],
      [good.slice(0, 6), /too short/],
    ];
    for (const [bytes, message] of cases) {
      const storageId = await storeBytes(t, bytes);
      await expect(admin.client.action(api.models.register, { storageId, name: "broken", notes: "" })).rejects.toThrow(message);
      expect(await t.run(async (ctx) => (await ctx.storage.get(storageId)) !== null)).toBe(false);
    }
    expect(await t.run((ctx) => ctx.db.query("modelVersions").collect())).toHaveLength(0);
    expect(await auditActions(t)).toEqual([]);
  });

  test("weights with non-finite values or repeated classes are refused, naming where", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const withNaN = makeTestModel({ seed: 3 });
    withNaN.layers[1].weight[2 * 16 + 5] = Number.NaN;
    await expect(register(t, admin.client, withNaN, "nan")).rejects.toThrow(
      /layers\[1\]\.weight has 1 non-finite value\(s\), the first at \[2\]\[5\] \(NaN\)/,
    );
    const repeated = makeTestModel({ seed: 4, classes: ["cat", "dog", "cat"] });
    await expect(register(t, admin.client, repeated, "repeated")).rejects.toThrow(/classes\[2\] "cat" repeats classes\[0\]/);
    expect(await storedFileCount(t)).toBe(0);
  });

  test("oversized names and notes are refused with the limit stated, and nothing is stored", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const model = makeTestModel({ seed: 1 });
    await expect(register(t, admin.client, model, "n".repeat(101))).rejects.toThrow(/name is 101 characters; the limit is 100/);
    await expect(register(t, admin.client, model, "ok", "x".repeat(2001))).rejects.toThrow(/notes is 2001 characters; the limit is 2000/);
    await expect(register(t, admin.client, model, "   ")).rejects.toThrow(/name is required/);
    expect(await storedFileCount(t)).toBe(0);
    await register(t, admin.client, model, "n".repeat(100), "x".repeat(2000));
  });

  test("a labeller's picture passed by mistake is refused but its file is never deleted", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const labeller = await asUser(t, "labeller");
    const storageId = await t.run(async (ctx) => {
      const id = await ctx.storage.store(new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0])], { type: "image/jpeg" }));
      await ctx.db.insert("pictures", {
        uploaderId: labeller.userId,
        fileName: "cat.jpg",
        contentType: "image/jpeg",
        storageMode: "full",
        storageId: id,
        status: "uploaded",
        attempts: 0,
        labelled: false,
      });
      return id;
    });
    await expect(admin.client.action(api.models.register, { storageId, name: "oops", notes: "" })).rejects.toThrow(/too short/);
    expect(await t.run(async (ctx) => (await ctx.storage.get(storageId)) !== null)).toBe(true);
  });

  test("a missing upload is refused with what to do", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const storageId = await storeBytes(t, encodeWeights(makeTestModel()));
    await t.run((ctx) => ctx.storage.delete(storageId));
    await expect(admin.client.action(api.models.register, { storageId, name: "gone", notes: "" })).rejects.toThrow(
      /gone from storage. Upload the weights again/,
    );
  });
});

describe("activation, rollback and archiving", () => {
  test("activate, activate, roll back: the pointer, rollback target and audit trail follow", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "alice@example.com");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");

    await expect(admin.client.mutation(api.deployment.rollback, { reason: "nothing yet" })).rejects.toThrow(/No version is active/);
    const first = await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    expect(first).toMatchObject({ version: { number: 1, name: "demo-v1" }, gate: null });
    await expect(admin.client.mutation(api.deployment.rollback, { reason: "too early" })).rejects.toThrow(
      /Nothing to roll back to: v1 “demo-v1” is the only version that has been active/,
    );
    await expect(admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "again" })).rejects.toThrow(
      /v1 “demo-v1” is already active/,
    );
    // An empty labelled set: the gate has nothing to judge and does not apply.
    const second = await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "try v2" });
    expect(second.gate).toBeNull();
    expect(await activeVersionId(t)).toBe(v2.versionId);
    const listed = await admin.client.query(api.models.list, {});
    expect(listed.map((v) => [v.number, v.isActive, v.isRollbackTarget])).toEqual([
      [2, true, false],
      [1, false, true],
    ]);
    expect(listed[0].metrics).toMatchObject({ itemCount: 0 });

    const rolledBack = await admin.client.mutation(api.deployment.rollback, { reason: "v2 misbehaves" });
    expect(rolledBack).toMatchObject({ from: { number: 2 }, to: { number: 1 } });
    expect(await activeVersionId(t)).toBe(v1.versionId);

    const timeline = await admin.client.query(api.deployment.timeline, {});
    expect(timeline.map((e) => [e.action, e.from?.number ?? null, e.to?.number ?? null, e.reason])).toEqual([
      ["rollback", 2, 1, "v2 misbehaves"],
      ["activateVersion", 1, 2, "try v2"],
      ["activateVersion", null, 1, "launch"],
      ["importVersion", null, 2, null],
      ["importVersion", null, 1, null],
    ]);
    expect(timeline.every((e) => e.actorEmail === "alice@example.com")).toBe(true);
    expect(timeline[1].to).toEqual({ versionId: v2.versionId, number: 2, name: "demo-v2" });
    expect(timeline[1].metrics).toMatchObject({ itemCount: 0 });
    expect(await admin.client.query(api.deployment.timeline, { limit: 2 })).toHaveLength(2);
  });

  test("a rollback that names the active version it expected is refused once someone else moved the pointer", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "next" });
    await expect(
      admin.client.mutation(api.deployment.rollback, { reason: "stale", expectedActiveVersionId: v1.versionId }),
    ).rejects.toThrow(/active version changed while you were deciding: reload and try again/);
    await admin.client.mutation(api.deployment.rollback, { reason: "fresh", expectedActiveVersionId: v2.versionId });
    expect(await activeVersionId(t)).toBe(v1.versionId);
  });

  test("the commit step refuses a stale pointer and re-checks what may have changed while the gate ran", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    const metrics = { accuracy: null, macroF1: null, ece: null, itemCount: 0, computedAt: 0 };
    const commit = { versionId: v2.versionId, actorId: admin.userId, reason: "next", metrics, gateOverride: null };
    await expect(t.mutation(internal.deployment.commitActivation, { ...commit, expectedActiveVersionId: null })).rejects.toThrow(
      /The active version changed while you were deciding: reload and try again/,
    );
    await admin.client.mutation(api.models.archive, { versionId: v2.versionId, reason: "withdrawn" });
    await expect(t.mutation(internal.deployment.commitActivation, { ...commit, expectedActiveVersionId: v1.versionId })).rejects.toThrow(
      /v2 “demo-v2” is archived and cannot be activated/,
    );
    expect(await activeVersionId(t)).toBe(v1.versionId);
    expect(await auditActions(t)).toEqual(["importVersion", "importVersion", "activateVersion", "archiveVersion"]);
  });

  test("archiving: never the active version, archived versions cannot be activated or rolled back to", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await expect(admin.client.mutation(api.models.archive, { versionId: v1.versionId, reason: "old" })).rejects.toThrow(
      /v1 “demo-v1” is active and cannot be archived/,
    );
    await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "next" });
    await admin.client.mutation(api.models.archive, { versionId: v1.versionId, reason: "superseded" });
    await expect(admin.client.mutation(api.models.archive, { versionId: v1.versionId, reason: "twice" })).rejects.toThrow(
      /already archived/,
    );
    await expect(admin.client.mutation(api.deployment.rollback, { reason: "back" })).rejects.toThrow(
      /Cannot roll back: the previous version, v1 “demo-v1”, is archived/,
    );
    await expect(admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "back" })).rejects.toThrow(
      /v1 “demo-v1” is archived and cannot be activated/,
    );
    expect(await activeVersionId(t)).toBe(v2.versionId);
    const archived = await admin.client.query(api.models.get, { versionId: v1.versionId });
    expect(archived?.status).toBe("archived");
    const timeline = await admin.client.query(api.deployment.timeline, {});
    expect(timeline[0]).toMatchObject({ action: "archiveVersion", reason: "superseded", to: { number: 1 } });
  });

  test("reasons are required and at most 500 characters, stated in the refusal", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "demo-v2");
    const long = "r".repeat(501);
    await expect(admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: long })).rejects.toThrow(
      /reason is 501 characters; the limit is 500/,
    );
    await expect(admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: " " })).rejects.toThrow(/reason is required/);
    await expect(
      admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "ok", overrideReason: long }),
    ).rejects.toThrow(/overrideReason is 501 characters; the limit is 500/);
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "r".repeat(500) });
    await expect(admin.client.mutation(api.models.archive, { versionId: v2.versionId, reason: long })).rejects.toThrow(
      /reason is 501 characters; the limit is 500/,
    );
    await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "next" });
    await expect(admin.client.mutation(api.deployment.rollback, { reason: long })).rejects.toThrow(/reason is 501 characters; the limit is 500/);
    expect(await activeVersionId(t)).toBe(v2.versionId);
  });

  test("a version for another input dim or CLIP model cannot be activated until the settings match", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const small = await register(t, admin.client, makeTestModel({ seed: 5, dim: 256 }), "dim-256");
    const otherClip = makeTestModel({ seed: 6 });
    otherClip.input = { ...otherClip.input, clipModel: "openai/clip-vit-large-patch14" };
    const large = await register(t, admin.client, otherClip, "large-clip");
    await expect(admin.client.action(api.deployment.activate, { versionId: small.versionId, reason: "try" })).rejects.toThrow(
      /v1 “dim-256” does not match the clients' features: it takes 256 features but clients produce 512/,
    );
    await expect(admin.client.action(api.deployment.activate, { versionId: large.versionId, reason: "try" })).rejects.toThrow(
      /trained on features from "openai\/clip-vit-large-patch14" but clients use "Xenova\/clip-vit-base-patch32"/,
    );
    expect(await activeVersionId(t)).toBeNull();
    await admin.client.mutation(api.settings.update, { featureDim: 256 });
    await admin.client.action(api.deployment.activate, { versionId: small.versionId, reason: "clients moved to 256" });
    expect(await activeVersionId(t)).toBe(small.versionId);
  });

  test("concurrent activations and rollbacks from two admins leave a consistent pointer and a complete audit trail", async () => {
    const t = makeBackend();
    const alice = await asUser(t, "admin", "alice@example.com");
    const bob = await asUser(t, "admin", "bob@example.com");
    const versions = [];
    for (let seed = 1; seed <= 4; seed += 1) versions.push(await register(t, alice.client, makeTestModel({ seed }), `v${seed}`));
    await alice.client.action(api.deployment.activate, { versionId: versions[0].versionId, reason: "launch" });
    await bob.client.action(api.deployment.activate, { versionId: versions[1].versionId, reason: "v2" });

    const outcomes = await Promise.allSettled([
      alice.client.action(api.deployment.activate, { versionId: versions[2].versionId, reason: "alice: v3" }),
      bob.client.action(api.deployment.activate, { versionId: versions[3].versionId, reason: "bob: v4" }),
      alice.client.mutation(api.deployment.rollback, { reason: "alice: back" }),
      bob.client.mutation(api.deployment.rollback, { reason: "bob: back" }),
    ]);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        expect(String(outcome.reason)).toMatch(/active version changed while you were deciding|Nothing to roll back to|already active/);
      }
    }
    const succeeded = outcomes.filter((outcome) => outcome.status === "fulfilled").length;
    expect(succeeded).toBeGreaterThan(0);

    const trail = await t.run(async (ctx) =>
      (await ctx.db.query("auditLog").collect()).filter((e) => e.action === "activateVersion" || e.action === "rollback"),
    );
    // One audit entry per pointer move, and each move starts where the previous one ended.
    expect(trail).toHaveLength(2 + succeeded);
    for (let i = 1; i < trail.length; i += 1) expect(trail[i].fromVersionId).toBe(trail[i - 1].toVersionId);
    const deployment = await t.run(async (ctx) => ctx.db.query("deployment").collect());
    expect(deployment).toHaveLength(1);
    expect(deployment[0].activeVersionId).toBe(trail.at(-1)!.toVersionId);

    // Replaying the trail on a stack reproduces the rollback history exactly.
    const stack: Array<Id<"modelVersions">> = [];
    let active: Id<"modelVersions"> | undefined;
    for (const entry of trail) {
      if (entry.action === "activateVersion") {
        if (active !== undefined) stack.push(active);
      } else {
        expect(stack.pop()).toBe(entry.toVersionId);
      }
      active = entry.toVersionId;
    }
    expect(deployment[0].previousVersionIds).toEqual(stack);
  });
});

describe("the promotion gate", () => {
  async function gatedSetup() {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "alice@example.com");
    const teacher = makeTestModel({ seed: 1, name: "teacher" });
    const v1 = await register(t, admin.client, teacher, "teacher");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await importSetLabelledBy(admin.client, teacher, 40);
    return { t, admin, teacher, v1 };
  }

  test("a worse candidate is blocked with the reasons and the pointer stays", async () => {
    const { t, admin, v1 } = await gatedSetup();
    const worse = await register(t, admin.client, makeTestModel({ seed: 99 }), "random");
    await expect(admin.client.action(api.deployment.activate, { versionId: worse.versionId, reason: "yolo" })).rejects.toThrow(
      /Activation blocked by the promotion gate: v2 “random” against the active v1 “teacher” on 40 labelled items: accuracy .* below the active version's 1 \(allowed drop 0.01\).*To activate anyway, give an override reason/,
    );
    expect(await activeVersionId(t)).toBe(v1.versionId);
    expect(await auditActions(t)).not.toContain("gateOverride");
  });

  test("an override with a reason activates it and is audited separately", async () => {
    const { t, admin, v1 } = await gatedSetup();
    const worse = await register(t, admin.client, makeTestModel({ seed: 99 }), "random");
    const result = await admin.client.action(api.deployment.activate, {
      versionId: worse.versionId,
      reason: "shadow test in production",
      overrideReason: "the labelled set predates the new camera",
    });
    expect(result.gate).toMatchObject({ allowed: false, overridden: true, itemCount: 40 });
    expect(result.gate!.reasons[0]).toMatch(/^accuracy/);
    expect(await activeVersionId(t)).toBe(worse.versionId);
    const timeline = await admin.client.query(api.deployment.timeline, {});
    const override = timeline.find((entry) => entry.action === "gateOverride")!;
    expect(override).toMatchObject({
      reason: "the labelled set predates the new camera",
      from: { versionId: v1.versionId },
      to: { versionId: worse.versionId },
      actorEmail: "alice@example.com",
    });
    expect(override.details).toMatch(/accuracy/);
    const activation = timeline.find((entry) => entry.action === "activateVersion" && entry.to?.versionId === worse.versionId)!;
    expect(activation.reason).toBe("shadow test in production");
    expect(activation.metrics?.itemCount).toBe(40);
    expect(activation.metrics?.accuracy).toBeLessThan(0.9);
    const stored = await admin.client.query(api.models.get, { versionId: worse.versionId });
    expect(stored?.metrics).toEqual(activation.metrics);
  });

  test("a candidate as good as the active one passes, and an unneeded override is not audited", async () => {
    const { t, admin, teacher } = await gatedSetup();
    const twin = await register(t, admin.client, nudged(teacher, "teacher-twin"), "teacher-twin");
    const result = await admin.client.action(api.deployment.activate, { versionId: twin.versionId, reason: "retrained", overrideReason: "just in case" });
    expect(result.gate).toEqual({ allowed: true, reasons: [], overridden: false, itemCount: 40 });
    expect(await activeVersionId(t)).toBe(twin.versionId);
    expect(await auditActions(t)).not.toContain("gateOverride");
  });

  test("stricter thresholds from settings apply", async () => {
    const { t, admin, teacher } = await gatedSetup();
    const twin = await register(t, admin.client, nudged(teacher, "twin"), "twin");
    const comparison = await admin.client.action(api.evaluation.compare, { candidateId: twin.versionId });
    expect(comparison.gate.allowed).toBe(true);
    expect(comparison.gate.thresholds).toEqual({ rule: "floors", nonInferiorityMargin: 0.01, maxAccuracyDrop: 0.01, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.05 });
    await admin.client.mutation(api.settings.update, { promotion: { maxAccuracyDrop: 0 } });
    const again = await admin.client.action(api.evaluation.compare, { candidateId: twin.versionId });
    expect(again.gate.thresholds.maxAccuracyDrop).toBe(0);
  });

  test("the 'no significant regression' rule: a near-twin on 40 items is too few to show it, and the gate says why", async () => {
    const { t, admin, teacher } = await gatedSetup();
    const twin = await register(t, admin.client, nudged(teacher, "twin"), "twin");
    await admin.client.mutation(api.settings.update, { promotion: { rule: "noSignificantRegression", nonInferiorityMargin: 0.02 } });
    const comparison = await admin.client.action(api.evaluation.compare, { candidateId: twin.versionId });
    expect(comparison.evidence.discordantPairs).toBeLessThan(10);
    expect(comparison.evidence.verdict).toBe("too-small-to-tell");
    expect(comparison.gate.allowed).toBe(false);
    expect(comparison.gate.reasons[0]).toMatch(/^no significant regression is not shown \(margin 0\.02\): only \d+ items are right for one version/);
    await expect(admin.client.action(api.deployment.activate, { versionId: twin.versionId, reason: "retrained" })).rejects.toThrow(/no significant regression is not shown/);
    await expect(admin.client.mutation(api.settings.update, { promotion: { nonInferiorityMargin: 0.5 } })).rejects.toThrow(
      "promotion.nonInferiorityMargin must be a number above 0 and at most 0.2, got 0.5",
    );
  });
});

describe("comparing versions", () => {
  test("the report covers both versions, disagreements (with picture ids), McNemar and the gate", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const teacher = makeTestModel({ seed: 1 });
    const v1 = await register(t, admin.client, teacher, "teacher");
    const other = makeTestModel({ seed: 7 });
    const v2 = await register(t, admin.client, other, "other");
    await expect(admin.client.action(api.evaluation.compare, { candidateId: v2.versionId })).rejects.toThrow(
      /No version is active to compare against: choose a baseline version/,
    );
    await importSetLabelledBy(admin.client, teacher, 30);
    // A picture the two versions disagree on, so it must show up among the disagreements.
    let seed = 5000;
    while (mlpForward(teacher, sampleFeatures(seed)).label === mlpForward(other, sampleFeatures(seed)).label) seed += 1;
    const features = sampleFeatures(seed);
    const { pictureId, featuresId } = await insertLabelledPicture(t, admin.userId, features);
    await t.run((ctx) => upsertPictureItem(ctx, pictureId, mlpForward(teacher, features).label, featuresId));

    const report = await admin.client.action(api.evaluation.compare, { candidateId: v2.versionId, baselineId: v1.versionId });
    expect(report.baseline).toEqual({ versionId: v1.versionId, number: 1, name: "teacher" });
    expect(report.candidate).toEqual({ versionId: v2.versionId, number: 2, name: "other" });
    expect(report.itemCount).toBe(31);
    expect(report.skippedItemCount).toBe(0);
    expect(report.baselineReport.accuracy).toBe(1);
    expect(report.baselineReport.confusion).toHaveLength(report.classes.length);
    expect(report.baselineReport.reliability).toHaveLength(10);
    expect(report.candidateReport.accuracy).toBeLessThan(1);
    expect(report.accuracyDifference).toBeCloseTo(report.candidateReport.accuracy! - 1, 12);
    expect(report.disagreementCount).toBe(report.mcnemar.baselineOnlyCorrect);
    expect(report.mcnemar.candidateOnlyCorrect).toBe(0);
    expect(report.mcnemar.pValue).toBeLessThan(0.05);
    expect(report.disagreements.every((d) => d.correct === "baseline" && d.trueLabel === d.baselineLabel)).toBe(true);
    const margins = report.disagreements.map((d) => d.margin);
    expect(margins).toEqual([...margins].sort((a, b) => b - a));
    const pictureItems = report.disagreements.filter((d) => d.pictureId !== null);
    expect(pictureItems).toHaveLength(1);
    expect(pictureItems[0]).toMatchObject({ pictureId, candidateLabel: mlpForward(other, features).label });
    expect(report.gate.allowed).toBe(false);
    expect(report.gate.reasons.some((reason) => reason.startsWith("accuracy"))).toBe(true);

    // Baseline defaults to the active version.
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    const byDefault = await admin.client.action(api.evaluation.compare, { candidateId: v2.versionId });
    expect(byDefault.baseline.versionId).toBe(v1.versionId);
    expect(byDefault.candidateReport).toEqual(report.candidateReport);
  });

  test("versions with different input dims cannot be compared", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "512");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2, dim: 256 }), "256");
    await expect(admin.client.action(api.evaluation.compare, { candidateId: v2.versionId, baselineId: v1.versionId })).rejects.toThrow(
      /v2 “256” takes 256 features but v1 “512” takes 512: they cannot be compared/,
    );
  });
});

describe("integrity of stored weights", () => {
  /** teacher (v1) active, its 10-item labelled set, and a near-identical twin (v2) that passes the gate. */
  async function twinSetup() {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const teacher = makeTestModel({ seed: 1, name: "teacher" });
    const v1 = await register(t, admin.client, teacher, "teacher");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await importSetLabelledBy(admin.client, teacher, 10);
    const v2 = await register(t, admin.client, nudged(teacher, "twin"), "twin");
    return { t, admin, v1, v2 };
  }

  test("a weights file with one flipped byte fails its registered sha256 in metrics, compare and the promotion gate", async () => {
    const { t, admin, v1, v2 } = await twinSetup();
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const storedMetrics = (await admin.client.query(api.models.get, { versionId: v2.versionId }))?.metrics;
    expect(storedMetrics?.itemCount).toBe(10);

    const twinBytes = await storedWeightsOf(t, v2.versionId);
    await replaceStoredWeights(t, v2.versionId, withLastByteFlipped(twinBytes));
    const refusal = "the weights of v2 “twin” do not match their registered sha256: an admin must re-import it or activate another version";
    await expect(admin.client.action(api.evaluation.compare, { candidateId: v2.versionId })).rejects.toThrow(refusal);
    await expect(admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "retrained" })).rejects.toThrow(refusal);
    expect(await activeVersionId(t)).toBe(v1.versionId);
    await expect(t.action(internal.evaluation.computeMetrics, { versionId: v2.versionId })).rejects.toThrow(refusal);
    expect((await admin.client.query(api.models.get, { versionId: v2.versionId }))?.metrics).toEqual(storedMetrics);

    // The baseline is checked too: a tampered active version fails the comparison, naming it.
    await replaceStoredWeights(t, v2.versionId, twinBytes);
    await replaceStoredWeights(t, v1.versionId, withLastByteFlipped(await storedWeightsOf(t, v1.versionId)));
    await expect(admin.client.action(api.evaluation.compare, { candidateId: v2.versionId })).rejects.toThrow(
      "the weights of v1 “teacher” do not match their registered sha256",
    );
  });

  test("once the imported file is back, compare and activation succeed", async () => {
    const { t, admin, v2 } = await twinSetup();
    const twinBytes = await storedWeightsOf(t, v2.versionId);
    await replaceStoredWeights(t, v2.versionId, withLastByteFlipped(twinBytes));
    await expect(admin.client.action(api.evaluation.compare, { candidateId: v2.versionId })).rejects.toThrow(/registered sha256/);
    await replaceStoredWeights(t, v2.versionId, twinBytes);
    expect((await admin.client.action(api.evaluation.compare, { candidateId: v2.versionId })).gate.allowed).toBe(true);
    await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "retrained" });
    expect(await activeVersionId(t)).toBe(v2.versionId);
  });
  test("a broken active version does not lock admins out: activating another skips the gate and the audit says why", async () => {
    const { t, admin, v1, v2 } = await twinSetup();
    await deleteStoredWeights(t, v1.versionId);
    const result = await admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "v1's file is gone" });
    expect(result.gate).toBeNull();
    expect(result.gateSkipped).toBe("promotion gate skipped: the weights of v1 “teacher” are missing from storage: an admin must re-import them or activate another version");
    expect(await activeVersionId(t)).toBe(v2.versionId);
    const activation = await t.run(async (ctx) =>
      (await ctx.db.query("auditLog").collect()).filter((entry) => entry.action === "activateVersion").at(-1),
    );
    expect(activation).toMatchObject({ fromVersionId: v1.versionId, toVersionId: v2.versionId, details: result.gateSkipped });
    // A broken candidate is still refused: only the baseline may be unreadable.
    await expect(admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "back" })).rejects.toThrow(
      "the weights of v1 “teacher” are missing from storage: an admin must re-import them or activate another version",
    );
  });
});

describe("headline metrics", () => {
  test("a change to the labelled set recomputes the active version's figures once, however many chunks it came in", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const teacher = makeTestModel({ seed: 1 });
    const v1 = await register(t, admin.client, teacher, "teacher");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    await importSetLabelledBy(admin.client, teacher, 6, "first");
    // Its first six items repeat the first import and are skipped: 12 in all.
    await importSetLabelledBy(admin.client, teacher, 12, "second");
    expect(await t.run((ctx) => ctx.db.query("metricsRefresh").collect())).toHaveLength(1);
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const metrics = (await admin.client.query(api.models.get, { versionId: v1.versionId }))?.metrics;
    expect(metrics).toMatchObject({ itemCount: 12, accuracy: 1, excludedItemCount: 0 });
    expect(metrics?.computedAt).toBeGreaterThan(0);
  });

  test("registering schedules them, refreshMetrics recomputes every version after the set changes", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const teacher = makeTestModel({ seed: 1 });
    const v1 = await register(t, admin.client, teacher, "teacher");
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    expect((await admin.client.query(api.models.get, { versionId: v1.versionId }))?.metrics?.itemCount).toBe(0);

    await importSetLabelledBy(admin.client, teacher, 12);
    const v2 = await register(t, admin.client, makeTestModel({ seed: 8 }), "other");
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const second = await admin.client.query(api.models.get, { versionId: v2.versionId });
    expect(second?.metrics).toMatchObject({ itemCount: 12 });
    expect(second?.metrics?.accuracy).toBeLessThan(1);

    expect(await admin.client.mutation(api.evaluation.refreshMetrics, {})).toEqual({ scheduled: 2 });
    await t.finishAllScheduledFunctions(vi.runAllTimers);
    const first = await admin.client.query(api.models.get, { versionId: v1.versionId });
    expect(first?.metrics).toMatchObject({ itemCount: 12, accuracy: 1, macroF1: 1 });
    expect(first?.metrics?.ece).toBeGreaterThanOrEqual(0);
  });
});

describe("internal access for classification and replay", () => {
  test("activeRunnable and runnable give server code what it needs to load the weights", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    expect(await t.query(internal.models.activeRunnable, {})).toBeNull();
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "demo-v1");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    const active = await t.query(internal.models.activeRunnable, {});
    expect(active).toMatchObject({ _id: v1.versionId, number: 1, name: "demo-v1", status: "ready" });
    expect(await t.run(async (ctx) => (await ctx.storage.get(active!.storageId))?.size)).toBe(encodeWeights(makeTestModel({ seed: 1 })).byteLength);
    expect(await t.query(internal.models.runnable, { versionId: v1.versionId })).toEqual(active);
    expect((await t.query(internal.models.weightsBytes, { versionId: v1.versionId }))?.byteLength).toBe(encodeWeights(makeTestModel({ seed: 1 })).byteLength);
  });
});

describe("version choices", () => {
  test("every role sees each version's number, name, status and which is active, and nothing else", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const v1 = await register(t, admin.client, makeTestModel({ seed: 1 }), "base");
    const v2 = await register(t, admin.client, makeTestModel({ seed: 2 }), "candidate");
    await admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" });
    await admin.client.mutation(api.models.archive, { versionId: v2.versionId, reason: "not needed" });

    for (const role of ["labeller", "analyst", "admin"] as const) {
      const { client } = await asUser(t, role, `${role}-choices@example.com`);
      expect(await client.query(api.models.choices, {})).toEqual([
        { _id: v2.versionId, number: 2, name: "candidate", status: "archived", isActive: false, classes: testClasses },
        { _id: v1.versionId, number: 1, name: "base", status: "ready", isActive: true, classes: testClasses },
      ]);
    }
  });
});

/** Public functions of the weights-owning modules, read from the modules themselves so a new one cannot be missed. */
const weightsModules = import.meta.glob<Record<string, unknown>>(["../../convex/models.ts", "../../convex/deployment.ts", "../../convex/evaluation.ts", "../../convex/settings.ts", "../../convex/labelledSet.ts"], {
  eager: true,
});
describe("no weights leak", () => {
  test("no public models, settings or labelled-set result carries a storage id, a URL or weight bytes", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const teacher = makeTestModel({ seed: 1 });
    const results = new Map<string, unknown[]>();
    const record = async <T>(name: string, call: Promise<T>): Promise<T> => {
      const result = await call;
      results.set(name, [...(results.get(name) ?? []), result]);
      return result;
    };
    const v1 = await record("models:register", register(t, admin.client, teacher, "teacher"));
    const v2 = await record("models:register", register(t, admin.client, makeTestModel({ seed: 2 }), "other"));
    await record("deployment:activate", admin.client.action(api.deployment.activate, { versionId: v1.versionId, reason: "launch" }));
    await record("labelledSet:importItems", importSetLabelledBy(admin.client, teacher, 10));
    const dropped = await record("labelledSet:importItems", importSetLabelledBy(admin.client, teacher, 2, "dropped"));
    await record(
      "deployment:activate",
      admin.client.action(api.deployment.activate, { versionId: v2.versionId, reason: "try", overrideReason: "testing" }),
    );
    await record("deployment:rollback", admin.client.mutation(api.deployment.rollback, { reason: "back" }));
    await record("models:archive", admin.client.mutation(api.models.archive, { versionId: v2.versionId, reason: "done" }));
    await record("models:list", admin.client.query(api.models.list, {}));
    await record("models:choices", admin.client.query(api.models.choices, {}));
    await record("models:get", admin.client.query(api.models.get, { versionId: v1.versionId }));
    await record("deployment:timeline", admin.client.query(api.deployment.timeline, {}));
    await record("evaluation:compare", admin.client.action(api.evaluation.compare, { candidateId: v2.versionId }));
    await record("evaluation:refreshMetrics", admin.client.mutation(api.evaluation.refreshMetrics, {}));
    await record("settings:get", admin.client.query(api.settings.get, {}));
    await record("settings:update", admin.client.mutation(api.settings.update, { privacyMode: "none" }));
    await record("labelledSet:summary", admin.client.query(api.labelledSet.summary, {}));
    await record("models:findBySha256", admin.client.query(api.models.findBySha256, { sha256: "0".repeat(64) }));
    const listedItems = await record("labelledSet:items", admin.client.query(api.labelledSet.items, { paginationOpts: { numItems: 5, cursor: null } }));
    await record("labelledSet:removeItem", admin.client.mutation(api.labelledSet.removeItem, { itemId: listedItems.page[0]._id }));
    await record("labelledSet:removeImport", admin.client.mutation(api.labelledSet.removeImport, { importId: dropped.importId }));
    await record("labelledSet:clear", admin.client.mutation(api.labelledSet.clear, {}));

    // generateUploadUrl hands out a write-only upload URL by design; it cannot read any file.
    expect(publicFunctionNames(weightsModules)).toContain("evaluation:compare");
    const unchecked = publicFunctionNames(weightsModules).filter((name) => name !== "models:generateUploadUrl" && !results.has(name));
    expect(unchecked, `public functions this test does not call: ${unchecked.join(", ")}`).toEqual([]);

    const storageIds = await t.run(async (ctx) => (await ctx.db.system.query("_storage").collect()).map((file) => file._id));
    expect(storageIds.length).toBe(2);
    const text = JSON.stringify([...results.values()]);
    for (const storageId of storageIds) expect(text).not.toContain(storageId);
    expect(text).not.toMatch(/storageId|https?:\/\//i);
    const firstWeight = String(teacher.layers[0].weight[0]);
    expect(text).not.toContain(firstWeight);
  });
});
