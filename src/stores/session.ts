import { defineStore } from "pinia";
import { computed, onScopeDispose, ref } from "vue";
import type { FunctionReturnType } from "convex/server";
import type { api } from "../../convex/_generated/api";
import type { Role } from "../../convex/lib/shapes";

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

/**
 * The tokens as every tab of this origin shares them in localStorage: what another
 * tab stored since this one last looked (a refresh, a sign-out) counts, not this
 * tab's copy.
 */
export function readStoredTokens(): AuthTokens | null {
  const token = readStorage(tokenStorageKey);
  const refreshToken = readStorage(refreshTokenStorageKey);
  return token !== null && refreshToken !== null ? { token, refreshToken } : null;
}

export const useSessionStore = defineStore("session", () => {
  const stored = readStoredTokens();
  /** JWT sent to Convex; persisted (and shared with the other tabs) so a reload keeps the user signed in. */
  const token = ref<string | null>(stored?.token ?? null);
  /** Exchanged for a fresh token when Convex reports the current one expired. */
  const refreshToken = ref<string | null>(stored?.refreshToken ?? null);
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

  function forget(): void {
    token.value = null;
    refreshToken.value = null;
    user.value = null;
    userLoaded.value = false;
  }

  function clear(): void {
    forget();
    writeStorage(tokenStorageKey, null);
    writeStorage(refreshTokenStorageKey, null);
  }

  /** Takes the tokens another tab stored, without writing them back; null means it signed out. */
  function adopt(tokens: AuthTokens | null): void {
    if (tokens === null) {
      if (token.value !== null) forget();
      return;
    }
    token.value = tokens.token;
    refreshToken.value = tokens.refreshToken;
  }

  // The browser tells every other tab of the origin about a localStorage write; key null means it was cleared.
  const followOtherTabs = (event: StorageEvent) => {
    if (event.key === null || event.key === tokenStorageKey || event.key === refreshTokenStorageKey) adopt(readStoredTokens());
  };
  globalThis.addEventListener?.("storage", followOtherTabs);
  onScopeDispose(() => globalThis.removeEventListener?.("storage", followOtherTabs));

  return { token, refreshToken, user, userLoaded, isSignedIn, role, setTokens, setUser, clear, adopt };
});

export type SessionStore = ReturnType<typeof useSessionStore>;
