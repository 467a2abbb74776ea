/**
 * The project's Convex functions under convex-test in this Node process (as
 * the demo runs them), with a model version stored the way registerVersion
 * stores it and a pool of admin callers.
 *
 * The pool exists because classification is rate limited per user (60-call
 * bursts): the benchmark spreads its calls over many users instead of
 * clearing the limiter inside the timed region.
 */
import { convexTest, type TestConvex } from "convex-test";
import schema from "../../convex/schema.ts";
import type { Id } from "../../convex/_generated/dataModel";
import { storeWeightsChunks } from "../../convex/model/weights.ts";
import { summarizeModel } from "../../convex/lib/mlpModel.ts";
import { sha256Hex } from "../../convex/lib/weightsBinary.ts";
import { loadConvexModules } from "../demo/demoBackend.ts";
import type { BenchModel } from "./benchModels.ts";

export type ConvexTestBackend = TestConvex<typeof schema>;
export type BenchCaller = ReturnType<ConvexTestBackend["withIdentity"]>;

export interface BenchBackend {
  t: ConvexTestBackend;
  callers: BenchCaller[];
  callerIds: Array<Id<"users">>;
  /** The next caller, round-robin over the pool. */
  nextCaller(): BenchCaller;
}

export interface StoredBenchVersion {
  versionId: Id<"modelVersions">;
  storageId: Id<"_storage">;
  /** The same weights as canonical JSON text, for the JSON-loading baseline. */
  jsonStorageId: Id<"_storage">;
}

export async function createBenchBackend(callerCount = 48): Promise<BenchBackend> {
  const t = convexTest({ schema, modules: await loadConvexModules(), transactionLimits: true });
  const identities = await t.run(async (ctx) => {
    const made: Array<{ userId: Id<"users">; sessionId: Id<"authSessions"> }> = [];
    for (let i = 0; i < callerCount; i++) {
      const userId = await ctx.db.insert("users", { email: `bench-admin-${i}@bench.local`, role: "admin" });
      const sessionId = await ctx.db.insert("authSessions", { userId, expirationTime: Date.now() + 24 * 3_600_000 });
      made.push({ userId, sessionId });
    }
    return made;
  });
  const callers = identities.map(({ userId, sessionId }) => t.withIdentity({ subject: `${userId}|${sessionId}` }));
  let next = 0;
  return {
    t,
    callers,
    callerIds: identities.map(({ userId }) => userId),
    nextCaller() {
      const caller = callers[next];
      next = (next + 1) % callers.length;
      return caller;
    },
  };
}

/** Stores the binary (and the JSON beside it) and registers a ready version; activates it when asked. */
export async function storeBenchVersion(backend: BenchBackend, bench: BenchModel, options: { activate: boolean }): Promise<StoredBenchVersion> {
  const sha256 = await sha256Hex(bench.binary);
  const createdBy = backend.callerIds[0];
  return backend.t.run(async (ctx) => {
    const storageId = await ctx.storage.store(new Blob([bench.binary as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
    const jsonStorageId = await ctx.storage.store(new Blob([bench.jsonText], { type: "application/json" }));
    const latest = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").first();
    const versionId = await ctx.db.insert("modelVersions", {
      number: (latest?.number ?? 0) + 1,
      name: bench.model.name,
      notes: "benchmark",
      sha256,
      storageId,
      byteLength: bench.binary.byteLength,
      summary: summarizeModel(bench.model),
      status: "ready",
      createdBy,
    });
    await storeWeightsChunks(ctx, versionId, bench.binary.slice().buffer);
    if (options.activate) {
      const deployment = await ctx.db.query("deployment").first();
      if (deployment === null) await ctx.db.insert("deployment", { activeVersionId: versionId, previousVersionIds: [], updatedAt: Date.now() });
      else await ctx.db.patch(deployment._id, { activeVersionId: versionId, updatedAt: Date.now() });
    }
    return { versionId, storageId, jsonStorageId };
  });
}
