/**
 * The role matrix: every public Convex function × every role + anonymous.
 * A public function without an entry in `matrix` fails the completeness test,
 * so the matrix grows with the API.
 *
 * "Allowed" means the call reached the function's own logic: it succeeded or
 * was refused by the handler with a ConvexError (the sample arguments may point
 * at nothing usable), never with an access error, an argument-validator error
 * (which would mean the sample arguments never reached the role check) or an
 * unexpected crash. "Denied" means it failed with the access error.
 */
import { beforeAll, describe, expect, test } from "vitest";
import { ConvexError } from "convex/values";
import { asUser, ensureAuthEnv, makeBackend, type Backend } from "./harness";
import type { Role } from "../../convex/lib/shapes";
import { matrix, type Caller } from "./roleMatrix";

beforeAll(ensureAuthEnv);

type RegisteredFunction = { isQuery?: boolean; isMutation?: boolean; isAction?: boolean; isPublic?: boolean };

const functionModules = import.meta.glob<Record<string, unknown>>(
  ["../../convex/*.ts", "!../../convex/*.test.ts", "!../../convex/schema.ts", "!../../convex/*.config.ts"],
  { eager: true },
);

function publicFunctions(): Array<{ name: string; kind: "query" | "mutation" | "action" }> {
  const found: Array<{ name: string; kind: "query" | "mutation" | "action" }> = [];
  for (const [file, exports] of Object.entries(functionModules)) {
    const moduleName = file.replace(/^.*\/convex\//, "").replace(/\.ts$/, "");
    for (const [exportName, value] of Object.entries(exports)) {
      const fn = value as RegisteredFunction;
      if (typeof value !== "function" || !fn.isPublic) continue;
      const kind = fn.isQuery ? "query" : fn.isMutation ? "mutation" : "action";
      found.push({ name: `${moduleName}:${exportName}`, kind });
    }
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

function isAccessDenied(error: unknown): boolean {
  if (error instanceof ConvexError && (error.data as { code?: string })?.code === "access_denied") return true;
  const message = error instanceof Error ? error.message : String(error);
  return /access_denied|Not signed in|no role yet|This needs/.test(message);
}

/** A refusal from the function's own logic, as opposed to a validator error or a crash. */
function isHandlerRefusal(error: unknown): boolean {
  if (!(error instanceof ConvexError)) return false;
  const message = error.message;
  return !/ArgumentValidationError|Validator error/.test(message);
}

async function callAs(t: Backend, caller: Caller, name: string, kind: "query" | "mutation" | "action", args: unknown) {
  const client = caller === "anonymous" ? t : (await asUser(t, caller === "pending" ? null : caller)).client;
  // The matrix addresses functions by name ("models:list"), which
  // convex-test accepts in place of a typed reference.
  const call = client as unknown as Record<typeof kind, (ref: string, args: unknown) => Promise<unknown>>;
  return call[kind](name, args);
}

const callers: Caller[] = ["anonymous", "pending", "labeller", "analyst", "admin"];

describe("role matrix", () => {
  test("every public function has a matrix entry, and every entry is a public function", () => {
    const names = publicFunctions().map((f) => f.name);
    const missing = names.filter((n) => !(n in matrix));
    const extra = Object.keys(matrix).filter((n) => !names.includes(n));
    expect(missing, `public functions without a role-matrix entry: ${missing.join(", ")}`).toEqual([]);
    expect(extra, `matrix entries that are not public functions: ${extra.join(", ")}`).toEqual([]);
  });

  for (const { name, kind } of publicFunctions()) {
    const entry = matrix[name];
    if (!entry) continue;
    test(`${name}: ${callers.map((c) => `${c}=${entry.allowed.includes(c) ? "allow" : "deny"}`).join(" ")}`, async () => {
      const t = makeBackend();
      for (const caller of callers) {
        const args = typeof entry.args === "function" ? await entry.args(t) : (entry.args ?? {});
        let error: unknown = null;
        try {
          await callAs(t, caller, name, kind, args);
        } catch (e) {
          error = e;
        }
        const denied = error !== null && isAccessDenied(error);
        const described = `${name} as ${caller}: ${error instanceof Error ? `${error.constructor.name}: ${error.message}` : "no error"}`;
        expect(denied ? "deny" : "allow", described).toBe(entry.allowed.includes(caller) ? "allow" : "deny");
        if (!denied && error !== null) {
          const expected = isHandlerRefusal(error) || (entry.refusal !== undefined && entry.refusal.test(String(error)));
          expect(expected, `allowed, but not through the handler: ${described}`).toBe(true);
        }
      }
    });
  }
});

export type { Role };
