import { beforeAll, describe, expect, test } from "vitest";
import { api } from "../../convex/_generated/api";
import { asUser, ensureAuthEnv, makeBackend } from "./harness";

beforeAll(ensureAuthEnv);

async function signUp(t: ReturnType<typeof makeBackend>, email: string, password = "correct-horse-9") {
  return t.action(api.auth.signIn, { provider: "password", params: { email, password, flow: "signUp" } });
}

describe("users and roles", () => {
  test("the first user to sign up becomes admin; later users have no role until assigned", async () => {
    const t = makeBackend();
    const first = await signUp(t, "first@example.com");
    const second = await signUp(t, "second@example.com");
    const [a, b] = await t.run(async (ctx) => {
      const users = await ctx.db.query("users").collect();
      return [users.find((u) => u.email === "first@example.com"), users.find((u) => u.email === "second@example.com")];
    });
    expect(a?.role).toBe("admin");
    expect(b?.role).toBeUndefined();
    expect(first.tokens?.token).toBeTruthy();
    expect(second.tokens?.token).toBeTruthy();
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
