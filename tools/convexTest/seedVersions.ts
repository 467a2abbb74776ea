/**
 * Model versions put straight into storage, weights chunks and modelVersions
 * (and the deployment pointer), as models.register and deployment.activate
 * leave them, so that tests of other areas, the bench and seeds do not
 * depend on the import path or the gate.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { storeWeightsChunks } from "../../convex/model/weights.ts";
import { summarizeModel } from "../../convex/lib/mlpModel.ts";
import { encodeWeights, sha256Hex } from "../../convex/lib/weightsBinary.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import type { ConvexTestBackend } from "./backend.ts";

export interface StoredVersion {
  versionId: Id<"modelVersions">;
  storageId: Id<"_storage">;
  number: number;
}

export interface StoreVersionOptions {
  /** An admin to name as importer; one is made when absent. */
  createdBy?: Id<"users">;
  /** Defaults to one past the highest. */
  number?: number;
  notes?: string;
  /** Point the deployment at it (pushing the active one onto the rollback stack). */
  activate?: boolean;
}

/** Stores the model's binary and registers a ready version. */
export async function seedVersion(t: ConvexTestBackend, model: MlpModel, options: StoreVersionOptions = {}): Promise<StoredVersion> {
  const bytes = encodeWeights(model);
  const sha256 = await sha256Hex(bytes);
  const stored = await t.run(async (ctx) => {
    const storageId = await ctx.storage.store(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
    const createdBy = options.createdBy ?? (await ctx.db.insert("users", { email: `seed-${sha256.slice(0, 8)}@example.com`, role: "admin" }));
    const latest = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").first();
    const number = options.number ?? (latest?.number ?? 0) + 1;
    const versionId = await ctx.db.insert("modelVersions", {
      number,
      name: model.name,
      notes: options.notes ?? "",
      sha256,
      storageId,
      byteLength: bytes.byteLength,
      summary: summarizeModel(model),
      status: "ready",
      createdBy,
    });
    await storeWeightsChunks(ctx, versionId, bytes.slice().buffer);
    return { versionId, storageId, number };
  });
  if (options.activate === true) await activateDirectly(t, stored.versionId);
  return stored;
}

/** Points the deployment at the version, pushing the previous active one onto the rollback stack. */
export async function activateDirectly(t: ConvexTestBackend, versionId: Id<"modelVersions">): Promise<void> {
  await t.run(async (ctx) => {
    const deployment = await ctx.db.query("deployment").first();
    if (deployment === null) {
      await ctx.db.insert("deployment", { activeVersionId: versionId, previousVersionIds: [], updatedAt: Date.now() });
    } else {
      const previous = deployment.activeVersionId === undefined ? [] : [deployment.activeVersionId];
      await ctx.db.patch(deployment._id, {
        activeVersionId: versionId,
        previousVersionIds: [...deployment.previousVersionIds, ...previous],
        updatedAt: Date.now(),
      });
    }
  });
}
