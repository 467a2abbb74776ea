/**
 * The demo harness and its browser adapter, over real HTTP: the project's own
 * Convex functions (users, imageClassification) answer, unseeded.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConvexError } from "convex/values";
import { api } from "../../convex/_generated/api";
import { createDemoBackend, rewriteStorageUrls, type DemoBackend } from "../../tools/demo/demoBackend";
import { startDemoServer, type DemoServer } from "../../tools/demo/server";
import { createDemoBackendClient, signInDemoRole, type DemoRole } from "../../src/demo/demoBackendClient";
import type { BackendClient } from "../../src/backend/backendClient";

let backend: DemoBackend;
let server: DemoServer;

beforeAll(async () => {
  backend = await createDemoBackend();
  server = await startDemoServer(backend, { port: 0 });
});

afterAll(async () => {
  await server.close();
});

async function postFunction(kind: string, path: string, args: unknown, token?: string) {
  const response = await fetch(`${server.url}/api/${kind}`, {
    method: "POST",
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    body: JSON.stringify({ path, args }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** Node 20 has no EventSource; this reads the same text/event-stream over fetch. */
class FetchEventSource {
  private readonly controller = new AbortController();
  private readonly listeners = new Map<string, Array<(event: MessageEvent) => void>>();

  constructor(url: string) {
    void this.read(url);
  }

  private async read(url: string): Promise<void> {
    try {
      const response = await fetch(url, { signal: this.controller.signal });
      const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let end: number;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1] ?? "message";
          const data = /^data: (.*)$/m.exec(block)?.[1] ?? "";
          for (const listener of this.listeners.get(type) ?? []) listener(new MessageEvent(type, { data }));
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  addEventListener(type: string, listener: (event: MessageEvent) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close(): void {
    this.controller.abort();
  }
}

function demoClient(): BackendClient {
  return createDemoBackendClient({
    baseUrl: server.url,
    createEventSource: (url) => new FetchEventSource(url) as unknown as EventSource,
  });
}

async function signedInClient(role: DemoRole): Promise<BackendClient> {
  const { token } = await signInDemoRole(role, { baseUrl: server.url });
  const client = demoClient();
  client.setAuth(async () => token);
  return client;
}

function nextValue<T>(values: T[], count: number): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (values.length >= count) resolve(values);
      else if (Date.now() - started > 10_000) reject(new Error(`expected ${count} values, got ${JSON.stringify(values)}`));
      else setTimeout(check, 20);
    };
    check();
  });
}

describe("demo backend over HTTP", () => {
  it("signs in a role and answers as that user, reusing the demo user on a second sign-in", async () => {
    const first = await signInDemoRole("analyst", { baseUrl: server.url });
    const second = await signInDemoRole("analyst", { baseUrl: server.url });
    expect(second.token).not.toBe(first.token);
    const me = await postFunction("query", "users:me", {}, first.token);
    const meAgain = await postFunction("query", "users:me", {}, second.token);
    expect(me.body).toMatchObject({ status: "success", value: { email: "analyst@demo.local", role: "analyst" } });
    expect((meAgain.body.value as { _id: string })._id).toBe((me.body.value as { _id: string })._id);
  });

  it("refuses internal functions, unknown functions and wrong kinds as if they did not exist", async () => {
    const { token } = await signInDemoRole("admin", { baseUrl: server.url });
    const internal = await postFunction("query", "users:getById", { userId: "x" }, token);
    expect(internal.status).toBe(404);
    expect(internal.body.errorMessage).toContain("Could not find public query 'users:getById'");
    const wrongKind = await postFunction("mutation", "users:me", {}, token);
    expect(wrongKind.status).toBe(404);
    const malformed = await postFunction("query", "../users:me", {}, token);
    expect(malformed.status).toBe(400);
  });

  it("rejects an unknown token with 401 and runs signed-out calls as nobody", async () => {
    const unknown = await postFunction("query", "users:me", {}, "demo_not-a-session");
    expect(unknown.status).toBe(401);
    const signedOut = await postFunction("query", "users:me", {});
    expect(signedOut.body).toEqual({ status: "success", value: null });
  });

  it("passes a role check's ConvexError through with its data", async () => {
    const { token } = await signInDemoRole("labeller", { baseUrl: server.url });
    const denied = await postFunction("query", "users:list", {}, token);
    expect(denied.body.status).toBe("error");
    expect(denied.body.errorData).toEqual({ code: "access_denied", message: "This needs the admin role; you are labeller." });
  });

  it("stores an upload once per generateUploadUrl URL and serves it back by its getUrl URL", async () => {
    const { token } = await signInDemoRole("labeller", { baseUrl: server.url });
    const { body } = await postFunction("mutation", "pictures:generateUploadUrl", {}, token);
    const uploadUrl = body.value as string;
    expect(uploadUrl).toMatch(/^\/api\/storage\/upload\?token=/);
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const stored = await fetch(`${server.url}${uploadUrl}`, { method: "POST", headers: { "Content-Type": "image/png" }, body: bytes });
    const { storageId } = (await stored.json()) as { storageId: string };
    expect(storageId).toMatch(/_storage$/);
    const reused = await fetch(`${server.url}${uploadUrl}`, { method: "POST", body: bytes });
    expect(reused.status).toBe(400);

    const sha256 = Buffer.from(await crypto.subtle.digest("SHA-256", bytes)).toString("base64");
    const fileUrl = rewriteStorageUrls(`https://some-deployment.convex.cloud/api/storage/${sha256}`, () => undefined) as string;
    const served = await fetch(`${server.url}${fileUrl}`);
    expect(served.headers.get("content-type")).toBe("image/png");
    // What an <img crossorigin="anonymous"> on a COEP require-corp page needs from another origin.
    expect(served.headers.get("access-control-allow-origin")).toBe("*");
    expect(served.headers.get("cross-origin-resource-policy")).toBe("cross-origin");
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(bytes);
  });

  it("announces a new version on /api/events after every mutation", async () => {
    const { token } = await signInDemoRole("labeller", { baseUrl: server.url });
    const versions: number[] = [];
    const events = new FetchEventSource(`${server.url}/api/events`);
    events.addEventListener("version", (event) => versions.push(Number(event.data)));
    await nextValue(versions, 1);
    await postFunction("mutation", "pictures:generateUploadUrl", {}, token);
    await nextValue(versions, 2);
    events.close();
    expect(versions[1]).toBeGreaterThan(versions[0]);
  });
});

describe("demo BackendClient", () => {
  it("calls functions with the app's token and turns ConvexError data back into a ConvexError", async () => {
    const client = await signedInClient("labeller");
    expect(await client.query(api.users.me, {})).toMatchObject({ role: "labeller" });
    const failure = await client.query(api.users.list, {}).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConvexError);
    expect((failure as ConvexError<{ message: string }>).data.message).toBe("This needs the admin role; you are labeller.");
    await client.close();
  });

  it("re-runs a live query after a write and delivers only changed results", async () => {
    const admin = await signedInClient("admin");
    const labeller = await signedInClient("labeller");
    const me = await labeller.query(api.users.me, {});
    const results: string[] = [];
    const unsubscribe = labeller.onUpdate(api.users.me, {}, (user) => results.push(user?.role ?? "none"));
    await nextValue(results, 1);
    // An unrelated write re-runs the query but its result is unchanged, so no second callback.
    await labeller.mutation(api.pictures.generateUploadUrl, {});
    await admin.mutation(api.users.setRole, { userId: me!._id, role: "analyst" });
    await nextValue(results, 2);
    expect(results).toEqual(["labeller", "analyst"]);
    unsubscribe();
    await admin.mutation(api.users.setRole, { userId: me!._id, role: "labeller" });
    await admin.close();
    await labeller.close();
  });

  it("reports a rejected session through onChange(false) and continues signed out", async () => {
    const client = demoClient();
    const changes: boolean[] = [];
    client.setAuth(async () => "demo_stale-token", (isAuthenticated) => changes.push(isAuthenticated));
    expect(await client.query(api.users.me, {})).toBeNull();
    expect(changes).toEqual([false]);
    await client.close();
  });

  it("uploads a blob to a relative upload URL", async () => {
    const client = await signedInClient("labeller");
    const uploadUrl = await client.mutation(api.pictures.generateUploadUrl, {});
    const storageId = await client.uploadFile(uploadUrl, new Blob([new Uint8Array([9, 9, 9])], { type: "image/png" }));
    expect(storageId).toMatch(/_storage$/);
    await client.close();
  });
});
