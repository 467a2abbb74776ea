/**
 * The one place where roles are checked. Every public function is built with
 * one of these builders; anything scheduled or called through ctx.run* uses
 * the plain internal* builders from _generated/server.
 */
import { customAction, customMutation, customQuery } from "convex-helpers/server/customFunctions";
import { ConvexError } from "convex/values";
import { action, mutation, query, type ActionCtx, type QueryCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import type { Role } from "./lib/shapes";

export type Caller = { userId: Id<"users">; role: Role };

export class AccessDenied extends ConvexError<{ code: "access_denied"; message: string }> {
  constructor(message: string) {
    super({ code: "access_denied", message });
  }
}

/**
 * The signed-in user's id, as Convex Auth's getAuthUserId computes it: its
 * tokens' subject is `userId|sessionId`. Written here so that function
 * modules do not load @convex-dev/auth (about 220 KB) on every call.
 */
export async function authUserId(ctx: { auth: QueryCtx["auth"] }): Promise<Id<"users"> | null> {
  const identity = await ctx.auth.getUserIdentity();
  if (identity === null) return null;
  const [userId] = identity.subject.split("|");
  return userId as Id<"users">;
}

function describeRoles(allowed: readonly Role[]): string {
  return allowed.length === 1 ? `the ${allowed[0]} role` : `one of the roles ${allowed.join(", ")}`;
}

export function checkRole(user: Pick<Doc<"users">, "_id" | "role"> | null, allowed: readonly Role[]): Caller {
  if (user === null) throw new AccessDenied("Not signed in: sign in to continue.");
  if (user.role === undefined) {
    throw new AccessDenied("Your account has no role yet: ask an admin to assign one.");
  }
  // Admins may do everything any other role may.
  if (user.role !== "admin" && !allowed.includes(user.role)) {
    throw new AccessDenied(`This needs ${describeRoles(allowed)}; you are ${user.role}.`);
  }
  return { userId: user._id, role: user.role };
}

async function loadCaller(ctx: QueryCtx, allowed: readonly Role[]): Promise<Caller> {
  const userId = await authUserId(ctx);
  const user = userId === null ? null : await ctx.db.get(userId);
  return checkRole(user, allowed);
}

async function loadCallerInAction(ctx: ActionCtx, allowed: readonly Role[]): Promise<Caller> {
  const userId = await authUserId(ctx);
  const user = userId === null ? null : await ctx.runQuery(internal.users.getById, { userId });
  return checkRole(user, allowed);
}

const allRoles: readonly Role[] = ["admin", "labeller", "analyst"];

export const roleQuery = (allowed: readonly Role[]) =>
  customQuery(query, {
    args: {},
    input: async (ctx) => ({ ctx: { caller: await loadCaller(ctx, allowed) }, args: {} }),
  });

export const roleMutation = (allowed: readonly Role[]) =>
  customMutation(mutation, {
    args: {},
    input: async (ctx) => ({ ctx: { caller: await loadCaller(ctx, allowed) }, args: {} }),
  });

export const roleAction = (allowed: readonly Role[]) =>
  customAction(action, {
    args: {},
    input: async (ctx) => ({ ctx: { caller: await loadCallerInAction(ctx, allowed) }, args: {} }),
  });

/** Any signed-in user with a role. */
export const memberQuery = roleQuery(allRoles);
export const memberMutation = roleMutation(allRoles);
export const adminQuery = roleQuery(["admin"]);
export const adminMutation = roleMutation(["admin"]);
export const adminAction = roleAction(["admin"]);
/** Labellers (and admins): upload, classify, label. */
export const labellerQuery = roleQuery(["labeller"]);
export const labellerMutation = roleMutation(["labeller"]);
export const labellerAction = roleAction(["labeller"]);
/** Analysts (and admins): read charts and aggregates. */
export const analystQuery = roleQuery(["analyst"]);
/** Anyone who may see pictures and results: labellers, analysts, admins. */
export const viewerQuery = roleQuery(["labeller", "analyst"]);
