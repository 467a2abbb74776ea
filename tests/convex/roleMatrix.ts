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

export const matrix: Record<string, MatrixEntry> = {
  // Convex Auth's own endpoints are open by design: they are how one signs in.
  "auth:signIn": { allowed: everyone, args: { provider: "password", params: { email: "x@example.com", password: "short", flow: "signIn" } } },
  "auth:signOut": { allowed: everyone },
  "auth:isAuthenticated": { allowed: everyone },
  "users:me": { allowed: everyone },
  "users:list": { allowed: admin },
  "users:setRole": { allowed: admin, args: async (t) => ({ userId: await someUserId(t), role: "analyst" }) },
};
