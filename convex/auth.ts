import { convexAuth } from "@convex-dev/auth/server";
import { Password } from "@convex-dev/auth/providers/Password";
import type { MutationCtx } from "./_generated/server";

export const { auth, signIn, signOut, store, isAuthenticated } = convexAuth({
  providers: [Password],
  callbacks: {
    // Bootstrapping: the very first account becomes admin so someone can assign
    // roles. Everyone after starts without a role and can do nothing until an
    // admin grants one (safer than defaulting to labeller, which can query the MLP).
    async afterUserCreatedOrUpdated(genericCtx, { userId, existingUserId }) {
      if (existingUserId !== null) return;
      // The library types ctx over any data model; ours is the schema's.
      const ctx = genericCtx as unknown as MutationCtx;
      const anyAdmin = await ctx.db
        .query("users")
        .withIndex("by_role", (q) => q.eq("role", "admin"))
        .first();
      if (anyAdmin === null) await ctx.db.patch(userId, { role: "admin" });
    },
  },
});
