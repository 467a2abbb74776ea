import { beforeAll, describe, expect, test } from "vitest";
import { api, internal } from "../../convex/_generated/api";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";

beforeAll(ensureAuthEnv);

async function signUp(t: ReturnType<typeof makeBackend>, email: string, password = "correct-horse-9") {
  return t.action(api.auth.signIn, { provider: "password", params: { email, password, flow: "signUp" } });
}

describe("users and roles", () => {
  test("signing up first gives no role: only ADMIN_EMAILS become admin, case-insensitively, and the others wait for a role", async () => {
    const t = makeBackend();
    process.env.ADMIN_EMAILS = "Boss@Example.com, second-boss@example.com";
    try {
      const first = await signUp(t, "first@example.com");
      const boss = await signUp(t, "BOSS@example.com");
      const roles = await t.run(async (ctx) => Object.fromEntries((await ctx.db.query("users").collect()).map((u) => [u.email, u.role ?? null])));
      expect(roles).toEqual({ "first@example.com": null, "boss@example.com": "admin" });
      expect(first.tokens?.token).toBeTruthy();
      expect(boss.tokens?.token).toBeTruthy();
      // One account per address, whatever the spelling.
      const signedIn = await t.action(api.auth.signIn, { provider: "password", params: { email: "boss@EXAMPLE.com", password: "correct-horse-9", flow: "signIn" } });
      expect(signedIn.tokens?.token).toBeTruthy();
    } finally {
      delete process.env.ADMIN_EMAILS;
    }
  });

  test("an invited email signs up with the invitation's role; invite-only sign-up refuses everyone else, with a sentence", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin", "admin@example.com");
    expect(await admin.client.mutation(api.users.invite, { email: " Ana@Example.com ", role: "analyst" })).toBe("invited");
    await admin.client.mutation(api.settings.update, { signUp: "invite" });
    await expect(signUp(t, "stranger@example.com")).rejects.toThrow(
      "Sign-up on this deployment is by invitation only: ask an admin to invite stranger@example.com.",
    );
    await signUp(t, "ana@example.com");
    const users = await t.run((ctx) => ctx.db.query("users").collect());
    expect(users.find((u) => u.email === "ana@example.com")?.role).toBe("analyst");
    expect(users.some((u) => u.email === "stranger@example.com")).toBe(false);
    expect(await t.run((ctx) => ctx.db.query("invitations").collect())).toEqual([]);
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit.map((entry) => entry.action)).toEqual(["invite", "updateSettings", "setRole"]);
    // Inviting an existing account sets its role at once.
    expect(await admin.client.mutation(api.users.invite, { email: "ana@example.com", role: "labeller" })).toBe("roleSet");
    expect((await admin.client.query(api.users.list, {})).users.find((u) => u.email === "ana@example.com")?.role).toBe("labeller");
    await expect(admin.client.mutation(api.users.invite, { email: "not an email", role: "labeller" })).rejects.toThrow('"not an email" is not an email address.');
  });

  test("a short password and a malformed email are refused with sentences a user can act on", async () => {
    const t = makeBackend();
    await expect(signUp(t, "ada@example.com", "short")).rejects.toThrow("Choose a password of at least 8 characters.");
    await expect(signUp(t, "ada")).rejects.toThrow("Enter your email address, e.g. ada@example.com.");
    expect(await t.run((ctx) => ctx.db.query("users").collect())).toEqual([]);
  });

  test("users:makeAdmin (npx convex run) promotes an existing account and names a missing one", async () => {
    const t = makeBackend();
    await signUp(t, "owner@example.com");
    expect(await t.mutation(internal.users.makeAdmin, { email: "Owner@example.com" })).toBe("owner@example.com is now an admin.");
    expect((await t.run((ctx) => ctx.db.query("users").collect()))[0].role).toBe("admin");
    await expect(t.mutation(internal.users.makeAdmin, { email: "ghost@example.com" })).rejects.toThrow("No account with the email ghost@example.com");
  });

  test("a wrong password is rejected", async () => {
    const t = makeBackend();
    await signUp(t, "someone@example.com");
    await expect(
      t.action(api.auth.signIn, { provider: "password", params: { email: "someone@example.com", password: "wrong-password-1", flow: "signIn" } }),
    ).rejects.toThrow();
  });

  test("me reports the caller's role, and null when signed out", async () => {
    const t = makeBackend();
    const { client } = await asUser(t, "analyst", "ana@example.com");
    expect(await client.query(api.users.me, {})).toMatchObject({ email: "ana@example.com", role: "analyst" });
    expect(await t.query(api.users.me, {})).toBeNull();
  });

  test("an admin assigns roles and it is audited; a non-admin cannot", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    const pending = await asUser(t, null, "new@example.com");
    await expect(pending.client.query(api.users.list, {})).rejects.toThrow(/no role yet/);
    await admin.client.mutation(api.users.setRole, { userId: pending.userId, role: "labeller" });
    expect(await pending.client.query(api.users.me, {})).toMatchObject({ role: "labeller" });
    await expect(pending.client.mutation(api.users.setRole, { userId: pending.userId, role: "admin" })).rejects.toThrow(
      /needs the admin role; you are labeller/,
    );
    const audit = await t.run((ctx) => ctx.db.query("auditLog").collect());
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({ action: "setRole", actorId: admin.userId });
    expect(audit[0].details).toContain("no role → labeller");
  });

  test("the last admin cannot demote themselves", async () => {
    const t = makeBackend();
    const admin = await asUser(t, "admin");
    await expect(admin.client.mutation(api.users.setRole, { userId: admin.userId, role: "analyst" })).rejects.toThrow(
      /last admin/,
    );
  });
});
