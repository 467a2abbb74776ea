import { inject, watch, type InjectionKey } from "vue";
import { api } from "../../convex/_generated/api";
import { useBackend, type BackendClient } from "../backend/backendClient";
import { errorMessage, isRedactedServerError } from "../backend/errorMessage";
import { browserRefreshLock, type RefreshLock } from "../backend/refreshLock";
import { readStoredTokens, useSessionStore, type AuthTokens, type SessionStore, type SessionUser } from "../stores/session";

export type PasswordFlow = "signIn" | "signUp";

export interface Auth {
  /** Password sign-in or sign-up; throws an Error with a message fit for the user. */
  signInWithPassword(email: string, password: string, flow: PasswordFlow): Promise<void>;
  /** Starts a session from tokens obtained elsewhere (the password flow, the demo's role picker). */
  signInWithTokens(tokens: AuthTokens): Promise<void>;
  signOut(): Promise<void>;
  /** Hands stored tokens (if any) to the backend client; call once at start-up. */
  restoreSession(): void;
  /** Asks the server who the current user is and caches the answer in the session store. */
  loadUser(): Promise<SessionUser | null>;
}

export const authKey: InjectionKey<Auth> = Symbol("Auth");

function readTokens(result: unknown): AuthTokens | null {
  const tokens = (result as { tokens?: { token?: unknown; refreshToken?: unknown } | null } | null)?.tokens;
  if (tokens && typeof tokens.token === "string" && typeof tokens.refreshToken === "string") {
    return { token: tokens.token, refreshToken: tokens.refreshToken };
  }
  return null;
}

function describeSignInFailure(error: unknown, flow: PasswordFlow): string {
  // In production a wrong password reaches the client only as "Server Error" (the auth library throws plain errors).
  if (isRedactedServerError(error)) {
    return flow === "signIn"
      ? "Sign-in failed: the email or password is wrong, or the server could not check them. Check both and try again."
      : "Sign-up failed: the server refused without giving a reason. Try again; if it keeps failing, ask an admin to check the deployment's logs.";
  }
  const message = errorMessage(error);
  if (/InvalidSecret|InvalidAccountId/.test(message)) return "Sign-in failed: the email or password is wrong.";
  if (/already exists/i.test(message)) return "An account with this email already exists: sign in instead.";
  if (/Invalid password/i.test(message)) return "Choose a password of at least 8 characters.";
  return `${flow === "signUp" ? "Sign-up" : "Sign-in"} failed: ${message}`;
}

/**
 * Auth against @convex-dev/auth's `auth:signIn` / `auth:signOut`, outside any component.
 *
 * Every tab of the app shares one pair of tokens in localStorage, and a refresh
 * token may be spent once. So a refresh runs under `lock` (one tab at a time),
 * first re-reads the stored tokens (another tab may have refreshed while this one
 * waited, or signed out), and the session store follows the other tabs' writes:
 * a tab adopts their new tokens and signs out (or in) when they do.
 */
export function createAuth(backend: BackendClient, session: SessionStore, lock: RefreshLock = browserRefreshLock()): Auth {
  let refreshing: Promise<string | null> | null = null;
  let connected = false;
  /** The token the backend client was last given: when Convex rejects a token, it is this one. */
  let handedOut: string | null = null;

  function endSession(): void {
    session.clear();
    backend.clearAuth();
    connected = false;
  }

  async function refresh(rejected: string | null): Promise<string | null> {
    return lock(async () => {
      const stored = readStoredTokens();
      // Ending the session here clears only the store: the client learns it from the null this returns.
      if (stored === null) {
        session.clear();
        return null;
      }
      if (stored.token !== rejected) {
        session.adopt(stored);
        return stored.token;
      }
      try {
        const tokens = readTokens(await backend.action(api.auth.signIn, { refreshToken: stored.refreshToken }));
        if (tokens === null) {
          session.clear();
          return null;
        }
        session.setTokens(tokens);
        return tokens.token;
      } catch {
        // A rejected refresh token means the session ended (signed out elsewhere, expired).
        session.clear();
        return null;
      }
    });
  }

  function connect(): void {
    connected = true;
    handedOut = session.token;
    backend.setAuth(
      async ({ forceRefreshToken }) => {
        if (forceRefreshToken) {
          refreshing ??= refresh(handedOut).finally(() => {
            refreshing = null;
          });
          handedOut = await refreshing;
        } else {
          handedOut = session.token;
        }
        return handedOut;
      },
      (isAuthenticated) => {
        if (!isAuthenticated && session.token !== null) endSession();
      },
    );
  }

  // Another tab signed out (its tokens left storage) or in: follow it.
  watch(
    () => session.token,
    (token) => {
      if (token === null && connected) {
        backend.clearAuth();
        connected = false;
      } else if (token !== null && !connected) {
        connect();
      }
    },
  );

  return {
    async signInWithPassword(email, password, flow) {
      let result: unknown;
      try {
        result = await backend.action(api.auth.signIn, {
          provider: "password",
          params: { email, password, flow },
        });
      } catch (error) {
        throw new Error(describeSignInFailure(error, flow));
      }
      const tokens = readTokens(result);
      if (tokens === null) throw new Error("Sign-in failed: the server returned no session tokens.");
      await this.signInWithTokens(tokens);
    },

    async signInWithTokens(tokens) {
      session.clear();
      session.setTokens(tokens);
      connect();
      await this.loadUser();
    },

    async signOut() {
      try {
        await backend.action(api.auth.signOut, {});
      } finally {
        // Sign out locally even if the server call fails: the user asked to leave.
        endSession();
      }
    },

    restoreSession() {
      if (session.token !== null) connect();
    },

    async loadUser() {
      if (session.token === null) {
        session.setUser(null);
        return null;
      }
      const user = await backend.query(api.users.me, {});
      session.setUser(user);
      return user;
    },
  };
}

/** The app's one Auth (main.ts provides it); a component mounted alone gets its own. */
export function useAuth(): Auth {
  return inject(authKey, null) ?? createAuth(useBackend(), useSessionStore());
}
