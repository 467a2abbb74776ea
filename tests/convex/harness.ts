/**
 * convex-test setup shared by every Convex test: a fresh backend per test,
 * real Convex Auth keys, and helpers to get a caller with a given role.
 */
import { convexTest } from "convex-test";
import type { TransactionMetrics } from "convex-test/dist/transactionMetrics.js";
import { withValueLimits } from "./convexLimits";
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import schema from "../../convex/schema";
import type { Id } from "../../convex/_generated/dataModel";
import type { Role } from "../../convex/lib/shapes";

export const modules = import.meta.glob(["../../convex/**/*.*s", "!../../convex/**/*.test.ts"]);

let keys: { privateKey: string; jwks: string } | undefined;

/** Convex Auth signs JWTs with these; generated once per test file (RS256 is slow to make). */
export async function ensureAuthEnv() {
  if (!keys) {
    const { publicKey, privateKey } = await generateKeyPair("RS256", { extractable: true });
    const pkcs8 = await exportPKCS8(privateKey);
    const jwk = await exportJWK(publicKey);
    keys = {
      privateKey: pkcs8.trimEnd().replace(/\n/g, " "),
      jwks: JSON.stringify({ keys: [{ use: "sig", ...jwk }] }),
    };
  }
  process.env.JWT_PRIVATE_KEY = keys.privateKey;
  process.env.JWKS = keys.jwks;
  process.env.CONVEX_SITE_URL = "http://127.0.0.1:3211";
}

/** Convex's per-transaction limits (docs.convex.dev/production/state/limits; convex-test's defaults). */
const MiB = 1024 * 1024;
export const PRODUCTION_LIMITS: TransactionMetrics = {
  bytesRead: 16 * MiB,
  bytesWritten: 16 * MiB,
  documentsRead: 32_000,
  databaseQueries: 4_096,
  documentsWritten: 16_000,
  functionsScheduled: 1000,
  scheduledFunctionArgsBytes: 16 * MiB,
  filesWritten: 10,
  fileWriteBytes: 16 * MiB,
  filesRead: 10,
  fileReadBytes: 16 * MiB,
};
export type TransactionLimits = Partial<TransactionMetrics>;

/**
 * A fresh backend with Convex's production limits: convex-test enforces the
 * per-transaction ones (documents and bytes read and written, queries,
 * scheduled functions, files) and withValueLimits the argument and return
 * value limits it does not. `tighter` narrows limits for one test; nothing
 * here can loosen one.
 */
export function makeBackend(tighter: TransactionLimits = {}) {
  for (const [name, value] of Object.entries(tighter)) {
    const limit = PRODUCTION_LIMITS[name as keyof TransactionMetrics];
    if (!(value <= limit)) throw new Error(`makeBackend may only tighten Convex's limits: ${name} ${value} is above ${limit}.`);
  }
  return withValueLimits(convexTest({ schema, modules, transactionLimits: tighter }));
}
export type Backend = ReturnType<typeof makeBackend>;

/** Inserts a user (bypassing the password flow, which is tested on its own) and returns a client acting as them. */
export async function asUser(t: Backend, role: Role | null, email = `${role ?? "norole"}-${Math.random().toString(36).slice(2)}@example.com`) {
  const userId = await t.run(async (ctx) => ctx.db.insert("users", { email, ...(role ? { role } : {}) }));
  const sessionId = await t.run(async (ctx) =>
    ctx.db.insert("authSessions", { userId, expirationTime: Date.now() + 3_600_000 }),
  );
  return { userId, client: t.withIdentity({ subject: `${userId}|${sessionId}` }) };
}

export type UserClient = Awaited<ReturnType<typeof asUser>>["client"];
export type UserId = Id<"users">;

/** "module:function" for every public function exported by the given eagerly globbed Convex modules. */
export function publicFunctionNames(modules: Record<string, Record<string, unknown>>): string[] {
  return Object.entries(modules).flatMap(([file, exports]) =>
    Object.entries(exports)
      .filter(([, value]) => typeof value === "function" && (value as { isPublic?: boolean }).isPublic)
      .map(([name]) => `${file.replace(/^.*\/convex\//, "").replace(/\.ts$/, "")}:${name}`),
  );
}
