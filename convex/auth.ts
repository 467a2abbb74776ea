import { convexAuth } from "@convex-dev/auth/server";
import { Password } from "@convex-dev/auth/providers/Password";
import { ConvexError } from "convex/values";
import type { MutationCtx } from "./_generated/server";
import { writeAudit } from "./model/audit";
import { loadSettings } from "./model/settings";
import { normalizeEmail, signUpDecision } from "./lib/signUp";

const MIN_PASSWORD_LENGTH = 8;

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [
    Password({
      // One spelling per address, so "Ada@Example.com" signs in to the account "ada@example.com" made.
      profile: (params) => {
        const email = normalizeEmail(String(params.email ?? ""));
        if (!/^[^\s@]+@[^\s@]+$/.test(email)) throw new ConvexError("Enter your email address, e.g. ada@example.com.");
        return { email };
      },
      validatePasswordRequirements: (password) => {
        if (password.length < MIN_PASSWORD_LENGTH) throw new ConvexError(`Choose a password of at least ${MIN_PASSWORD_LENGTH} characters.`);
      },
    }),
  ],
  callbacks: {
    // Who gets which role at sign-up: ADMIN_EMAILS, an invitation, or none
    // (the account can do nothing until an admin assigns one). Throwing here
    // aborts the sign-up mutation, so a refused account is never created.
    async afterUserCreatedOrUpdated(genericCtx, { userId, existingUserId }) {
      if (existingUserId !== null) return;
      // The library types ctx over any data model; ours is the schema's.
      const ctx = genericCtx as unknown as MutationCtx;
      const user = await ctx.db.get(userId);
      const email = normalizeEmail(user?.email ?? "");
      const invitation = email === "" ? null : await ctx.db.query("invitations").withIndex("by_email", (q) => q.eq("email", email)).first();
      const decision = signUpDecision({
        email,
        adminEmails: process.env.ADMIN_EMAILS ?? "",
        invitedRole: invitation?.role ?? null,
        signUp: (await loadSettings(ctx)).signUp,
      });
      if (decision.kind === "refuse") throw new ConvexError(decision.message);
      if (decision.role !== null) await ctx.db.patch(userId, { role: decision.role });
      if (invitation !== null) {
        await ctx.db.delete(invitation._id);
        await writeAudit(ctx, { actorId: invitation.invitedBy, action: "setRole", details: `${email}: signed up by invitation as ${invitation.role}` });
      }
    },
  },
});
