/**
 * BackendClient for the offline demo: function calls go over fetch to the
 * harness (tools/demo/server.ts, proxied by Vite under /api), and every live
 * query re-runs when the harness announces a new data version over
 * server-sent events. Loaded only when VITE_DEMO is "true".
 */
import { getFunctionName } from "convex/server";
import { ConvexError, convexToJson, jsonToConvex, type Value } from "convex/values";
import { postToUploadUrl, type AuthTokenFetcher, type BackendClient, type Unsubscribe } from "../backend/backendClient";

export type DemoFunctionKind = "query" | "mutation" | "action";

/** Role names the harness accepts at `POST /api/demo/signIn`. */
export type DemoRole = "admin" | "labeller" | "analyst";

export interface DemoSignInResult {
  token: string;
  refreshToken: string;
}

export interface DemoBackendClientOptions {
  /** Origin of the harness; empty (default) means the page's own origin, proxied by Vite. */
  baseUrl?: string;
  fetch?: typeof fetch;
  createEventSource?: (url: string) => EventSource;
}

interface FunctionResponse {
  status: "success" | "error";
  value?: unknown;
  errorMessage?: string;
  errorData?: unknown;
}

class UnknownSession extends Error {}

interface Subscription {
  path: string;
  args: Record<string, Value>;
  callback: (result: never) => unknown;
  onError?: (error: Error) => unknown;
  /** Last result delivered, serialised: callbacks run only when the result changed, as with Convex. */
  lastDelivered: string | undefined;
  running: boolean;
  rerunRequested: boolean;
  active: boolean;
}

function toError(body: FunctionResponse, status: number): Error {
  if (body.errorData !== undefined) return new ConvexError(jsonToConvex(body.errorData as never));
  return new Error(body.errorMessage ?? `The demo backend answered ${status} without a message.`);
}

export function demoSignInUrl(baseUrl = ""): string {
  return `${baseUrl}/api/demo/signIn`;
}

/** Creates (or reuses) the demo user with `role` and returns a session token for it. */
export async function signInDemoRole(role: DemoRole, options: Pick<DemoBackendClientOptions, "baseUrl" | "fetch"> = {}): Promise<DemoSignInResult> {
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const response = await fetchImpl(demoSignInUrl(options.baseUrl), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ role }),
  });
  const body = (await response.json()) as Partial<DemoSignInResult> & FunctionResponse;
  if (!response.ok || typeof body.token !== "string" || typeof body.refreshToken !== "string") {
    throw new Error(body.errorMessage ?? `Demo sign-in failed: the demo backend answered ${response.status}. Is \`npm run demo\` running?`);
  }
  return { token: body.token, refreshToken: body.refreshToken };
}

export function createDemoBackendClient(options: DemoBackendClientOptions = {}): BackendClient {
  const baseUrl = options.baseUrl ?? "";
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const createEventSource = options.createEventSource ?? ((url: string) => new EventSource(url));
  const subscriptions = new Set<Subscription>();
  let fetchToken: AuthTokenFetcher | null = null;
  let onAuthChange: ((isAuthenticated: boolean) => void) | undefined;
  let confirmedToken: string | null = null;
  let events: EventSource | null = null;
  let closed = false;

  async function post(kind: DemoFunctionKind, path: string, args: Record<string, Value>, token: string | null | undefined) {
    const headers: Record<string, string> = { "Content-Type": "application/json" };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetchImpl(`${baseUrl}/api/${kind}`, {
      method: "POST",
      headers,
      body: JSON.stringify({ path, args: convexToJson(args) }),
    });
    const body = (await response.json()) as FunctionResponse;
    if (response.status === 401) throw new UnknownSession(body.errorMessage);
    if (!response.ok || body.status !== "success") throw toError(body, response.status);
    return jsonToConvex(body.value as never);
  }

  /**
   * Like ConvexClient: a rejected token is refreshed once through the app's
   * fetcher; if that gives nothing the app hears `onChange(false)` and the
   * call continues signed out.
   */
  async function call(kind: DemoFunctionKind, path: string, args: unknown): Promise<never> {
    const plainArgs = (args ?? {}) as Record<string, Value>;
    // Sign-in needs no identity, and the app's token refresh goes through it: sending
    // the rejected token would make the refresh wait for itself (convexBackend.ts does the same).
    if (path === "auth:signIn") return (await post(kind, path, plainArgs, null)) as never;
    const token = fetchToken ? await fetchToken({ forceRefreshToken: false }) : null;
    try {
      const result = await post(kind, path, plainArgs, token);
      if (token && confirmedToken !== token) {
        confirmedToken = token;
        onAuthChange?.(true);
      }
      return result as never;
    } catch (error) {
      if (!(error instanceof UnknownSession) || !fetchToken) throw error;
      const refreshed = await fetchToken({ forceRefreshToken: true });
      if (refreshed) {
        try {
          return (await post(kind, path, plainArgs, refreshed)) as never;
        } catch (retryError) {
          if (!(retryError instanceof UnknownSession)) throw retryError;
        }
      }
      confirmedToken = null;
      onAuthChange?.(false);
      return (await post(kind, path, plainArgs, null)) as never;
    }
  }

  async function refresh(subscription: Subscription): Promise<void> {
    if (subscription.running) {
      subscription.rerunRequested = true;
      return;
    }
    subscription.running = true;
    try {
      do {
        subscription.rerunRequested = false;
        try {
          const result = await call("query", subscription.path, subscription.args);
          const serialised = JSON.stringify(convexToJson(result as Value));
          if (subscription.active && serialised !== subscription.lastDelivered) {
            subscription.lastDelivered = serialised;
            subscription.callback(result as never);
          }
        } catch (error) {
          subscription.lastDelivered = undefined;
          if (subscription.active) subscription.onError?.(error instanceof Error ? error : new Error(String(error)));
        }
      } while (subscription.rerunRequested && subscription.active);
    } finally {
      subscription.running = false;
    }
  }

  function refreshAll(): void {
    for (const subscription of subscriptions) void refresh(subscription);
  }

  function ensureEvents(): void {
    if (events || closed) return;
    events = createEventSource(`${baseUrl}/api/events`);
    // The first message and every reconnect re-run everything, so a missed event cannot leave stale data.
    events.addEventListener("version", () => refreshAll());
  }

  return {
    onUpdate(query, args, callback, onError): Unsubscribe {
      const subscription: Subscription = {
        path: getFunctionName(query),
        args: (args ?? {}) as Record<string, Value>,
        callback: callback as (result: never) => unknown,
        onError,
        lastDelivered: undefined,
        running: false,
        rerunRequested: false,
        active: true,
      };
      subscriptions.add(subscription);
      ensureEvents();
      void refresh(subscription);
      return () => {
        subscription.active = false;
        subscriptions.delete(subscription);
      };
    },
    query: (query, args) => call("query", getFunctionName(query), args),
    mutation: (mutation, args) => call("mutation", getFunctionName(mutation), args),
    action: (action, args) => call("action", getFunctionName(action), args),
    setAuth(fetcher, onChange) {
      fetchToken = fetcher;
      onAuthChange = onChange;
      confirmedToken = null;
      refreshAll();
    },
    clearAuth() {
      fetchToken = null;
      onAuthChange = undefined;
      confirmedToken = null;
      refreshAll();
    },
    async close() {
      closed = true;
      events?.close();
      events = null;
      for (const subscription of subscriptions) subscription.active = false;
      subscriptions.clear();
    },
    uploadFile: (uploadUrl, blob) =>
      postToUploadUrl(uploadUrl.startsWith("/") ? `${baseUrl}${uploadUrl}` : uploadUrl, blob, fetchImpl),
  };
}
