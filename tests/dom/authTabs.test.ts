import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { flushPromises } from "@vue/test-utils";
import { createPinia } from "pinia";
import { api } from "../../convex/_generated/api";
import { createAuth } from "../../src/composables/useAuth";
import { useSessionStore } from "../../src/stores/session";
import { FakeBackend } from "./fakeBackend";
import { userWithRole } from "./mountWithBackend";

/**
 * Convex Auth's refresh tokens as the server treats them: each may be used once;
 * using a spent one again ends the session, so every later refresh fails too.
 */
function authServer() {
  const unspent = new Set(["refresh-1"]);
  let issued = 1;
  let revoked = false;
  const refreshedWith: string[] = [];
  const signIn = async (args: { refreshToken?: string }) => {
    const { refreshToken } = args;
    if (refreshToken === undefined) throw new Error("this server only refreshes");
    refreshedWith.push(refreshToken);
    // A refresh takes a moment on the network: long enough for another tab to start one.
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (revoked || !unspent.delete(refreshToken)) {
      revoked = true;
      throw new Error("Uncaught Error: Invalid refresh token");
    }
    issued += 1;
    unspent.add(`refresh-${issued}`);
    return { tokens: { token: `jwt-${issued}`, refreshToken: `refresh-${issued}` } };
  };
  return { signIn, refreshedWith, isRevoked: () => revoked };
}

/** A browser tab: its own Pinia, backend client and auth, sharing the page's localStorage with the other tabs. */
function openTab(server: ReturnType<typeof authServer>) {
  const backend = new FakeBackend().on(api.auth.signIn, server.signIn).on(api.users.me, userWithRole("labeller"));
  const session = useSessionStore(createPinia());
  const auth = createAuth(backend, session);
  auth.restoreSession();
  return { backend, session, auth };
}

/** What the browser sends the other tabs after a write to localStorage (jsdom does not send it within one window). */
function announceStorageChange(key: string): void {
  window.dispatchEvent(new StorageEvent("storage", { key, newValue: localStorage.getItem(key), storageArea: localStorage }));
}

/** navigator.locks as browsers grant it: one holder per name, the others wait in order. */
function fakeLockManager() {
  const tails = new Map<string, Promise<unknown>>();
  const granted: string[] = [];
  const locks = {
    request<Result>(name: string, callback: () => Promise<Result>): Promise<Result> {
      const run = (tails.get(name) ?? Promise.resolve()).then(() => {
        granted.push(name);
        return callback();
      });
      tails.set(name, run.catch(() => undefined));
      return run;
    },
  };
  return { locks, granted };
}

beforeEach(() => {
  localStorage.clear();
  localStorage.setItem("clipDashboard.authToken", "jwt-1");
  localStorage.setItem("clipDashboard.refreshToken", "refresh-1");
});

afterEach(() => {
  vi.unstubAllGlobals();
});

describe.each([
  ["navigator.locks", true],
  ["a localStorage lease (no navigator.locks)", false],
])("two tabs of one signed-in user, coordinated by %s", (_lockKind, withWebLocks) => {
  let lockManager: ReturnType<typeof fakeLockManager>;
  beforeEach(() => {
    lockManager = fakeLockManager();
    if (withWebLocks) vi.stubGlobal("navigator", { ...navigator, locks: lockManager.locks });
  });

  it("refresh an expired token once between them: the second tab takes the first one's new tokens", async () => {
    const server = authServer();
    const [first, second] = [openTab(server), openTab(server)];
    const tokens = await Promise.all([
      first.backend.authFetcher!({ forceRefreshToken: true }),
      second.backend.authFetcher!({ forceRefreshToken: true }),
    ]);

    expect(server.refreshedWith).toEqual(["refresh-1"]);
    expect(server.isRevoked()).toBe(false);
    expect(tokens).toEqual(["jwt-2", "jwt-2"]);
    expect([first.session.isSignedIn, second.session.isSignedIn]).toEqual([true, true]);
    expect(localStorage.getItem("clipDashboard.refreshToken")).toBe("refresh-2");
    expect(lockManager.granted).toHaveLength(withWebLocks ? 2 : 0);
    expect(localStorage.getItem("clipDashboard.authRefresh")).toBeNull();
  });

  it("a tab that refreshes later re-reads the stored tokens instead of spending its stale refresh token", async () => {
    const server = authServer();
    const [first, second] = [openTab(server), openTab(server)];
    expect(await first.backend.authFetcher!({ forceRefreshToken: true })).toBe("jwt-2");

    // The second tab's copy of the tokens is still jwt-1 / refresh-1 (it heard no storage event).
    expect(await second.backend.authFetcher!({ forceRefreshToken: true })).toBe("jwt-2");
    expect(server.refreshedWith).toEqual(["refresh-1"]);
    expect(second.session.refreshToken).toBe("refresh-2");
  });

  it("follow each other through storage events: new tokens, and signing out together", async () => {
    const server = authServer();
    const [first, second] = [openTab(server), openTab(server)];
    await first.backend.authFetcher!({ forceRefreshToken: true });
    announceStorageChange("clipDashboard.authToken");
    announceStorageChange("clipDashboard.refreshToken");
    expect(second.session.token).toBe("jwt-2");
    expect(await second.backend.authFetcher!({ forceRefreshToken: false })).toBe("jwt-2");

    first.backend.on(api.auth.signOut, null);
    await first.auth.signOut();
    announceStorageChange("clipDashboard.authToken");
    await flushPromises();
    expect(second.session.isSignedIn).toBe(false);
    expect(second.backend.authFetcher).toBeNull();
  });
});
