/**
 * HTTP front of the demo backend, on 127.0.0.1 only.
 *
 *   POST /api/query | /api/mutation | /api/action   {path, args} (+ Authorization: Bearer <token>)
 *        → {status: "success", value} | {status: "error", errorMessage, errorData?}
 *        (the shape of Convex's own HTTP API; values in Convex's JSON encoding)
 *   GET  /api/events                server-sent events: `version` after every write
 *   POST /api/storage/upload?token=  raw body → {storageId}  (what generateUploadUrl URLs point at)
 *   GET  /api/storage/file/<sha256> the bytes behind a getUrl URL
 *   POST /api/demo/signIn           {role} → {token, refreshToken, userId, role}
 *   GET  /api/demo/health           {version}
 *   POST /api/demo/faults/deleteActiveWeights | clearActiveVersion | restore
 *                                   only when the backend was created with faultInjection (e2e)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConvexError, convexToJson, jsonToConvex, type Value } from "convex/values";
import { ROLES, type Role } from "../../convex/lib/shapes.ts";
import { DemoRequestError, type DemoBackend, type FunctionKind } from "./demoBackend.ts";

export const DEFAULT_DEMO_BACKEND_PORT = 3210;
const maxBodyBytes = 20 * 1024 * 1024;
const heartbeatMs = 15_000;

export interface DemoServer {
  /** e.g. http://127.0.0.1:3210 */
  url: string;
  close(): Promise<void>;
}

class BodyTooLarge extends Error {}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > maxBodyBytes) throw new BodyTooLarge(`Request body is over ${maxBodyBytes} bytes.`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store" });
  response.end(JSON.stringify(body));
}

async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(request)).toString("utf8");
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new DemoRequestError(400, `Expected a JSON body, got ${JSON.stringify(text.slice(0, 80))}.`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DemoRequestError(400, "Expected a JSON object body.");
  }
  return parsed as Record<string, unknown>;
}

function bearerToken(request: IncomingMessage): string | null {
  const header = request.headers.authorization;
  if (!header) return null;
  const match = /^Bearer (.+)$/.exec(header);
  if (!match) throw new DemoRequestError(401, 'Expected an "Authorization: Bearer <token>" header.');
  return match[1];
}

/** The function's own error, in the shape convex/browser clients turn back into Error / ConvexError. */
function functionErrorBody(error: unknown): { status: "error"; errorMessage: string; errorData?: Value } {
  if (error instanceof ConvexError) {
    return { status: "error", errorMessage: error.message, errorData: convexToJson(error.data as Value) };
  }
  return { status: "error", errorMessage: error instanceof Error ? error.message : String(error) };
}

async function answerFunctionCall(backend: DemoBackend, kind: FunctionKind, request: IncomingMessage, response: ServerResponse) {
  const body = await readJsonObject(request);
  if (typeof body.path !== "string") throw new DemoRequestError(400, 'Expected "path" to be a string like "models:list".');
  const args = jsonToConvex((body.args ?? {}) as never);
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    throw new DemoRequestError(400, `Expected "args" to be an object, got ${JSON.stringify(body.args)}.`);
  }
  const token = bearerToken(request);
  let value: Value;
  try {
    value = await backend.call(kind, body.path, args as Record<string, Value>, token);
  } catch (error) {
    if (error instanceof DemoRequestError) throw error;
    sendJson(response, 200, functionErrorBody(error));
    return;
  }
  sendJson(response, 200, { status: "success", value: convexToJson(value) });
}

function streamEvents(backend: DemoBackend, request: IncomingMessage, response: ServerResponse): void {
  response.writeHead(200, {
    "Content-Type": "text/event-stream",
    "Cache-Control": "no-store",
    Connection: "keep-alive",
  });
  const send = (version: number) => response.write(`event: version\ndata: ${version}\n\n`);
  send(backend.version);
  const stopListening = backend.onVersionChange(send);
  // Proxies drop idle streams; a comment line every few seconds keeps this one open.
  const heartbeat = setInterval(() => response.write(": keep-alive\n\n"), heartbeatMs);
  request.on("close", () => {
    clearInterval(heartbeat);
    stopListening();
  });
}

function isRole(value: unknown): value is Role {
  return typeof value === "string" && (ROLES as readonly string[]).includes(value);
}

async function route(backend: DemoBackend, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://127.0.0.1");
  const method = request.method ?? "GET";
  const functionKind = /^\/api\/(query|mutation|action)$/.exec(url.pathname)?.[1] as FunctionKind | undefined;

  if (functionKind && method === "POST") return answerFunctionCall(backend, functionKind, request, response);
  if (url.pathname === "/api/events" && method === "GET") return streamEvents(backend, request, response);
  if (url.pathname === "/api/storage/upload" && method === "POST") {
    const token = url.searchParams.get("token");
    if (!token) throw new DemoRequestError(400, "Expected ?token= from a generateUploadUrl URL.");
    const bytes = await readBody(request);
    const type = request.headers["content-type"];
    const storageId = await backend.storeUpload(token, new Blob([new Uint8Array(bytes)], type ? { type } : {}));
    return sendJson(response, 200, { storageId });
  }
  const fileMatch = /^\/api\/storage\/file\/(.+)$/.exec(url.pathname);
  if (fileMatch && method === "GET") {
    const file = await backend.readFileBySha256(decodeURIComponent(fileMatch[1]));
    if (!file) throw new DemoRequestError(404, "No stored file has this URL (the demo backend was restarted?).");
    response.writeHead(200, {
      "Content-Type": file.contentType ?? "application/octet-stream",
      "Cache-Control": "private, max-age=3600",
      // The app page is cross-origin isolated (COEP require-corp) and loads pictures with
      // crossorigin="anonymous", as Convex's own storage URLs are answered: these keep
      // images loadable even without the proxy, in CORS and no-CORS mode alike.
      "Access-Control-Allow-Origin": "*",
      "Cross-Origin-Resource-Policy": "cross-origin",
    });
    response.end(file.bytes);
    return;
  }
  if (url.pathname === "/api/demo/signIn" && method === "POST") {
    const body = await readJsonObject(request);
    if (!isRole(body.role)) {
      throw new DemoRequestError(400, `Expected "role" to be one of ${ROLES.join(", ")}, got ${JSON.stringify(body.role)}.`);
    }
    return sendJson(response, 200, await backend.signIn(body.role));
  }
  if (url.pathname === "/api/demo/health" && method === "GET") return sendJson(response, 200, { version: backend.version });
  if (backend.faults && method === "POST") {
    if (url.pathname === "/api/demo/faults/deleteActiveWeights") {
      return sendJson(response, 200, { versionNumber: await backend.faults.deleteActiveWeights() });
    }
    if (url.pathname === "/api/demo/faults/clearActiveVersion") {
      return sendJson(response, 200, { versionNumber: await backend.faults.clearActiveVersion() });
    }
    if (url.pathname === "/api/demo/faults/restore") {
      await backend.faults.restore();
      return sendJson(response, 200, {});
    }
  }
  throw new DemoRequestError(404, `No demo endpoint ${method} ${url.pathname}.`);
}

export async function startDemoServer(backend: DemoBackend, options: { port?: number; host?: string } = {}): Promise<DemoServer> {
  const host = options.host ?? "127.0.0.1";
  const server: Server = createServer((request, response) => {
    route(backend, request, response).catch((error: unknown) => {
      if (response.headersSent) {
        response.destroy();
        return;
      }
      if (error instanceof DemoRequestError) return sendJson(response, error.status, { status: "error", errorMessage: error.message });
      if (error instanceof BodyTooLarge) return sendJson(response, 413, { status: "error", errorMessage: error.message });
      sendJson(response, 500, { status: "error", errorMessage: error instanceof Error ? error.message : String(error) });
    });
  });
  await new Promise<void>((resolveListen, rejectListen) => {
    server.once("error", rejectListen);
    server.listen(options.port ?? DEFAULT_DEMO_BACKEND_PORT, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolveClose) => {
        backend.close();
        server.closeAllConnections();
        server.close(() => resolveClose());
      }),
  };
}
