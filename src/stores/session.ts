import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { FunctionReturnType } from "convex/server";
import type { api } from "../../convex/_generated/api";
import type { Role } from "../../convex/schema";

export type { Role };

/** What the UI knows about the signed-in user: the answer of `users.me`. */
export type SessionUser = NonNullable<FunctionReturnType<typeof api.users.me>>;

export interface AuthTokens {
  token: string;
  refreshToken: string;
}

const tokenStorageKey = "clipDashboard.authToken";
const refreshTokenStorageKey = "clipDashboard.refreshToken";

function readStorage(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    // Storage can be unavailable (privacy mode, sandboxed iframes): stay signed out.
    return null;
  }
}

function writeStorage(key: string, value: string | null): void {
  try {
    if (value === null) globalThis.localStorage?.removeItem(key);
    else globalThis.localStorage?.setItem(key, value);
  } catch {
    // Without storage the session simply does not survive a reload.
  }
}

export const useSessionStore = defineStore("session", () => {
  /** JWT sent to Convex; persisted so a reload keeps the user signed in. */
  const token = ref<string | null>(readStorage(tokenStorageKey));
  /** Exchanged for a fresh token when Convex reports the current one expired. */
  const refreshToken = ref<string | null>(readStorage(refreshTokenStorageKey));
  /** Cached `users.me`; null while unknown or signed out. */
  const user = ref<SessionUser | null>(null);
  /** True once `users.me` answered for the current token (user may still be null). */
  const userLoaded = ref(false);

  const isSignedIn = computed(() => token.value !== null);
  const role = computed<Role | null>(() => user.value?.role ?? null);

  function setTokens(tokens: AuthTokens): void {
    token.value = tokens.token;
    refreshToken.value = tokens.refreshToken;
    writeStorage(tokenStorageKey, tokens.token);
    writeStorage(refreshTokenStorageKey, tokens.refreshToken);
  }

  function setUser(next: SessionUser | null): void {
    user.value = next;
    userLoaded.value = true;
  }

  function clear(): void {
    token.value = null;
    refreshToken.value = null;
    user.value = null;
    userLoaded.value = false;
    writeStorage(tokenStorageKey, null);
    writeStorage(refreshTokenStorageKey, null);
  }

  return { token, refreshToken, user, userLoaded, isSignedIn, role, setTokens, setUser, clear };
});

export type SessionStore = ReturnType<typeof useSessionStore>;
