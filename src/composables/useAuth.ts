import { api } from "../../convex/_generated/api";
import { useBackend, type BackendClient } from "../backend/backendClient";
import { errorMessage } from "../backend/errorMessage";
import { useSessionStore, type AuthTokens, type SessionStore, type SessionUser } from "../stores/session";

export type PasswordFlow = "signIn" | "signUp";

export interface Auth {
  /** Password sign-in or sign-up; throws an Error with a message fit for the user. */
  signInWithPassword(email: string, password: string, flow: PasswordFlow): Promise<void>;
  signOut(): Promise<void>;
  /** Hands stored tokens (if any) to the backend client; call once at start-up. */
  restoreSession(): void;
  /** Asks the server who the current user is and caches the answer in the session store. */
  loadUser(): Promise<SessionUser | null>;
}

function readTokens(result: unknown): AuthTokens | null {
  const tokens = (result as { tokens?: { token?: unknown; refreshToken?: unknown } | null } | null)?.tokens;
  if (tokens && typeof tokens.token === "string" && typeof tokens.refreshToken === "string") {
    return { token: tokens.token, refreshToken: tokens.refreshToken };
  }
  return null;
}

function describeSignInFailure(error: unknown, flow: PasswordFlow): string {
  const message = errorMessage(error);
  if (/InvalidSecret|InvalidAccountId/.test(message)) return "Sign-in failed: the email or password is wrong.";
  if (/already exists/i.test(message)) return "An account with this email already exists: sign in instead.";
  if (/Invalid password/i.test(message)) return "Choose a password of at least 8 characters.";
  return `${flow === "signUp" ? "Sign-up" : "Sign-in"} failed: ${message}`;
}

/** Auth against @convex-dev/auth's `auth:signIn` / `auth:signOut`, outside any component. */
export function createAuth(backend: BackendClient, session: SessionStore): Auth {
  let refreshing: Promise<string | null> | null = null;

  async function refresh(): Promise<string | null> {
    const refreshToken = session.refreshToken;
    if (refreshToken === null) return null;
    try {
      const tokens = readTokens(await backend.action(api.auth.signIn, { refreshToken }));
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
  }

  function connect(): void {
    backend.setAuth(
      async ({ forceRefreshToken }) => {
        if (!forceRefreshToken) return session.token;
        refreshing ??= refresh().finally(() => {
          refreshing = null;
        });
        return refreshing;
      },
      (isAuthenticated) => {
        if (!isAuthenticated && session.token !== null) {
          session.clear();
          backend.clearAuth();
        }
      },
    );
  }

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
        backend.clearAuth();
        session.clear();
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

export function useAuth(): Auth {
  return createAuth(useBackend(), useSessionStore());
}
