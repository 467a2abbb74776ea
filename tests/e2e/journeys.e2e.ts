/**
 * The user journeys of issue 6, in Debian's Chromium against the demo (the
 * project's real Convex functions under convex-test, the real Vue app, CLIP
 * extraction in the browser worker with the tiny test model).
 *
 * One file on purpose: the journeys share the demo's in-memory data, so they
 * run in this order and each leaves the deployment as it found it.
 */

import { resolve } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { Page } from "playwright-core";
import {
  expectNoRequestLeftLocalhost,
  fixtureImagesDir,
  openAs,
  saveScreenshot,
  type JourneySession,
} from "./session";


const sessions: JourneySession[] = [];

async function open(role: "admin" | "labeller" | "analyst"): Promise<JourneySession> {
  const session = await openAs(role);
  sessions.push(session);
  return session;
}

afterEach(async () => {
  // Every journey: nothing any of its pages or workers requested left this machine.
  for (const session of sessions.splice(0)) {
    expectNoRequestLeftLocalhost(session);
    await session.close();
  }
});

function fixture(className: string, index: number): string {
  return resolve(fixtureImagesDir, className, `${className}-${index}.png`);
}

/** The upload queue entry's status, e.g. "Done" or "Failed". */
function queueItem(page: Page, fileName: string) {
  return page.getByRole("listitem").filter({ has: page.getByText(fileName, { exact: true }) }).first();
}

/** Waits until the upload settles; the message says why when it settled the other way. */
async function waitForQueueStatus(page: Page, fileName: string, status: "Done" | "Failed"): Promise<void> {
  const item = queueItem(page, fileName);
  let settled = "";
  await expect
    .poll(
      async () => {
        settled = ((await item.getByTestId("upload-status").textContent()) ?? "").trim();
        return settled === "Done" || settled === "Failed";
      },
      { timeout: 60_000, interval: 250 },
    )
    .toBe(true);
  const error = settled === "Failed" ? await item.getByRole("alert").textContent() : null;
  expect({ fileName, status: settled, error }).toEqual({ fileName, status, error: status === "Failed" ? expect.any(String) : null });
}

async function reviewRows(page: Page): Promise<Array<{ fileName: string; confidence: number }>> {
  const rows = page.getByRole("table", { name: "Pictures to review" }).locator("tbody tr");
  const count = await rows.count();
  const result: Array<{ fileName: string; confidence: number }> = [];
  for (let index = 0; index < count; index += 1) {
    const cells = rows.nth(index).locator("td");
    result.push({
      fileName: (await cells.nth(0).textContent())!.trim(),
      confidence: Number.parseFloat((await cells.nth(2).textContent())!),
    });
  }
  return result;
}

describe("labeller", () => {
  const uploads = [fixture("lava", 1), fixture("sky", 2), fixture("roses", 3)];
  const names = ["lava-1.png", "sky-2.png", "roses-3.png"];

  it("uploads three images, sees classes, probabilities and version, corrects one, and the review queue reorders", async () => {
    const { page } = await open("labeller");
    await expect.poll(() => page.url()).toContain("/label");

    await page.getByLabel("Choose images").setInputFiles(uploads);
    for (const name of names) await waitForQueueStatus(page, name, "Done");

    for (const [index, name] of names.entries()) {
      const card = page.getByRole("article", { name: `Result for ${name}` });
      await expect.poll(() => card.getByText("Model version 1 (demo-mlp)").count()).toBe(1);
      const meters = card.getByRole("meter");
      expect(await meters.count()).toBeGreaterThanOrEqual(3);
      const probabilities = await meters.evaluateAll((nodes) => nodes.map((node) => Number(node.getAttribute("aria-valuenow"))));
      expect(probabilities.every((p) => p >= 0 && p <= 1)).toBe(true);
      expect([...probabilities].sort((a, b) => b - a)).toEqual(probabilities);
      // The demo MLP was trained on these synthetic scenes: its top class is the folder's class.
      const topClass = (await card.getByRole("list", { name: "Top classes" }).locator("li").first().locator("span").first().textContent())!.trim();
      expect(topClass).toBe(["lava", "sky", "roses"][index]);
    }
    await saveScreenshot(page, "labeller-upload-results");

    // Correct the first picture to a class other than its prediction.
    const corrected = page.getByRole("article", { name: `Result for ${names[0]}` });
    await corrected.getByRole("group", { name: `Correct the label of ${names[0]}` }).getByRole("button", { name: "autumn" }).click();
    await expect.poll(() => corrected.getByRole("status").textContent()).toBe("Labelled: autumn");

    await page.getByRole("link", { name: "Review" }).click();
    await expect.poll(async () => (await reviewRows(page)).length, { timeout: 30_000 }).toBeGreaterThan(2);
    const before = await reviewRows(page);
    const confidences = before.map((row) => row.confidence);
    expect([...confidences].sort((a, b) => a - b)).toEqual(confidences);
    const fileNames = before.map((row) => row.fileName);
    expect(fileNames).not.toContain(names[0]);
    expect(fileNames).toEqual(expect.arrayContaining(names.slice(1)));
    await saveScreenshot(page, "labeller-review-queue");

    // Labelling the least confident picture takes it out; the next one moves to the top.
    const [least, next] = before;
    const card = page.getByRole("article", { name: `Result for ${least.fileName}` });
    await card.getByRole("button", { name: /^Accept / }).click();
    await expect.poll(async () => (await reviewRows(page)).map((row) => row.fileName)[0], { timeout: 30_000 }).toBe(next.fileName);
    expect((await reviewRows(page)).map((row) => row.fileName)).not.toContain(least.fileName);
  });
});

