import { v, type Infer } from "convex/values";
import { getAuthUserId } from "@convex-dev/auth/server";
import { internalQuery, query } from "./_generated/server";
import type { Doc } from "./_generated/dataModel";
import { adminMutation, adminQuery } from "./functions";
import { roleValidator } from "./schema";
import { writeAudit } from "./audit";

const publicUserValidator = v.object({
  _id: v.id("users"),
  email: v.union(v.string(), v.null()),
  name: v.union(v.string(), v.null()),
  role: v.union(roleValidator, v.null()),
});

function toPublicUser(user: Doc<"users">): Infer<typeof publicUserValidator> {
  return { _id: user._id, email: user.email ?? null, name: user.name ?? null, role: user.role ?? null };
}

/** The signed-in user, or null. Open to any caller: the app needs it to decide what to show. */
export const me = query({
  args: {},
  returns: v.union(publicUserValidator, v.null()),
  handler: async (ctx) => {
    const userId = await getAuthUserId(ctx);
    if (userId === null) return null;
    const user = await ctx.db.get(userId);
    if (user === null) return null;
    return toPublicUser(user);
  },
});

export const list = adminQuery({
  args: {},
  returns: v.array(publicUserValidator),
  handler: async (ctx) => {
    const users = await ctx.db.query("users").take(1000);
    return users.map(toPublicUser);
  },
});

export const setRole = adminMutation({
  args: { userId: v.id("users"), role: roleValidator },
  returns: v.null(),
  handler: async (ctx, { userId, role }) => {
    const user = await ctx.db.get(userId);
    if (user === null) throw new Error(`No user with id ${userId}.`);
    if (user._id === ctx.caller.userId && role !== "admin") {
      const admins = await ctx.db
        .query("users")
        .withIndex("by_role", (q) => q.eq("role", "admin"))
        .take(2);
      if (admins.length < 2) throw new Error("You are the last admin: assign another admin before changing your own role.");
    }
    await ctx.db.patch(userId, { role });
    await writeAudit(ctx, {
      actorId: ctx.caller.userId,
      action: "setRole",
      details: `${user.email ?? userId}: ${user.role ?? "no role"} → ${role}`,
    });
    return null;
  },
});

export const getById = internalQuery({
  args: { userId: v.id("users") },
  handler: async (ctx, { userId }) => ctx.db.get(userId),
});
