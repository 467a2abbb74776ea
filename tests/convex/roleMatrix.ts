import type { Backend } from "./harness";

export type Caller = "anonymous" | "pending" | "labeller" | "analyst" | "admin";

export interface MatrixEntry {
  /** Who gets past the role check. "pending" is a signed-in user without a role. */
  allowed: Caller[];
  /** Sample arguments that satisfy the validators; may reference rows seeded in `t`. */
  args?: Record<string, unknown> | ((t: Backend) => Promise<Record<string, unknown>> | Record<string, unknown>);
  /** A refusal an allowed caller may get that is not a ConvexError (a library's own error). */
  refusal?: RegExp;
}

const everyone: Caller[] = ["anonymous", "pending", "labeller", "analyst", "admin"];
const admin: Caller[] = ["admin"];

async function someUserId(t: Backend) {
  return t.run((ctx) => ctx.db.insert("users", { email: "target@example.com" }));
}

/** A version row that passes the validators; calls may still fail past the role check (its file is no weights). */
async function someVersionId(t: Backend) {
  return t.run(async (ctx) => {
    const createdBy = await ctx.db.insert("users", { email: "creator@example.com" });
    const storageId = await ctx.storage.store(new Blob(["not weights"]));
    const summary = { name: "m", classes: ["cat"], input: { dim: 512, clipModel: "c", normalize: "none" as const }, outputActivation: "softmax" as const, layerShapes: [], parameterCount: 0 };
    return ctx.db.insert("modelVersions", { number: 1, name: "m", notes: "", sha256: "0", storageId, byteLength: 11, summary, status: "ready", createdBy });
  });
}

async function someStorageId(t: Backend) {
  return t.run((ctx) => ctx.storage.store(new Blob(["not weights"])));
}

async function someLabelledImportId(t: Backend) {
  return t.run(async (ctx) => ctx.db.insert("labelledImports", { name: "set", importedBy: await ctx.db.insert("users", {}), itemCount: 0 }));
}

async function someInvitationId(t: Backend) {
  return t.run(async (ctx) => ctx.db.insert("invitations", { email: "x@example.com", role: "labeller", invitedBy: await ctx.db.insert("users", {}) }));
}

async function someLabelledItemId(t: Backend) {
  return t.run(async (ctx) => {
    const featuresId = await ctx.db.insert("features", { vector: new ArrayBuffer(4), dim: 1 });
    return ctx.db.insert("labelledItems", { source: "import", featuresId, label: "cat" });
  });
}

async function someSuspectId(t: Backend) {
  const itemId = await someLabelledItemId(t);
  return t.run(async (ctx) => {
    const runId = await ctx.db.insert("suspectRuns", {
      method: "kfold", status: "done", classes: ["cat", "dog"], folds: 5, foldsDone: 5, versionIds: [], itemCount: 1, startedBy: await ctx.db.insert("users", {}), updatedAt: 0,
    });
    return ctx.db.insert("suspects", { runId, itemId, givenLabel: "cat", suspectedLabel: "dog", score: 0.5, status: "open" });
  });
}

async function somePictureId(t: Backend) {
  return t.run(async (ctx) =>
    ctx.db.insert("pictures", {
      uploaderId: await ctx.db.insert("users", { email: "uploader@example.com", role: "labeller" }),
      fileName: "p.jpg",
      contentType: "image/jpeg",
      storageMode: "none",
      status: "uploaded",
      attempts: 0,
      labelled: false,
    }),
  );
}

async function someReplayId(t: Backend) {
  const versionId = await someVersionId(t);
  return t.run(async (ctx) =>
    ctx.db.insert("replays", { versionId, filter: {}, status: "failed", processed: 0, total: 0, cursor: null, startedBy: await ctx.db.insert("users", {}) }),
  );
}

const labellers: Caller[] = ["labeller", "admin"];
const analysts: Caller[] = ["analyst", "admin"];
const viewers: Caller[] = ["labeller", "analyst", "admin"];
const dayRange = { from: "2026-01-01", to: "2026-01-31" };

export const matrix: Record<string, MatrixEntry> = {
  // Convex Auth's own endpoints are open by design: they are how one signs in.
  "auth:signIn": { allowed: everyone, args: { provider: "password", params: { email: "x@example.com", password: "short", flow: "signIn" } }, refusal: /InvalidAccountId/ },
  "auth:signOut": { allowed: everyone },
  "auth:isAuthenticated": { allowed: everyone },
  "users:me": { allowed: everyone },
  "auditLog:list": { allowed: admin, args: { group: "all", paginationOpts: { numItems: 5, cursor: null } } },
  "users:list": { allowed: admin },
  "users:setRole": { allowed: admin, args: async (t) => ({ userId: await someUserId(t), role: "analyst" }) },
  "users:invite": { allowed: admin, args: { email: "invitee@example.com", role: "labeller" } },
  "users:revokeInvitation": { allowed: admin, args: async (t) => ({ invitationId: await someInvitationId(t) }) },
  "settings:get": { allowed: ["labeller", "analyst", "admin"] },
  "settings:update": { allowed: admin, args: { privacyMode: "thumbnail" } },
  "models:generateUploadUrl": { allowed: admin },
  "models:register": { allowed: admin, args: async (t) => ({ storageId: await someStorageId(t), name: "v", notes: "" }) },
  "models:list": { allowed: admin },
  "models:findBySha256": { allowed: admin, args: { sha256: "0".repeat(64) } },
  "models:choices": { allowed: viewers },
  "models:get": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t) }) },
  "deployment:activate": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t), reason: "r" }) },
  "deployment:rollback": { allowed: admin, args: { reason: "r" } },
  "models:archive": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t), reason: "r" }) },
  "deployment:timeline": { allowed: admin },
  "evaluation:compare": { allowed: admin, args: async (t) => ({ candidateId: await someVersionId(t) }) },
  "evaluation:refreshMetrics": { allowed: admin },
  "labelledSet:importItems": { allowed: admin, args: { name: "set", items: [{ features: [1], label: "cat" }] } },
  "labelledSet:summary": { allowed: admin },
  "labelledSet:items": { allowed: admin, args: { paginationOpts: { numItems: 5, cursor: null } } },
  "labelledSet:removeItem": { allowed: admin, args: async (t) => ({ itemId: await someLabelledItemId(t) }) },
  "labelledSet:removeImport": { allowed: admin, args: async (t) => ({ importId: await someLabelledImportId(t) }) },
  "labelledSet:clear": { allowed: admin },
  "pictures:generateUploadUrl": { allowed: labellers },
  "pictures:record": { allowed: labellers, args: { fileName: "a.jpg", contentType: "image/jpeg" } },
  "classifications:classify": { allowed: labellers, args: async (t) => ({ pictureId: await somePictureId(t), clipFeatures: [1] }) },
  "classifications:retry": { allowed: labellers, args: async (t) => ({ pictureId: await somePictureId(t) }) },
  "pictures:list": { allowed: viewers, args: { filter: {}, paginationOpts: { numItems: 5, cursor: null } } },
  "pictures:get": { allowed: viewers, args: async (t) => ({ pictureId: await somePictureId(t) }) },
  "pictures:reviewQueue": { allowed: labellers, args: { limit: 5 } },
  "pictures:remove": { allowed: labellers, args: async (t) => ({ pictureId: await somePictureId(t) }) },
  "labels:set": { allowed: labellers, args: async (t) => ({ pictureId: await somePictureId(t), label: "cat" }) },
  "labels:remove": { allowed: labellers, args: async (t) => ({ pictureId: await somePictureId(t) }) },
  "analytics:classDistribution": { allowed: analysts, args: dayRange },
  "analytics:timeSeries": { allowed: analysts, args: dayRange },
  "analytics:confidenceHistogram": { allowed: analysts, args: dayRange },
  "analytics:predictedVsConfirmed": { allowed: analysts, args: dayRange },
  "embeddings:map": { allowed: analysts, args: { a: dayRange } },
  "analytics:drift": { allowed: analysts, args: { a: dayRange, b: dayRange } },
  "suspects:start": { allowed: admin, args: { method: "kfold" } },
  "suspects:status": { allowed: viewers },
  "suspects:queue": { allowed: labellers, args: { limit: 5 } },
  "suspects:keep": { allowed: labellers, args: async (t) => ({ suspectId: await someSuspectId(t) }) },
  "suspects:fix": { allowed: labellers, args: async (t) => ({ suspectId: await someSuspectId(t), label: "cat" }) },
  "replays:start": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t), filter: {} }) },
  "replays:resume": { allowed: admin, args: async (t) => ({ replayId: await someReplayId(t) }) },
  "replays:status": { allowed: analysts, args: async (t) => ({ replayId: await someReplayId(t) }) },
  "replays:list": { allowed: analysts },
  "replays:results": { allowed: analysts, args: async (t) => ({ replayId: await someReplayId(t), paginationOpts: { numItems: 5, cursor: null } }) },
};
