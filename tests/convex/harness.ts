/**
 * convex-test setup shared by every Convex test: a fresh backend per test,
 * real Convex Auth keys, and helpers to get a caller with a given role.
 */
import { exportJWK, exportPKCS8, generateKeyPair } from "jose";
import { createLimitedBackend, type TransactionLimits } from "../../tools/convexTest/backend";
import { createUserSession } from "../../tools/convexTest/sessions";
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

/** A fresh backend with Convex's production limits; `tighter` narrows limits for one test. */
export function makeBackend(tighter: TransactionLimits = {}) {
  return createLimitedBackend(modules, tighter);
}
export type Backend = ReturnType<typeof makeBackend>;

/** A new user with `role` and a client acting as them (the password flow is tested on its own). */
export async function asUser(t: Backend, role: Role | null, email = `${role ?? "norole"}-${Math.random().toString(36).slice(2)}@example.com`) {
  const { userId, subject } = await createUserSession(t, { email, role });
  return { userId, client: t.withIdentity({ subject }) };
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
