/**
 * One signed-in browser context per journey, with every request the pages
 * (and their workers) make recorded, so each test can assert that nothing
 * left this machine.
 */
import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { expect, inject } from "vitest";
import type { DemoRole } from "../../src/demo/demoBackendClient";

export type { DemoRole };

export const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const screenshotsDir = resolve(projectRoot, "docs", "screenshots");
export const fixtureImagesDir = resolve(projectRoot, "tests", "fixtures", "images");

export interface JourneySession {
  context: BrowserContext;
  page: Page;
  /** Every URL requested so far, in order. */
  requests: string[];
  /** Every backend function the app called, e.g. "mutation models:generateUploadUrl", in order. */
  calls: string[];
  appUrl: string;
  close(): Promise<void>;
}

let browser: Browser | undefined;

export async function connectBrowser(): Promise<Browser> {
  browser ??= await chromium.connect(inject("browserEndpoint"));
  return browser;
}

/** Only the page's own origin (Vite + the proxied harness), and in-page blob:/data: URLs. */
export function isLocal(url: string, appUrl: string): boolean {
  if (url.startsWith("blob:") || url.startsWith("data:")) return true;
  return new URL(url).origin === new URL(appUrl).origin;
}

export function expectNoRequestLeftLocalhost(session: Pick<JourneySession, "requests" | "appUrl">): void {
  expect(session.requests.length).toBeGreaterThan(0);
  expect(session.requests.filter((url) => !isLocal(url, session.appUrl))).toEqual([]);
}

export async function openSession(): Promise<JourneySession> {
  const appUrl = inject("appUrl");
  const context = await (await connectBrowser()).newContext({ acceptDownloads: true, viewport: { width: 1280, height: 860 } });
  const requests: string[] = [];
  const calls: string[] = [];
  // Context-level, so requests from web workers (CLIP model files, wasm) are recorded too.
  context.on("request", (request) => {
    requests.push(request.url());
    const kind = /\/api\/(query|mutation|action)$/.exec(new URL(request.url()).pathname)?.[1];
    if (kind) calls.push(`${kind} ${(JSON.parse(request.postData() ?? "{}") as { path?: string }).path}`);
    else if (new URL(request.url()).pathname === "/api/storage/upload") calls.push("upload");
  });
  const page = await context.newPage();
  return { context, page, requests, calls, appUrl, close: () => context.close() };
}

/** The signed-in user's demo session token, as the app stored it. */
export async function sessionToken(page: Page): Promise<string> {
  const token = await page.evaluate(() => localStorage.getItem("clipDashboard.authToken"));
  if (!token) throw new Error("No session token in localStorage: sign in first.");
  return token;
}

/** Calls a backend function the way the app does (same origin, same token), to see what the server answers. */
export async function callAsPage(page: Page, kind: "query" | "mutation" | "action", path: string, args: Record<string, unknown>) {
  const token = await sessionToken(page);
  return page.evaluate(
    async ({ kind, path, args, token }) => {
      const response = await fetch(`/api/${kind}`, {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify({ path, args }),
      });
      return (await response.json()) as { status: string; value?: unknown; errorMessage?: string; errorData?: { code?: string; message?: string } };
    },
    { kind, path, args, token },
  );
}

/** Signs in through the demo's role picker and waits for the role's home page. */
export async function signInAs(session: JourneySession, role: DemoRole): Promise<void> {
  const { page } = session;
  await page.goto(session.appUrl);
  await page.getByRole("button", { name: `Sign in as ${role}` }).click();
  // The first visit of a page makes Vite transform it, which can take a while on a cold dev server.
  await page.waitForURL((url) => url.pathname !== "/sign-in", { timeout: 60_000 });
  await expect.poll(() => page.getByLabel(`Role: ${role}`).count(), { timeout: 30_000 }).toBe(1);
}

export async function openAs(role: DemoRole): Promise<JourneySession> {
  const session = await openSession();
  await signInAs(session, role);
  return session;
}

/** docs/screenshots/<name>.png: the whole page, or just the viewport for very long pages. */
export async function saveScreenshot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  await mkdir(screenshotsDir, { recursive: true });
  await page.screenshot({ path: resolve(screenshotsDir, `${name}.png`), fullPage: options.fullPage ?? true });
}
