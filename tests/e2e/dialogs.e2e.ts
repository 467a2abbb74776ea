/**
 * Dialogs at phone and desktop size: they fit the viewport and scroll inside,
 * the wheel does not scroll the page behind them, and Esc closes the reason
 * dialog also after a refused submit (when the browser moved the focus to <body>).
 */
import { afterEach, describe, expect, it } from "vitest";
import type { Locator, Page } from "playwright-core";
import { expectNoRequestLeftLocalhost, openAs, type JourneySession } from "./session";

const sessions: JourneySession[] = [];

afterEach(async () => {
  for (const session of sessions.splice(0)) {
    expectNoRequestLeftLocalhost(session);
    await session.close();
  }
});

async function openModels(width: number, height: number): Promise<Page> {
  const session = await openAs("admin");
  sessions.push(session);
  const { page } = session;
  await page.setViewportSize({ width, height });
  await expect.poll(() => page.getByRole("table", { name: "Versions" }).locator("tbody tr").count(), { timeout: 30_000 }).toBeGreaterThan(1);
  return page;
}

async function expectFitsAndHoldsTheWheel(page: Page, dialog: Locator, height: number): Promise<void> {
  const box = (await dialog.boundingBox())!;
  expect(box.y).toBeGreaterThanOrEqual(0);
  expect(box.y + box.height).toBeLessThanOrEqual(height);
  const before = await page.evaluate(() => window.scrollY);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.wheel(0, 2000);
  // Also over the backdrop, beside the dialog.
  await page.mouse.move(2, height - 2);
  await page.mouse.wheel(0, 2000);
  await page.waitForTimeout(300);
  expect(await page.evaluate(() => window.scrollY)).toBe(before);
}

describe.each([
  { width: 390, height: 844 },
  { width: 1400, height: 900 },
])("dialogs at $width×$height", ({ width, height }) => {
  it("the import dialog fits the viewport and keeps the page behind still", async () => {
    const page = await openModels(width, height);
    await page.getByRole("button", { name: "Import weights" }).click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.count()).toBe(1);
    await expectFitsAndHoldsTheWheel(page, dialog, height);
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
  });

  it("the reason dialog fits, keeps the page still, and Esc closes it after a refused submit", async () => {
    const page = await openModels(width, height);
    await page.getByRole("button", { name: "Activate v2" }).click();
    const dialog = page.getByRole("dialog");
    await expect.poll(() => dialog.count()).toBe(1);
    await expectFitsAndHoldsTheWheel(page, dialog, height);

    // The activation never reaches the server: the dialog shows the refusal and stays open.
    await page.route("**/api/mutation", (route) => route.abort("failed"));
    await dialog.getByLabel("Reason", { exact: true }).fill("trying the dialog");
    await dialog.locator('button[type="submit"]').click();
    await expect.poll(() => dialog.getByRole("alert").count(), { timeout: 30_000 }).toBe(1);
    await page.unroute("**/api/mutation");
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.count()).toBe(0);
    await expect.poll(() => page.getByText(/^Active: v1 /).count()).toBe(1);
  });
});
