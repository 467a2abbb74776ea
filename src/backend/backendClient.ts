import { inject, provide, type App, type InjectionKey } from "vue";
import type { FunctionArgs, FunctionReference, FunctionReturnType } from "convex/server";

/** Stops a subscription. Calling it twice is harmless. */
export type Unsubscribe = () => void;

/** Same contract as `ConvexClient.setAuth`: called again with `forceRefreshToken: true` when the token expires. */
export type AuthTokenFetcher = (args: { forceRefreshToken: boolean }) => Promise<string | null | undefined>;

/**
 * The part of Convex's `ConvexClient` the app uses, plus file upload.
 * The production build wraps a real `ConvexClient` (convexBackend.ts); component
 * tests and the offline demo provide their own implementation, so nothing in the
 * app may reach for `ConvexClient` directly.
 */
export interface BackendClient {
  /** Subscribe to a query; `callback` runs with every new result, `onError` when the query throws. */
  onUpdate<Query extends FunctionReference<"query">>(
    query: Query,
    args: FunctionArgs<Query>,
    callback: (result: FunctionReturnType<Query>) => unknown,
    onError?: (error: Error) => unknown,
  ): Unsubscribe;
  query<Query extends FunctionReference<"query">>(
    query: Query,
    args: FunctionArgs<Query>,
  ): Promise<Awaited<FunctionReturnType<Query>>>;
  mutation<Mutation extends FunctionReference<"mutation">>(
    mutation: Mutation,
    args: FunctionArgs<Mutation>,
  ): Promise<Awaited<FunctionReturnType<Mutation>>>;
  action<Action extends FunctionReference<"action">>(
    action: Action,
    args: FunctionArgs<Action>,
  ): Promise<Awaited<FunctionReturnType<Action>>>;
  setAuth(fetchToken: AuthTokenFetcher, onChange?: (isAuthenticated: boolean) => void): void;
  clearAuth(): void;
  close(): Promise<void>;
  /** POST `blob` to a URL from a `generateUploadUrl` mutation; resolves to the new storage id. */
  uploadFile(uploadUrl: string, blob: Blob): Promise<string>;
}

export const backendKey: InjectionKey<BackendClient> = Symbol("BackendClient");

/**
 * Makes `client` available to `useBackend()` below: pass `app` at start-up, or call it
 * inside a component's setup (tests can also use `global.provide` with `backendKey`).
 */
export function provideBackend(client: BackendClient, app?: App): void {
  if (app) app.provide(backendKey, client);
  else provide(backendKey, client);
}

export function useBackend(): BackendClient {
  const client = inject(backendKey, null);
  if (!client) {
    throw new Error("No BackendClient provided: call app.provide(backendKey, client) (or pass it in global.provide when mounting in a test).");
  }
  return client;
}

/** Shared by every implementation: Convex upload URLs answer `{ storageId }` to a raw-body POST. */
export async function postToUploadUrl(uploadUrl: string, blob: Blob, fetchImpl: typeof fetch = fetch): Promise<string> {
  const response = await fetchImpl(uploadUrl, {
    method: "POST",
    headers: { "Content-Type": blob.type || "application/octet-stream" },
    body: blob,
  });
  if (!response.ok) {
    throw new Error(`Upload failed: the server answered ${response.status} ${response.statusText}`.trim());
  }
  const body: unknown = await response.json();
  if (typeof body !== "object" || body === null || typeof (body as { storageId?: unknown }).storageId !== "string") {
    throw new Error(`Upload failed: expected a JSON body with a string storageId, got ${JSON.stringify(body)}`);
  }
  return (body as { storageId: string }).storageId;
}
