/**
 * The user journeys of issue 6, in Debian's Chromium against the demo (the
 * project's real Convex functions under convex-test, the real Vue app, CLIP
 * extraction in the browser worker with the tiny test model).
 *
 * One file on purpose: the journeys share the demo's in-memory data, so they
 * run in this order and each leaves the deployment as it found it.
 */

import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import type { Download, Page } from "playwright-core";
import { importWeightsJson } from "../../convex/lib/weightsImport";
import {
  callAsPage,
  expectNoRequestLeftLocalhost,
  fixtureImagesDir,
  openAs,
  openSession,
  projectRoot,
  saveScreenshot,
  sessionToken,
  type DemoRole,
  type JourneySession,
} from "./session";

const appUrl = inject("appUrl");


const sessions: JourneySession[] = [];

async function open(role: DemoRole): Promise<JourneySession> {
  const session = await openAs(role);
  sessions.push(session);
  return session;
}

afterEach(async (context) => {
  if (context.task.result?.state === "fail") {
    // Evidence for a failed journey: what each of its pages showed at the end.
    for (const [index, session] of sessions.entries()) {
      await session.page.screenshot({ path: resolve(projectRoot, "tmp", `e2e-failure-${context.task.name.slice(0, 40)}-${index}.png`), fullPage: true });
    }
  }
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
      await expect.poll(() => card.getByText('Model version v1 “demo-mlp”').count()).toBe(1);
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

    // History lists the uploads with what was decided about them.
    await page.getByRole("link", { name: "History" }).click();
    const history = page.getByRole("table", { name: "Pictures" });
    await expect.poll(() => history.locator("tbody tr").filter({ hasText: names[0] }).count(), { timeout: 30_000 }).toBe(1);
    await saveScreenshot(page, "labeller-history");
  });
});


/** Fills a ReasonDialog and confirms; when the promotion gate blocks, gives the override reason too. */
async function confirmWithReason(page: Page, reason: string): Promise<void> {
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Reason", { exact: true }).fill(reason);
  await dialog.locator('button[type="submit"]').click();
  const override = dialog.getByLabel(/^Override reason/);
  const problem = dialog.getByRole("alert");
  await expect
    .poll(async () => (await dialog.count()) === 0 || (await override.count()) > 0 || (await problem.count()) > 0, { timeout: 60_000 })
    .toBe(true);
  if ((await override.count()) === 0 && (await problem.count()) > 0) {
    throw new Error(`The dialog refused the reason: ${await problem.textContent()}`);
  }
  if ((await dialog.count()) > 0) {
    await override.fill(`${reason} (gate override for the demo)`);
    await dialog.locator('button[type="submit"]').click();
  }
  await expect.poll(() => dialog.count(), { timeout: 60_000 }).toBe(0);
}

function activeText(page: Page) {
  return page.getByText(/^Active: v\d+ “/).textContent();
}

async function postFault(path: "deleteActiveWeights" | "clearActiveVersion" | "restore"): Promise<{ versionNumber?: number }> {
  const response = await fetch(new URL(`/api/demo/faults/${path}`, appUrl), { method: "POST" });
  expect(response.status).toBe(200);
  return (await response.json()) as { versionNumber?: number };
}

async function uploadAndExpectFailure(page: Page, className: string, index: number, message: string) {
  const fileName = `${className}-${index}.png`;
  await page.getByLabel("Choose images").setInputFiles(fixture(className, index));
  await waitForQueueStatus(page, fileName, "Failed");
  const item = queueItem(page, fileName);
  expect(await item.getByRole("alert").textContent()).toContain(message);
  return item;
}

async function retryAndExpectVersion(page: Page, fileName: string, version: string) {
  await queueItem(page, fileName).getByRole("button", { name: `Retry ${fileName}` }).click();
  await waitForQueueStatus(page, fileName, "Done");
  const card = page.getByRole("article", { name: `Result for ${fileName}` });
  await expect.poll(() => card.getByText(`Model version ${version}`).count(), { timeout: 30_000 }).toBe(1);
}

describe("labeller, errors", () => {
  it("rejects a non-image by name; a missing weights file or no active version fails clearly; a retry after repair or activation succeeds", async () => {
    const labeller = await open("labeller");
    const { page } = labeller;
    await expect.poll(() => page.url()).toContain("/label");

    await page.getByLabel("Choose images").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image") });
    await waitForQueueStatus(page, "notes.txt", "Failed");
    const rejection = queueItem(page, "notes.txt");
    expect(await rejection.getByRole("alert").textContent()).toBe('"notes.txt" is not an image (text/plain)');
    expect(await rejection.getByRole("button", { name: "Retry notes.txt" }).count()).toBe(0);
    expect(labeller.calls).not.toContain("upload");

    try {
      // An operator deletes the active version's weights file (possible in the Convex dashboard)…
      expect((await postFault("deleteActiveWeights")).versionNumber).toBe(1);
      await uploadAndExpectFailure(
        page,
        "meadow",
        2,
        "the weights of v1 “demo-mlp” are missing from storage: an admin must re-import them or activate another version",
      );
      await saveScreenshot(page, "labeller-classification-failed");
      // …and puts it back: the retry reuses the stored features.
      await postFault("restore");
      await retryAndExpectVersion(page, "meadow-2.png", 'v1 “demo-mlp”');
      expect(labeller.calls).toContain("action classifications:retry");

      // A deployment with no active version (as before the first activation).
      expect((await postFault("clearActiveVersion")).versionNumber).toBe(1);
      await uploadAndExpectFailure(page, "meadow", 3, "no active model version: an admin must import and activate one");
      const admin = await open("admin");
      await expect
        .poll(() => admin.page.getByText("No version is active: classification is unavailable until one is activated.").count(), { timeout: 30_000 })
        .toBe(1);
      await admin.page.getByRole("button", { name: "Activate v1" }).click();
      await confirmWithReason(admin.page, "no version was active");
      await expect.poll(() => activeText(admin.page), { timeout: 30_000 }).toContain("Active: v1");
      await retryAndExpectVersion(page, "meadow-3.png", 'v1 “demo-mlp”');
    } finally {
      await postFault("restore");
    }
  });
});

describe("admin, versions", () => {
  it("imports a valid file, shows every problem of a broken one without storing it, compares, activates with a reason and rolls back", async () => {
    const admin = await open("admin");
    const { page } = admin;
    await expect.poll(() => page.url()).toContain("/models");
    const versionRows = page.getByRole("table", { name: "Versions" }).locator("tbody tr");
    await expect.poll(() => versionRows.count(), { timeout: 30_000 }).toBe(2);

    // A third version: v2's weights retrained a little (one bias nudged), under a new name.
    const candidate = JSON.parse(await readFile(resolve(projectRoot, "weights/demo/demo-mlp-v2.json"), "utf8")) as {
      name: string;
      layers: Array<{ bias: number[] }>;
    };
    candidate.name = "demo-mlp-v3";
    candidate.layers[candidate.layers.length - 1].bias[0] += 0.001;
    await page.getByRole("button", { name: "Import weights" }).click();
    let dialog = page.getByRole("dialog");
    await dialog.getByLabel("Weights file (JSON)").setInputFiles({
      name: "demo-mlp-v3.json",
      mimeType: "application/json",
      buffer: Buffer.from(JSON.stringify(candidate)),
    });
    await expect.poll(() => dialog.getByText("demo-mlp-v3.json is valid (canonical format).").count(), { timeout: 30_000 }).toBe(1);
    await dialog.getByLabel("Notes").fill("Candidate from the e2e journey.");
    await dialog.getByRole("button", { name: "Upload and register" }).click();
    await expect.poll(() => dialog.count(), { timeout: 60_000 }).toBe(0);
    await expect.poll(() => versionRows.count(), { timeout: 30_000 }).toBe(3);
    expect(await versionRows.filter({ hasText: "demo-mlp-v3" }).count()).toBe(1);
    expect(admin.calls).toContain("action models:register");

    // The broken file: every shape problem the validator finds is listed, and nothing is uploaded.
    const brokenText = await readFile(resolve(projectRoot, "weights/demo/broken-shapes.json"), "utf8");
    const expected = importWeightsJson(brokenText);
    if (expected.ok) throw new Error("weights/demo/broken-shapes.json is expected to be invalid");
    expect(expected.problems.length).toBeGreaterThan(1);
    const callsBefore = admin.calls.length;
    await page.getByRole("button", { name: "Import weights" }).click();
    dialog = page.getByRole("dialog");
    await dialog.getByLabel("Weights file (JSON)").setInputFiles({ name: "broken-shapes.json", mimeType: "application/json", buffer: Buffer.from(brokenText) });
    const problemList = dialog.getByRole("list", { name: "Problems" });
    await expect.poll(() => problemList.locator("li").count(), { timeout: 30_000 }).toBe(expected.problems.length);
    const shown = await problemList.locator("li").allTextContents();
    expected.problems.forEach((problem, index) => {
      expect(shown[index]).toContain(problem.message);
      if (problem.path) expect(shown[index]).toContain(problem.path);
    });
    expect(await dialog.getByText(`${expected.problems.length} problems in broken-shapes.json; nothing was uploaded.`).count()).toBe(1);
    expect(await dialog.getByRole("button", { name: "Upload and register" }).isDisabled()).toBe(true);
    await saveScreenshot(page, "admin-import-problems");
    await dialog.getByRole("button", { name: "Cancel" }).click();
    const brokenCalls = admin.calls.slice(callsBefore);
    expect(brokenCalls.filter((call) => call === "upload" || call.startsWith("mutation models:") || call.startsWith("action models:"))).toEqual([]);
    expect(await versionRows.count()).toBe(3);

    // Compare v3 with the active v1.
    await page.getByRole("button", { name: "Compare v3" }).click();
    const compareForm = page.getByRole("form", { name: "Versions to compare" });
    await compareForm.getByLabel("Candidate").selectOption({ label: 'v3 “demo-mlp-v3”' });
    await compareForm.getByRole("button", { name: "Compare" }).click();
    const result = page.getByLabel("Comparison result");
    await expect.poll(() => result.count(), { timeout: 60_000 }).toBe(1);
    const comparedOn = /v3 “demo-mlp-v3” \(candidate\) against v1 “demo-mlp” \(baseline\) on (\d+) labelled items/.exec((await result.textContent()) ?? "");
    // The imported set (120 items) plus the pictures labellers have labelled so far.
    expect(Number(comparedOn?.[1])).toBeGreaterThanOrEqual(120);
    expect(["passes", "blocks activation"]).toContain((await result.getByTestId("gate-verdict").textContent())!.trim());
    expect(await page.getByRole("table", { name: "Per-class metrics" }).locator("tbody tr").count()).toBe(12);
    await result.scrollIntoViewIfNeeded();
    await saveScreenshot(page, "admin-compare", { fullPage: false });

    // Activate v3 with a reason, then roll back to v1.
    await page.getByRole("button", { name: "Activate v3" }).click();
    await confirmWithReason(page, "e2e: promote the retrained candidate");
    await expect.poll(() => activeText(page), { timeout: 30_000 }).toContain('Active: v3 “demo-mlp-v3”');
    await page.getByRole("button", { name: "Roll back" }).click();
    await confirmWithReason(page, "e2e: back to the proven version");
    await expect.poll(() => activeText(page), { timeout: 30_000 }).toContain('Active: v1 “demo-mlp”');

    const timeline = page.getByRole("table", { name: "Activation timeline" }).locator("tbody tr");
    await expect.poll(() => timeline.filter({ hasText: "e2e: back to the proven version" }).count(), { timeout: 30_000 }).toBe(1);
    const entries = await timeline.allTextContents();
    const activation = entries.find((entry) => entry.includes("e2e: promote the retrained candidate"));
    const rollback = entries.find((entry) => entry.includes("e2e: back to the proven version"));
    expect(activation).toContain("v3");
    expect(rollback).toContain("v1");
    // Newest first: the rollback is listed above the activation it undid.
    expect(entries.indexOf(rollback!)).toBeLessThan(entries.indexOf(activation!));
    await page.evaluate(() => window.scrollTo(0, 0));
    await saveScreenshot(page, "admin-models", { fullPage: false });

    await page.getByRole("link", { name: "Settings" }).click();
    await expect.poll(() => page.getByRole("heading", { name: "Users and roles" }).count(), { timeout: 30_000 }).toBe(1);
    // The table fills in once the users query answers.
    await expect.poll(() => page.getByRole("cell", { name: "labeller@demo.local" }).count(), { timeout: 30_000 }).toBe(1);
    await saveScreenshot(page, "admin-settings");
  });
});

/** Reads an ECharts chart inside the figure titled `title`: coloured pixels on its canvas, and its option. */
async function inspectChart(page: Page, title: string) {
  return page.evaluate(async (title) => {
    const figure = document.querySelector(`figure[aria-label="${title}"]`);
    const canvas = figure?.querySelector("canvas");
    if (!figure || !canvas) return null;
    const context = canvas.getContext("2d")!;
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      // Axes, grid lines and text are grey; series are drawn in the palette's colours.
      if (data[i + 3] > 0 && Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured += 1;
    }
    // The page's own echarts module (Vite's pre-bundled copy) owns the chart instances.
    const moduleUrl = performance
      .getEntriesByType("resource")
      .map((entry) => entry.name)
      .find((name) => name.includes("/.vite/deps/echarts_core.js"));
    // Built with Function so the test runner's transform leaves this browser-side import() alone.
    const importInPage = new Function("url", "return import(url)") as (url: string) => Promise<unknown>;
    const echarts = moduleUrl ? ((await importInPage(moduleUrl)) as { getInstanceByDom(dom: Element): { getOption(): unknown } | undefined }) : null;
    const host = figure.querySelector("[_echarts_instance_]");
    const option = host && echarts ? (echarts.getInstanceByDom(host)?.getOption() as { series?: Array<{ name?: string; markLine?: { data?: Array<{ name?: string }> } }> }) : null;
    return {
      coloured,
      markers: option?.series?.flatMap((series) => series.markLine?.data?.map((marker) => marker.name ?? "") ?? []) ?? [],
      seriesCount: option?.series?.length ?? 0,
    };
  }, title);
}

async function readDownload(download: Download): Promise<string> {
  const stream = await download.createReadStream();
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function totalClassifications(page: Page): Promise<number> {
  return page
    .getByTestId("total-classifications")
    .textContent()
    .then((text) => Number.parseInt(text ?? "", 10));
}

describe("analyst", () => {
  it("sees distribution, time series with activation markers and drift with data; the date filter changes the numbers; CSV downloads", async () => {
    const { page } = await open("analyst");
    await expect.poll(() => page.url()).toContain("/analytics");
    await expect.poll(() => totalClassifications(page), { timeout: 30_000 }).toBeGreaterThan(0);
    const allDays = await totalClassifications(page);

    const charts = {
      distribution: "Class distribution",
      timeSeries: "Classes per day, with activations and rollbacks",
      drift: "Share of each class in both windows, with its Jensen–Shannon term",
    };
    for (const title of Object.values(charts)) {
      await expect.poll(async () => (await inspectChart(page, title))?.coloured ?? 0, { timeout: 30_000 }).toBeGreaterThan(500);
    }
    const timeSeries = await inspectChart(page, charts.timeSeries);
    // The seed activated v1 two weeks ago; the admin journey activated v3 and rolled back today.
    expect(timeSeries!.markers).toEqual(expect.arrayContaining(['activated v1 “demo-mlp”', 'activated v3 “demo-mlp-v3”', 'rollback to v1 “demo-mlp”']));
    expect(await page.getByTestId("drift-summary").textContent()).toMatch(/Jensen–Shannon divergence \d\.\d{4} · PSI \d+\.\d{4} \([1-9]\d* vs [1-9]\d* classifications\)/);
    expect(await page.getByRole("table", { name: "Drift per class" }).locator("tbody tr").count()).toBeGreaterThan(1);
    await saveScreenshot(page, "analyst-analytics");

    // Today only: fewer classifications than over the default 30 days (the seed spread them over two weeks).
    const to = await page.getByLabel("To (UTC)").inputValue();
    await page.getByLabel("From (UTC)").fill(to);
    await expect.poll(() => totalClassifications(page), { timeout: 30_000 }).toBeLessThan(allDays);
    const today = await totalClassifications(page);
    expect(today).toBeGreaterThan(0);

    const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export CSV" }).click()]);
    expect(download.suggestedFilename()).toBe(`analytics-${to}-to-${to}.csv`);
    const csv = await readDownload(download);
    expect(csv.split("\n").length).toBeGreaterThan(3);
    expect(csv).toContain(to);
  });
});

describe("roles", () => {
  it("a labeller sees no admin pages, is turned away from them, and the server refuses admin functions", async () => {
    const { page } = await open("labeller");
    const nav = page.getByRole("navigation", { name: "Main" });
    expect((await nav.getByRole("link").allTextContents()).map((text) => text.trim())).toEqual(["Label", "Review", "History"]);

    await page.goto(new URL("/models", appUrl).href);
    await page.waitForURL(/\/not-allowed/);
    await expect.poll(() => page.getByRole("heading", { name: "Not allowed" }).count(), { timeout: 30_000 }).toBe(1);
    expect(await page.getByText("/models is for admin; you are signed in as labeller.").count()).toBe(1);
    expect(await page.getByRole("table", { name: "Versions" }).count()).toBe(0);
    await saveScreenshot(page, "roles-not-allowed");

    const refusals = [
      await callAsPage(page, "query", "models:list", {}),
      await callAsPage(page, "mutation", "deployment:rollback", { reason: "a labeller tries" }),
      await callAsPage(page, "mutation", "settings:update", { privacyMode: "none" }),
      await callAsPage(page, "query", "analytics:timeSeries", { from: "2026-01-01", to: "2026-01-02" }),
    ];
    for (const refusal of refusals) {
      expect(refusal.status).toBe("error");
      expect(refusal.errorData?.code).toBe("access_denied");
      expect(refusal.errorData?.message).toMatch(/; you are labeller\.$/);
    }
    // The same token still works for what a labeller may do…
    const token = await sessionToken(page);
    expect((await callAsPage(page, "query", "pictures:reviewQueue", { limit: 1 })).status).toBe("success");

    // …until the labeller signs out: the server forgets the session.
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/sign-in/);
    const afterSignOut = await fetch(new URL("/api/query", appUrl), {
      method: "POST",
      headers: { Authorization: `Bearer ${token}` },
      body: JSON.stringify({ path: "users:me", args: {} }),
    });
    expect(afterSignOut.status).toBe(401);
  });

  it("signing in shows the role picker and says the data is in memory", async () => {
    const session = await openSession();
    sessions.push(session);
    await session.page.goto(appUrl);
    await session.page.waitForURL(/\/sign-in/);
    const picker = session.page.getByTestId("demo-sign-in");
    expect(await picker.textContent()).toContain("In-memory demo backend: data is lost when npm run demo exits.");
    expect((await picker.getByRole("button").allTextContents()).map((text) => text.trim())).toEqual(["Sign in as labeller", "Sign in as admin", "Sign in as analyst"]);
    await saveScreenshot(session.page, "sign-in");
  });
});
