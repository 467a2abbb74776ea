/**
 * The offline demo backend: the project's real Convex functions running in
 * this Node process under convex-test, with in-memory data. tools/demo/server.ts
 * puts it on HTTP; nothing here knows about HTTP beyond the URL shapes that
 * convex-test's fake storage hands out.
 */
import { makeFunctionReference } from "convex/server";
import type { Value } from "convex/values";
import type { Role } from "../../convex/lib/shapes.ts";
import type { Id } from "../../convex/_generated/dataModel";
import { storeWeightsChunks } from "../../convex/model/weights.ts";
import { createLimitedBackend } from "../convexTest/backend.ts";
import { loadConvexModules } from "../convexTest/modules.ts";
import { startSession as startUserSession } from "../convexTest/sessions.ts";

export type FunctionKind = "query" | "mutation" | "action";

/** Who a call runs as: the subject Convex Auth puts in its JWTs (`userId|sessionId`). */
export interface DemoIdentity {
  subject: string;
  userId: Id<"users">;
  role: Role;
}

export interface DemoSession {
  token: string;
  /** The app stores one; the demo never honours it (sign in again instead). */
  refreshToken: string;
  userId: Id<"users">;
  role: Role;
}

/** A failure to show the caller as is: bad path, internal function, unknown token. */
export class DemoRequestError extends Error {
  constructor(
    readonly status: 400 | 401 | 404,
    message: string,
  ) {
    super(message);
    this.name = "DemoRequestError";
  }
}

export interface StoredFile {
  bytes: Uint8Array;
  contentType: string | null;
}

export interface DemoBackend {
  /** Runs a public function as `token`'s user (or signed out when null). */
  call(kind: FunctionKind, path: string, args: Record<string, Value>, token: string | null): Promise<Value>;
  /** Creates the role's demo user on first use, then a fresh session for it. */
  signIn(role: Role): Promise<DemoSession>;
  identityForToken(token: string): DemoIdentity | null;
  /** Stores an upload posted to a URL from `generateUploadUrl`; throws for a URL it never issued or already used. */
  storeUpload(uploadToken: string, blob: Blob): Promise<Id<"_storage">>;
  /** The file behind a `getUrl` URL (convex-test names files by their sha256). */
  readFileBySha256(sha256: string): Promise<StoredFile | null>;
  /** Increases after every write and every finished scheduled function; live queries re-run when it changes. */
  readonly version: number;
  onVersionChange(listener: (version: number) => void): () => void;
  /** Present only when created with `faultInjection: true` (the e2e suite); never in `npm run demo`. */
  readonly faults: DemoFaults | null;
  /** Resolves once no scheduled function is running or due. */
  settle(): Promise<void>;
  close(): void;
}

/**
 * Failures the product itself cannot cause but an operator can (deleting a
 * file in the Convex dashboard), so the e2e suite can check how the app reports them.
 */
export interface DemoFaults {
  /** Deletes the active version's weights file from storage; returns that version's number. */
  deleteActiveWeights(): Promise<number>;
  /** Leaves the deployment without an active version, as before the first activation; returns the number it had. */
  clearActiveVersion(): Promise<number>;
  /** Undoes both: stores deleted bytes again (pointing their version at them) and re-activates a cleared version if none is active. */
  restore(): Promise<void>;
}

export interface CreateDemoBackendOptions {
  faultInjection?: boolean;
  /** Folder holding the Convex functions; defaults to the project's `convex/`. */
  convexDir?: string;
  /** Seeds demo users, settings, weights, a labelled set and classified pictures (tools/demo/seed.ts). */
  seed?: (backend: DemoSeedContext) => Promise<void>;
}

/** What a seed script may use: calls as a role and raw storage, all through the real functions. */
export interface DemoSeedContext {
  callAs(role: Role, kind: FunctionKind, path: string, args: Record<string, Value>): Promise<Value>;
  storeBlob(blob: Blob): Promise<Id<"_storage">>;
  /** Runs `work` with Date.now() shifted by `offsetMs`, so seeded data can span past days. */
  atTimeOffset<T>(offsetMs: number, work: () => Promise<T>): Promise<T>;
}

export const DEMO_EMAIL_DOMAIN = "demo.local";
export const FAKE_STORAGE_ORIGIN = "https://some-deployment.convex.cloud";
const uploadUrlPattern = /^https:\/\/some-deployment\.convex\.cloud\/api\/storage\/upload\?token=(.+)$/;
const fileUrlPattern = /^https:\/\/some-deployment\.convex\.cloud\/api\/storage\/(.+)$/;

interface RegisteredFunction {
  isQuery?: boolean;
  isMutation?: boolean;
  isAction?: boolean;
  isPublic?: boolean;
}

const pathPattern = /^[A-Za-z0-9_/]+:[A-Za-z0-9_]+$/;
const SCHEDULED_CHAIN_LIMIT = 10_000;

function randomToken(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `${prefix}_${Buffer.from(bytes).toString("base64url")}`;
}

/** Replaces convex-test's fake deployment URLs with paths the demo server answers. */
export function rewriteStorageUrls(value: Value, onUploadToken: (token: string) => void): Value {
  if (typeof value === "string") {
    const upload = uploadUrlPattern.exec(value);
    if (upload) {
      onUploadToken(upload[1]);
      return `/api/storage/upload?token=${encodeURIComponent(upload[1])}`;
    }
    const file = fileUrlPattern.exec(value);
    if (file) return `/api/storage/file/${encodeURIComponent(file[1])}`;
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => rewriteStorageUrls(item, onUploadToken));
  if (value !== null && typeof value === "object" && !(value instanceof ArrayBuffer)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, rewriteStorageUrls(item as Value, onUploadToken)]),
    );
  }
  return value;
}

export async function createDemoBackend(options: CreateDemoBackendOptions = {}): Promise<DemoBackend> {
  const modules = await loadConvexModules(options.convexDir);
  const modulePrefix = Object.keys(modules)
    .find((path) => path.includes("_generated"))!
    .split("_generated", 2)[0];
  // Production limits on, so the demo fails where a deployment would.
  const t = createLimitedBackend(modules);

  const sessions = new Map<string, DemoIdentity>();
  const openUploadTokens = new Set<string>();
  const listeners = new Set<(version: number) => void>();
  let version = 0;
  let settling: Promise<void> | null = null;
  let closed = false;

  function bump(): void {
    version += 1;
    for (const listener of listeners) listener(version);
  }

  async function resolvePublicFunction(kind: FunctionKind, path: string): Promise<void> {
    if (!pathPattern.test(path)) {
      throw new DemoRequestError(400, `Expected a function path like "models:list", got ${JSON.stringify(path)}.`);
    }
    const [modulePath, exportName] = path.split(":");
    const load = Object.entries(modules).find(([file]) => file.replace(/\.(ts|js)$/, "") === modulePrefix + modulePath)?.[1];
    if (!load) throw new DemoRequestError(404, `Could not find public function for '${path}': no module convex/${modulePath}.`);
    const exported = (await load())[exportName] as RegisteredFunction | undefined;
    const kindMatches =
      (kind === "query" && exported?.isQuery) || (kind === "mutation" && exported?.isMutation) || (kind === "action" && exported?.isAction);
    // Like a real deployment: internal functions and mismatched kinds look as if they do not exist.
    if (!exported || !exported.isPublic || !kindMatches) {
      throw new DemoRequestError(404, `Could not find public ${kind} '${path}'. Did you forget to run \`npm run codegen\`, or is it internal?`);
    }
  }

  async function run(kind: FunctionKind, path: string, args: Record<string, Value>, subject: string | null): Promise<Value> {
    const client = subject === null ? t : t.withIdentity({ subject });
    // Paths arrive as strings, so the references are untyped: args are checked by the functions' own validators.
    switch (kind) {
      case "query":
        return (await client.query(makeFunctionReference<"query", Record<string, Value>, Value>(path), args)) as Value;
      case "mutation":
        return (await client.mutation(makeFunctionReference<"mutation", Record<string, Value>, Value>(path), args)) as Value;
      case "action":
        return (await client.action(makeFunctionReference<"action", Record<string, Value>, Value>(path), args)) as Value;
    }
  }

  /**
   * Scheduled functions run on real timers under convex-test. Waiting for them
   * here (then bumping the version again) is what lets a client see the writes
   * a scheduled function makes after the call that scheduled it returned.
   */
  function settleInBackground(): void {
    if (settling || closed) return;
    settling = (async () => {
      try {
        await waitForScheduledFunctions();
      } catch (error) {
        // A chain longer than the iteration cap keeps running on real timers; clients still get this bump.
        process.stderr.write(`demo backend: waiting for scheduled functions stopped: ${error instanceof Error ? error.message : String(error)}\n`);
      } finally {
        settling = null;
        if (!closed) bump();
      }
    })();
  }

  /** Real timers, so there is nothing to advance: this only waits, for chains up to many links long (replays). */
  async function waitForScheduledFunctions(): Promise<void> {
    await t.finishAllScheduledFunctions(() => undefined, SCHEDULED_CHAIN_LIMIT);
  }

  async function callAsSubject(kind: FunctionKind, path: string, args: Record<string, Value>, subject: string | null): Promise<Value> {
    try {
      const result = await run(kind, path, args, subject);
      return rewriteStorageUrls(result ?? null, (token) => openUploadTokens.add(token));
    } finally {
      // A failed action may still have written (a picture marked failed), so bump either way.
      if (kind !== "query") {
        bump();
        settleInBackground();
      }
    }
  }

  async function findOrCreateUser(role: Role): Promise<Id<"users">> {
    const email = `${role}@${DEMO_EMAIL_DOMAIN}`;
    return await t.run(async (ctx) => {
      const existing = await ctx.db
        .query("users")
        .withIndex("email", (q) => q.eq("email", email))
        .unique();
      if (existing) {
        if (existing.role !== role) await ctx.db.patch(existing._id, { role });
        return existing._id;
      }
      return await ctx.db.insert("users", { email, name: `Demo ${role}`, role });
    });
  }

  /** A new auth session for the role's demo user, as the subject calls run under. */
  async function startSession(role: Role, lifetimeMs: number): Promise<{ userId: Id<"users">; subject: string }> {
    return startUserSession(t, await findOrCreateUser(role), lifetimeMs);
  }

  async function signIn(role: Role): Promise<DemoSession> {
    const { userId, subject } = await startSession(role, 30 * 24 * 3_600_000);
    const token = randomToken("demo");
    sessions.set(token, { subject, userId, role });
    bump();
    return { token, refreshToken: randomToken("demo_refresh"), userId, role };
  }

  async function storeBlob(blob: Blob): Promise<Id<"_storage">> {
    const storageId = await t.run(async (ctx) => ctx.storage.store(blob));
    bump();
    return storageId;
  }

  const deletedWeights: Array<{ versionId: Id<"modelVersions">; bytes: ArrayBuffer }> = [];
  let clearedActiveId: Id<"modelVersions"> | null = null;
  const faults: DemoFaults = {
    async deleteActiveWeights() {
      const deleted = await t.run(async (ctx) => {
        const deployment = await ctx.db.query("deployment").first();
        const version = deployment?.activeVersionId ? await ctx.db.get(deployment.activeVersionId) : null;
        if (!version) throw new DemoRequestError(400, "No version is active, so there is no weights file to delete.");
        const blob = await ctx.storage.get(version.storageId);
        if (!blob) throw new DemoRequestError(400, `The weights file of version ${version.number} is already gone.`);
        const bytes = await blob.arrayBuffer();
        // The file and the chunks the classifier reads: both, as an operator deleting a version's data would.
        await ctx.storage.delete(version.storageId);
        const chunks = await ctx.db.query("weightsChunks").withIndex("by_version_index", (q) => q.eq("versionId", version._id)).collect();
        for (const chunk of chunks) await ctx.db.delete(chunk._id);
        return { versionId: version._id, number: version.number, bytes };
      });
      deletedWeights.push({ versionId: deleted.versionId, bytes: deleted.bytes });
      bump();
      return deleted.number;
    },
    async clearActiveVersion() {
      const cleared = await t.run(async (ctx) => {
        const deployment = await ctx.db.query("deployment").first();
        const version = deployment?.activeVersionId ? await ctx.db.get(deployment.activeVersionId) : null;
        if (!deployment || !version) throw new DemoRequestError(400, "No version is active already.");
        await ctx.db.patch(deployment._id, { activeVersionId: undefined });
        return { versionId: version._id, number: version.number };
      });
      clearedActiveId = cleared.versionId;
      bump();
      return cleared.number;
    },
    async restore() {
      for (const { versionId, bytes } of deletedWeights.splice(0)) {
        await t.run(async (ctx) => {
          const storageId = await ctx.storage.store(new Blob([bytes]));
          await ctx.db.patch(versionId, { storageId });
          await storeWeightsChunks(ctx, versionId, bytes);
        });
      }
      const reactivate = clearedActiveId;
      clearedActiveId = null;
      if (reactivate) {
        await t.run(async (ctx) => {
          const deployment = await ctx.db.query("deployment").first();
          if (deployment && deployment.activeVersionId === undefined) await ctx.db.patch(deployment._id, { activeVersionId: reactivate });
        });
      }
      bump();
    },
  };

  const backend: DemoBackend = {
    faults: options.faultInjection ? faults : null,
    async call(kind, path, args, token) {
      await resolvePublicFunction(kind, path);
      let subject: string | null = null;
      if (token !== null) {
        const identity = sessions.get(token);
        if (!identity) throw new DemoRequestError(401, "This demo session is unknown (the demo backend was restarted?): sign in again.");
        subject = identity.subject;
      }
      const result = await callAsSubject(kind, path, args, subject);
      if (path === "auth:signOut" && token !== null) sessions.delete(token);
      return result;
    },
    signIn,
    identityForToken: (token) => sessions.get(token) ?? null,
    async storeUpload(uploadToken, blob) {
      if (!openUploadTokens.delete(uploadToken)) {
        throw new DemoRequestError(400, "This upload URL is unknown or was already used: call generateUploadUrl again.");
      }
      return await storeBlob(blob);
    },
    async readFileBySha256(sha256) {
      // t.run returns Convex values, so the bytes travel as an ArrayBuffer, not a Blob.
      const found = await t.run(async (ctx) => {
        const metadata = (await ctx.db.system.query("_storage").collect()).find((file) => file.sha256 === sha256);
        if (!metadata) return null;
        const blob = await ctx.storage.get(metadata._id);
        return blob ? { bytes: await blob.arrayBuffer(), contentType: metadata.contentType ?? null } : null;
      });
      return found ? { bytes: new Uint8Array(found.bytes), contentType: found.contentType } : null;
    },
    get version() {
      return version;
    },
    onVersionChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async settle() {
      while (settling) await settling;
      await waitForScheduledFunctions();
    },
    close() {
      closed = true;
      listeners.clear();
    },
  };

  if (options.seed) {
    const subjects = new Map<Role, string>();
    const seedContext: DemoSeedContext = {
      async callAs(role, kind, path, args) {
        let subject = subjects.get(role);
        if (!subject) {
          subject = (await startSession(role, 3_600_000)).subject;
          subjects.set(role, subject);
        }
        const result = await callAsSubject(kind, path, args, subject);
        await backend.settle();
        return result;
      },
      storeBlob,
      atTimeOffset: (offsetMs, work) => withShiftedClock(offsetMs, work),
    };
    await options.seed(seedContext);
    await backend.settle();
  }
  return backend;
}

/**
 * convex-test pins each transaction's Date from the global Date, so swapping
 * in a shifted subclass for the duration of `work` makes the functions record
 * past days. Only the seed uses it, before the server accepts requests.
 */
async function withShiftedClock<T>(offsetMs: number, work: () => Promise<T>): Promise<T> {
  const RealDate = globalThis.Date;
  class ShiftedDate extends RealDate {
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offsetMs);
      else super(...(args as [number]));
    }
    static override now(): number {
      return RealDate.now() + offsetMs;
    }
  }
  globalThis.Date = ShiftedDate as DateConstructor;
  try {
    return await work();
  } finally {
    globalThis.Date = RealDate;
  }
}
