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

export type DemoRole = "admin" | "labeller" | "analyst";

export const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const screenshotsDir = resolve(projectRoot, "docs", "screenshots");
export const fixtureImagesDir = resolve(projectRoot, "tests", "fixtures", "images");

export interface JourneySession {
  context: BrowserContext;
  page: Page;
  /** Every URL requested so far, in order. */
  requests: string[];
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
  // Context-level, so requests from web workers (CLIP model files, wasm) are recorded too.
  context.on("request", (request) => requests.push(request.url()));
  const page = await context.newPage();
  return { context, page, requests, appUrl, close: () => context.close() };
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

export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotsDir, { recursive: true });
  await page.screenshot({ path: resolve(screenshotsDir, `${name}.png`), fullPage: true });
}
