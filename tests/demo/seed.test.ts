/**
 * The demo seed, through the real functions: what a user of `npm run demo`
 * finds on arrival (active version, labelled set, pictures over two weeks).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createDemoBackend, type DemoBackend } from "../../tools/demo/demoBackend";
import { seedDemo, type DemoSeedSummary } from "../../tools/demo/seed";

let backend: DemoBackend;
let summary: DemoSeedSummary;

beforeAll(async () => {
  backend = await createDemoBackend({
    seed: async (context) => {
      summary = await seedDemo(context);
    },
  });
}, 120_000);

function daysAgo(day: string): number {
  return Math.round((Date.parse(new Date().toISOString().slice(0, 10)) - Date.parse(day)) / 86_400_000);
}

describe("demo seed", () => {
  it("registers both demo versions and activates the first", async () => {
    const { token } = await backend.signIn("admin");
    const versions = (await backend.call("query", "models:list", {}, token)) as Array<{ number: number; name: string; isActive: boolean }>;
    expect(versions.map((version) => [version.number, version.name, version.isActive]).sort()).toEqual([
      [1, "demo-mlp", true],
      [2, "demo-mlp-v2", false],
    ]);
    expect(summary.notes).toEqual([]);
    const settings = (await backend.call("query", "settings:get", {}, token)) as { clipModelId: string };
    expect(settings.clipModelId).toBe("tiny-clip");
  });

  it("imports the labelled set", async () => {
    const { token } = await backend.signIn("admin");
    const set = (await backend.call("query", "labelledSet:summary", {}, token)) as { total: number; bySource: { import: number } };
    expect(set.bySource.import).toBe(120);
    expect(summary.labelledItems).toBe(120);
  });

  it("spreads classified pictures over the last two weeks, today included, with some awaiting review", async () => {
    const { token } = await backend.signIn("analyst");
    const today = new Date().toISOString().slice(0, 10);
    const from = new Date(Date.now() - 20 * 86_400_000).toISOString().slice(0, 10);
    const series = (await backend.call("query", "analytics:timeSeries", { from, to: today }, token)) as {
      days: string[];
      series: Array<{ counts: number[] }>;
      markers: Array<{ at: number }>;
    };
    const perDay = series.days.map((day, index) => ({ day, count: series.series.reduce((sum, entry) => sum + entry.counts[index], 0) }));
    const withData = perDay.filter((entry) => entry.count > 0).map((entry) => daysAgo(entry.day));
    expect(perDay.reduce((sum, entry) => sum + entry.count, 0)).toBe(summary.pictureIds.length);
    expect(Math.max(...withData)).toBe(13);
    expect(Math.min(...withData)).toBe(0);
    expect(series.markers.length).toBe(1);

    const labeller = await backend.signIn("labeller");
    const queue = (await backend.call("query", "pictures:reviewQueue", { limit: 100 }, labeller.token)) as Array<{ imageUrl?: string }>;
    expect(queue.length).toBeGreaterThan(0);
    expect(queue.length).toBeLessThan(summary.pictureIds.length);
    expect(queue[0].imageUrl).toMatch(/^\/api\/storage\/file\//);
  });

  it("fault injection is off unless asked for", () => {
    expect(backend.faults).toBeNull();
  });
});

describe("demo seed with another CLIP model", () => {
  it("registers the versions but activates none and seeds no tiny-clip data, saying why", async () => {
    let mismatch: DemoSeedSummary | undefined;
    const other = await createDemoBackend({
      seed: async (context) => {
        mismatch = await seedDemo(context, { clipModelId: "Xenova/clip-vit-base-patch32" });
      },
    });
    expect(mismatch!.versionIds).toHaveLength(2);
    expect(mismatch!.activeVersionId).toBeNull();
    expect(mismatch!.labelledItems).toBe(0);
    expect(mismatch!.pictureIds).toEqual([]);
    expect(mismatch!.notes[0]).toContain('trained on "tiny-clip" features but the browser uses "Xenova/clip-vit-base-patch32"');
    const { token } = await other.signIn("admin");
    const settings = (await other.call("query", "settings:get", {}, token)) as { clipModelId: string };
    expect(settings.clipModelId).toBe("Xenova/clip-vit-base-patch32");
    other.close();
  });
});
