import { beforeEach, describe, expect, it, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import { createPinia } from "pinia";
import SignInPage from "../../src/pages/SignInPage.vue";
import { createAuth } from "../../src/composables/useAuth";
import { useSessionStore } from "../../src/stores/session";
import { FakeBackend } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

function authBackend() {
  let issued = 0;
  return new FakeBackend()
    .on(api.auth.signIn, (args: { refreshToken?: string; params?: { password: string } }) => {
      if (args.refreshToken !== undefined) {
        if (args.refreshToken !== "refresh-1") throw new Error("Uncaught Error: Invalid refresh token");
        return { tokens: { token: "jwt-refreshed", refreshToken: "refresh-2" } };
      }
      if (args.params?.password !== "correct horse") throw new Error("[CONVEX A(auth:signIn)] Server Error\nUncaught Error: InvalidSecret\n  at x");
      issued += 1;
      return { tokens: { token: `jwt-${issued}`, refreshToken: `refresh-${issued}` } };
    })
    .on(api.users.me, userWithRole("labeller"));
}

beforeEach(() => localStorage.clear());

describe("password auth", () => {
  it("signs in, keeps the tokens across reloads and hands them to the backend client", async () => {
    const backend = authBackend();
    const session = useSessionStore(createPinia());
    await createAuth(backend, session).signInWithPassword("ana@example.com", "correct horse", "signIn");

    expect(backend.callsTo(api.auth.signIn)[0].args).toEqual({
      provider: "password",
      params: { email: "ana@example.com", password: "correct horse", flow: "signIn" },
    });
    expect(localStorage.getItem("clipDashboard.authToken")).toBe("jwt-1");
    expect(session.role).toBe("labeller");
    expect(await backend.authFetcher!({ forceRefreshToken: false })).toBe("jwt-1");

    const reloaded = useSessionStore(createPinia());
    expect(reloaded.token).toBe("jwt-1");
    expect(reloaded.refreshToken).toBe("refresh-1");
  });

  it("refreshes an expired token with the refresh token, once for concurrent requests", async () => {
    const backend = authBackend();
    const session = useSessionStore(createPinia());
    await createAuth(backend, session).signInWithPassword("ana@example.com", "correct horse", "signIn");

    const [first, second] = await Promise.all([
      backend.authFetcher!({ forceRefreshToken: true }),
      backend.authFetcher!({ forceRefreshToken: true }),
    ]);
    expect([first, second]).toEqual(["jwt-refreshed", "jwt-refreshed"]);
    expect(backend.callsTo(api.auth.signIn).filter((call) => "refreshToken" in call.args)).toHaveLength(1);
    expect(localStorage.getItem("clipDashboard.refreshToken")).toBe("refresh-2");
  });

  it("ends the session when the refresh token is refused", async () => {
    const backend = authBackend();
    const session = useSessionStore(createPinia());
    session.setTokens({ token: "old", refreshToken: "revoked" });
    createAuth(backend, session).restoreSession();
    expect(await backend.authFetcher!({ forceRefreshToken: true })).toBeNull();
    expect(session.isSignedIn).toBe(false);
    expect(localStorage.getItem("clipDashboard.authToken")).toBeNull();
  });

  it("starts a session from tokens obtained elsewhere (the demo's role picker), replacing the previous one", async () => {
    const backend = authBackend();
    const session = useSessionStore(createPinia());
    session.setTokens({ token: "jwt-old", refreshToken: "refresh-old" });
    session.setUser({ ...userWithRole("admin") });
    await createAuth(backend, session).signInWithTokens({ token: "jwt-demo", refreshToken: "refresh-demo" });
    expect(localStorage.getItem("clipDashboard.authToken")).toBe("jwt-demo");
    expect(session.role).toBe("labeller");
    expect(await backend.authFetcher!({ forceRefreshToken: false })).toBe("jwt-demo");
    expect(backend.callsTo(api.auth.signIn)).toEqual([]);
  });

  it("says plainly when the password is wrong", async () => {
    const session = useSessionStore(createPinia());
    await expect(createAuth(authBackend(), session).signInWithPassword("ana@example.com", "nope", "signIn")).rejects.toThrow(
      "Sign-in failed: the email or password is wrong.",
    );
    expect(session.isSignedIn).toBe(false);
  });
});

describe("SignInPage", () => {
  it("signs up and continues to the page the visitor asked for", async () => {
    const backend = authBackend();
    const { wrapper, router } = await mountWithBackend(SignInPage, backend, { path: "/sign-in?redirect=/review" });
    // Spying keeps the test from loading the (lazy) review page itself.
    const replace = vi.spyOn(router, "replace").mockResolvedValue(undefined);
    await wrapper.findAll("button").find((button) => button.text() === "Create one")!.trigger("click");
    await wrapper.find('input[type="email"]').setValue("new@example.com");
    await wrapper.find('input[type="password"]').setValue("correct horse");
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(backend.callsTo(api.auth.signIn)[0].args.params.flow).toBe("signUp");
    expect(replace).toHaveBeenCalledWith("/review");
  });

  it("shows the failure next to the form", async () => {
    const { wrapper } = await mountWithBackend(SignInPage, authBackend(), { path: "/sign-in" });
    await wrapper.find('input[type="email"]').setValue("ana@example.com");
    await wrapper.find('input[type="password"]').setValue("wrong password");
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe("Sign-in failed: the email or password is wrong.");
  });

  it("says a sentence, not \"Server Error\", when a production deployment hides why sign-in failed", async () => {
    const backend = authBackend().on(api.auth.signIn, () => {
      throw new Error("[CONVEX A(auth:signIn)] [Request ID: 8c1f2e] Server Error");
    });
    const { wrapper } = await mountWithBackend(SignInPage, backend, { path: "/sign-in" });
    await wrapper.find('input[type="email"]').setValue("ana@example.com");
    await wrapper.find('input[type="password"]').setValue("wrong password");
    await wrapper.find("form").trigger("submit");
    await flushPromises();
    expect(wrapper.find('[role="alert"]').text()).toBe(
      "Sign-in failed: the email or password is wrong, or the server could not check them. Check both and try again.",
    );
  });
});
