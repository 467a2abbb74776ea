/**
 * Users, roles and invitations. Nobody gets a role by signing up alone: an
 * email listed in the deployment's ADMIN_EMAILS becomes admin, an invited
 * email gets the invitation's role (see auth.ts), everyone else waits for an
 * admin. `npx convex run users:makeAdmin '{"email": "you@example.com"}'`
 * promotes an existing account from the command line.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalMutation, internalQuery, query } from "./_generated/server";
import type { Doc } from "./_generated/dataModel";
import { adminMutation, adminQuery, authUserId } from "./functions";
import { writeAudit } from "./model/audit";
import { emailReader } from "./model/versions";
import { roleValidator } from "./lib/shapes";
import { normalizeEmail } from "./lib/signUp";

const MAX_LISTED_USERS = 1000;
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+$/;

const publicUserValidator = v.object({
  _id: v.id("users"),
  email: v.union(v.string(), v.null()),
  name: v.union(v.string(), v.null()),
  role: v.union(roleValidator, v.null()),
});
export type PublicUser = Infer<typeof publicUserValidator>;

function toPublicUser(user: Doc<"users">): PublicUser {
  return { _id: user._id, email: user.email ?? null, name: user.name ?? null, role: user.role ?? null };
}

/** The signed-in user, or null. Open to any caller: the app needs it to decide what to show. */
export const me = query({
  args: {},
  returns: v.union(publicUserValidator, v.null()),
  handler: async (ctx) => {
    const userId = await authUserId(ctx);
    const user = userId === null ? null : await ctx.db.get(userId);
    return user === null ? null : toPublicUser(user);
  },
});

export const list = adminQuery({
  args: {},
  returns: v.object({
    users: v.array(publicUserValidator),
    invitations: v.array(v.object({ _id: v.id("invitations"), email: v.string(), role: roleValidator, invitedByEmail: v.union(v.string(), v.null()), createdAt: v.number() })),
  }),
  handler: async (ctx) => {
    const users = await ctx.db.query("users").take(MAX_LISTED_USERS);
    const invitations = await ctx.db.query("invitations").order("desc").take(MAX_LISTED_USERS);
    const emailOf = emailReader(ctx);
    const listed = [];
    for (const invitation of invitations) {
      listed.push({ _id: invitation._id, email: invitation.email, role: invitation.role, invitedByEmail: await emailOf(invitation.invitedBy), createdAt: invitation._creationTime });
    }
    return { users: users.map(toPublicUser), invitations: listed };
  },
});

export const setRole = adminMutation({
  args: { userId: v.id("users"), role: roleValidator },
  returns: v.null(),
  handler: async (ctx, { userId, role }) => {
    const user = await ctx.db.get(userId);
    if (user === null) throw new ConvexError(`No user with id ${userId}: the account may have been deleted. Reload the page.`);
    if (user.role === role) return null;
    if (user._id === ctx.caller.userId && role !== "admin") {
      const admins = await ctx.db.query("users").withIndex("by_role", (q) => q.eq("role", "admin")).take(2);
      if (admins.length < 2) throw new ConvexError("You are the last admin: assign another admin before changing your own role.");
    }
    await ctx.db.patch(userId, { role });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "setRole", details: `${user.email ?? userId}: ${user.role ?? "no role"} → ${role}` });
    return null;
  },
});

/** Lets `email` sign up (also when sign-up is invite-only) with `role`; an existing account gets the role at once. */
export const invite = adminMutation({
  args: { email: v.string(), role: roleValidator },
  returns: v.union(v.literal("invited"), v.literal("roleSet")),
  handler: async (ctx, args) => {
    const email = normalizeEmail(args.email);
    const role = args.role;
    if (!EMAIL_PATTERN.test(email) || email.length > 254) throw new ConvexError(`"${args.email.slice(0, 100)}" is not an email address.`);
    const existingUser = await ctx.db.query("users").withIndex("email", (q) => q.eq("email", email)).first();
    if (existingUser !== null) {
      if (existingUser.role !== role) {
        await ctx.db.patch(existingUser._id, { role });
        await writeAudit(ctx, { actorId: ctx.caller.userId, action: "setRole", details: `${email}: ${existingUser.role ?? "no role"} → ${role}` });
      }
      return "roleSet" as const;
    }
    const pending = await ctx.db.query("invitations").withIndex("by_email", (q) => q.eq("email", email)).first();
    if (pending !== null) await ctx.db.patch(pending._id, { role, invitedBy: ctx.caller.userId });
    else await ctx.db.insert("invitations", { email, role, invitedBy: ctx.caller.userId });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "invite", details: `${email} as ${role}` });
    return "invited" as const;
  },
});

export const revokeInvitation = adminMutation({
  args: { invitationId: v.id("invitations") },
  returns: v.null(),
  handler: async (ctx, { invitationId }) => {
    const invitation = await ctx.db.get(invitationId);
    if (invitation === null) throw new ConvexError("This invitation no longer exists: it was used or revoked.");
    await ctx.db.delete(invitationId);
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "revokeInvitation", details: `${invitation.email} as ${invitation.role}` });
    return null;
  },
});

/** For `npx convex run users:makeAdmin '{"email": "…"}'`: the way in when ADMIN_EMAILS was not set before the first sign-up. */
export const makeAdmin = internalMutation({
  args: { email: v.string() },
  returns: v.string(),
  handler: async (ctx, args) => {
    const email = normalizeEmail(args.email);
    const user = await ctx.db.query("users").withIndex("email", (q) => q.eq("email", email)).first();
    if (user === null) throw new ConvexError(`No account with the email ${email}: sign up in the app first, then run this again.`);
    await ctx.db.patch(user._id, { role: "admin" });
    return `${email} is now an admin.`;
  },
});

export const getById = internalQuery({
  args: { userId: v.id("users") },
  returns: v.union(
    v.null(),
    v.object({
      _id: v.id("users"),
      _creationTime: v.number(),
      email: v.optional(v.string()),
      role: v.optional(roleValidator),
    }),
  ),
  handler: async (ctx, { userId }) => {
    const user = await ctx.db.get(userId);
    return user === null ? null : { _id: user._id, _creationTime: user._creationTime, email: user.email, role: user.role };
  },
});
