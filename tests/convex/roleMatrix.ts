import type { Backend } from "./harness";

export type Caller = "anonymous" | "pending" | "labeller" | "analyst" | "admin";

export interface MatrixEntry {
  /** Who gets past the role check. "pending" is a signed-in user without a role. */
  allowed: Caller[];
  /** Sample arguments that satisfy the validators; may reference rows seeded in `t`. */
  args?: Record<string, unknown> | ((t: Backend) => Promise<Record<string, unknown>> | Record<string, unknown>);
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

export const matrix: Record<string, MatrixEntry> = {
  // Convex Auth's own endpoints are open by design: they are how one signs in.
  "auth:signIn": { allowed: everyone, args: { provider: "password", params: { email: "x@example.com", password: "short", flow: "signIn" } } },
  "auth:signOut": { allowed: everyone },
  "auth:isAuthenticated": { allowed: everyone },
  "users:me": { allowed: everyone },
  "users:list": { allowed: admin },
  "users:setRole": { allowed: admin, args: async (t) => ({ userId: await someUserId(t), role: "analyst" }) },
  "settings:get": { allowed: ["labeller", "analyst", "admin"] },
  "settings:update": { allowed: admin, args: { privacyMode: "thumbnail" } },
  "models:generateUploadUrl": { allowed: admin },
  "models:registerVersion": { allowed: admin, args: async (t) => ({ storageId: await someStorageId(t), name: "v", notes: "" }) },
  "models:listVersions": { allowed: admin },
  "models:getVersion": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t) }) },
  "models:activateVersion": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t), reason: "r" }) },
  "models:rollback": { allowed: admin, args: { reason: "r" } },
  "models:archiveVersion": { allowed: admin, args: async (t) => ({ versionId: await someVersionId(t), reason: "r" }) },
  "models:timeline": { allowed: admin },
  "models:compareVersions": { allowed: admin, args: async (t) => ({ candidateId: await someVersionId(t) }) },
  "models:refreshMetrics": { allowed: admin },
  "labelledSet:importItems": { allowed: admin, args: { name: "set", items: [{ features: [1], label: "cat" }] } },
  "labelledSet:summary": { allowed: admin },
  "labelledSet:removeImport": { allowed: admin, args: async (t) => ({ importId: await someLabelledImportId(t) }) },
  "labelledSet:clear": { allowed: admin },
};
