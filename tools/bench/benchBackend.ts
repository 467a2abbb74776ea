/**
 * The project's Convex functions under convex-test in this Node process (as
 * the demo runs them), with a model version stored the way registerVersion
 * stores it and a pool of admin callers.
 *
 * The pool exists because classification is rate limited per user (60-call
 * bursts): the benchmark spreads its calls over many users instead of
 * clearing the limiter inside the timed region.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { createLimitedBackend, type ConvexTestBackend } from "../convexTest/backend.ts";
import { createUserSession, type Session } from "../convexTest/sessions.ts";
import { seedVersion } from "../convexTest/seedVersions.ts";
import { loadConvexModules } from "../convexTest/modules.ts";
import type { BenchModel } from "./benchModels.ts";

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
  const t = createLimitedBackend(await loadConvexModules());
  const sessions: Session[] = [];
  for (let i = 0; i < callerCount; i++) sessions.push(await createUserSession(t, { email: `bench-admin-${i}@bench.local`, role: "admin" }, 24 * 3_600_000));
  const callers = sessions.map(({ subject }) => t.withIdentity({ subject }));
  let next = 0;
  return {
    t,
    callers,
    callerIds: sessions.map(({ userId }) => userId),
    nextCaller() {
      const caller = callers[next];
      next = (next + 1) % callers.length;
      return caller;
    },
  };
}

/** Stores the binary (and the JSON beside it) and registers a ready version; activates it when asked. */
export async function storeBenchVersion(backend: BenchBackend, bench: BenchModel, options: { activate: boolean }): Promise<StoredBenchVersion> {
  const { versionId, storageId } = await seedVersion(backend.t, bench.model, { createdBy: backend.callerIds[0], notes: "benchmark", activate: options.activate });
  const jsonStorageId = await backend.t.run((ctx) => ctx.storage.store(new Blob([bench.jsonText], { type: "application/json" })));
  return { versionId, storageId, jsonStorageId };
}
