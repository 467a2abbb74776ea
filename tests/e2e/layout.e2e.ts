/**
 * Every page in the navigation fits a phone (390×844) and a desktop (1400×900)
 * without widening the document: wide tables scroll inside their own box and
 * the header wraps. The pages are read from the navigation at run time, so a
 * route added later is checked without touching this file.
 */
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import { expectNoRequestLeftLocalhost, fixtureImagesDir, openAs, type JourneySession } from "./session";

let admin: JourneySession | undefined;

/** One admin session for the file (expect.poll needs a running test, so it opens in the first one). */
async function adminPage(): Promise<Page> {
  if (admin === undefined) {
    admin = await openAs("admin");
    // One classified picture, so Review has a queue table and a result card to lay out.
    await admin.page.goto(new URL("/label", admin.appUrl).href);
    await admin.page.getByLabel("Choose images").setInputFiles(resolve(fixtureImagesDir, "fog", "fog-2.png"));
    await expect.poll(() => admin!.page.getByRole("article", { name: "Result for fog-2.png" }).count(), { timeout: 60_000 }).toBe(1);
  }
  return admin.page;
}

afterAll(async () => {
  if (admin === undefined) return;
  expectNoRequestLeftLocalhost(admin);
  await admin.close();
});

async function navPaths(page: Page): Promise<string[]> {
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect.poll(() => nav.getByRole("link").count(), { timeout: 30_000 }).toBeGreaterThan(0);
  return nav.getByRole("link").evaluateAll((links) => links.map((link) => new URL((link as HTMLAnchorElement).href).pathname));
}

/** Opens a page through the navigation (no reload) and waits until its data replaced the loading lines. */
async function visit(page: Page, path: string): Promise<void> {
  await page.getByRole("navigation", { name: "Main" }).locator(`a[href="${path}"]`).click();
  await expect.poll(() => new URL(page.url()).pathname).toBe(path);
  await expect.poll(() => page.locator("main h1").count(), { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(() => page.locator("main").getByText(/^Loading/).count(), { timeout: 30_000 }).toBe(0);
}

/** Whatever sticks out to the right of the viewport, to name the culprit when the check fails. */
function widestElements(page: Page, width: number) {
  return page.evaluate((limit) => {
    const found: string[] = [];
    for (const element of Array.from(document.querySelectorAll("body *"))) {
      const box = element.getBoundingClientRect();
      let clipped = false;
      for (let parent = element.parentElement; parent && parent !== document.body && !clipped; parent = parent.parentElement) {
        clipped = getComputedStyle(parent).overflowX !== "visible";
      }
      if (box.right > limit + 0.5 && !clipped) {
        found.push(`${element.tagName.toLowerCase()}.${element.className} → ${Math.round(box.right)}px`);
      }
    }
    return found.slice(0, 5);
  }, width);
}

describe.each([
  { width: 390, height: 844 },
  { width: 1400, height: 900 },
])("every page at $width×$height", ({ width, height }) => {
  it("is no wider than the viewport", async () => {
    const page = await adminPage();
    await page.setViewportSize({ width, height });
    const paths = await navPaths(page);
    expect(paths).toEqual(expect.arrayContaining(["/label", "/review", "/history", "/models", "/analytics", "/settings"]));
    const tooWide: Array<{ path: string; scrollWidth: number; culprits: string[] }> = [];
    for (const path of paths) {
      await visit(page, path);
      const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
      if (scrollWidth > width) tooWide.push({ path, scrollWidth, culprits: await widestElements(page, width) });
    }
    expect(tooWide).toEqual([]);
    // The header wrapped rather than pushing "Sign out" off-screen.
    const signOut = await page.getByRole("button", { name: "Sign out" }).boundingBox();
    expect(signOut!.x + signOut!.width).toBeLessThanOrEqual(width);
  });
});

it("keeps Review's result card clear of the queue table at 390×844", async () => {
  const page = await adminPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await visit(page, "/review");
  const table = await page.getByRole("table", { name: "Pictures to review" }).boundingBox();
  const card = await page.getByRole("article", { name: /^Result for / }).first().boundingBox();
  expect(table).not.toBeNull();
  expect(card).not.toBeNull();
  const overlaps = table!.x < card!.x + card!.width && card!.x < table!.x + table!.width && table!.y < card!.y + card!.height && card!.y < table!.y + table!.height;
  expect({ table, card, overlaps }).toEqual({ table, card, overlaps: false });
  expect(card!.x + card!.width).toBeLessThanOrEqual(390);
});
