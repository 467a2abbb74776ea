import { afterEach, describe, expect, it, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import { flushPromises } from "@vue/test-utils";
import AnalyticsPage from "../../src/pages/AnalyticsPage.vue";
import DistributionChart from "../../src/components/charts/DistributionChart.vue";
import TimeSeriesChart from "../../src/components/charts/TimeSeriesChart.vue";
import DriftChart from "../../src/components/charts/DriftChart.vue";
import ConfusionHeatmapChart from "../../src/components/charts/ConfusionHeatmapChart.vue";
import { FakeBackend, fakeId } from "./fakeBackend";
import { mountWithBackend, userWithRole } from "./mountWithBackend";

const v1 = { versionId: fakeId("modelVersions", 1), number: 1, name: "base" };
const v2 = { versionId: fakeId("modelVersions", 2), number: 2, name: "next" };

function analystBackend() {
  return new FakeBackend()
    .on(api.analytics.classDistribution, ({ versionId }) =>
      versionId === "modelVersions:2"
        ? { from: "", to: "", versionId: v2.versionId, total: 4, counts: [{ label: "dog", count: 4 }], byVersion: [{ version: v2, total: 4, counts: [{ label: "dog", count: 4 }] }] }
        : {
            from: "",
            to: "",
            versionId: null,
            total: 10,
            counts: [
              { label: "cat", count: 6 },
              { label: "dog", count: 4 },
            ],
            byVersion: [
              { version: v1, total: 6, counts: [{ label: "cat", count: 6 }] },
              { version: v2, total: 4, counts: [{ label: "dog", count: 4 }] },
            ],
          },
    )
    .on(api.analytics.timeSeries, {
      days: ["2026-11-26", "2026-11-27"],
      series: [{ label: "cat", counts: [2, 4] }],
      markers: [{ day: "2026-11-27", at: Date.UTC(2026, 10, 27, 9), action: "activateVersion", version: v2, reason: "better" }],
    })
    .on(api.analytics.confidenceHistogram, { total: 10, bins: [{ bin: 9, lower: 0.9, upper: 1, count: 10 }] })
    .on(api.analytics.predictedVsConfirmed, {
      labels: ["cat", "dog"],
      cells: [
        { predicted: "cat", confirmed: "cat", count: 3 },
        { predicted: "cat", confirmed: "dog", count: 1 },
      ],
      total: 4,
      truncated: false,
    })
    .on(api.analytics.drift, {
      jensenShannon: 0.1234,
      psi: 0.5,
      epsilon: 1e-6,
      totalA: 5,
      totalB: 5,
      perClass: [{ label: "cat", countA: 5, countB: 1, shareA: 1, shareB: 0.2, jensenShannon: 0.1, psi: 0.4 }],
    });
}

const chartStubs = { DistributionChart: true, TimeSeriesChart: true, ConfidenceHistogramChart: true, ConfusionHeatmapChart: true, DriftChart: true };

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe("AnalyticsPage", () => {
  it("queries the last 30 UTC days and feeds every chart", async () => {
    vi.useFakeTimers({ toFake: ["Date"], now: Date.UTC(2026, 10, 28, 7, 0) });
    const backend = analystBackend();
    const { wrapper } = await mountWithBackend(AnalyticsPage, backend, { user: userWithRole("analyst"), path: "/analytics", stubs: chartStubs });

    expect(backend.activeSubscriptions(api.analytics.timeSeries)[0].args).toEqual({ from: "2026-10-30", to: "2026-11-28", versionId: undefined });
    expect(backend.activeSubscriptions(api.analytics.drift)[0].args).toEqual({
      a: { from: "2026-11-15", to: "2026-11-21" },
      b: { from: "2026-11-22", to: "2026-11-28" },
      versionId: undefined,
    });
    expect(wrapper.findComponent(DistributionChart).props()).toMatchObject({
      classes: ["cat", "dog"],
      series: [
        { name: 'v1 “base”', counts: [6, 0] },
        { name: 'v2 “next”', counts: [0, 4] },
      ],
    });
    expect(wrapper.findComponent(TimeSeriesChart).props("markers")).toEqual([{ time: Date.UTC(2026, 10, 27, 9), label: 'activated v2 “next”' }]);
    expect(wrapper.findComponent(ConfusionHeatmapChart).props("matrix")).toEqual([
      [3, 0],
      [1, 0],
    ]);
    expect(wrapper.findComponent(DriftChart).props("measure")).toBe("jensenShannon");
    expect(wrapper.find('[data-testid="drift-summary"]').text()).toContain("Jensen–Shannon divergence 0.1234 · PSI 0.5000");
  });

  it("filters by version and date", async () => {
    const backend = analystBackend();
    const { wrapper } = await mountWithBackend(AnalyticsPage, backend, { user: userWithRole("analyst"), path: "/analytics", stubs: chartStubs });
    const select = wrapper.find('form[aria-label="Filters"] select');
    expect(select.findAll("option").map((option) => option.text())).toEqual(["all versions", 'v1 “base”', 'v2 “next”']);
    await select.setValue("modelVersions:2");
    await wrapper.find('form[aria-label="Filters"] input[type="date"]').setValue("2026-11-01");
    await flushPromises();
    expect(backend.activeSubscriptions(api.analytics.confidenceHistogram)[0].args.versionId).toBe("modelVersions:2");
    expect(backend.activeSubscriptions(api.analytics.confidenceHistogram)[0].args.from).toBe("2026-11-01");
    expect(wrapper.find('[data-testid="total-classifications"]').text()).toContain("4 classifications");
    expect(wrapper.find('[data-testid="total-classifications"]').text()).toContain('(v2 “next”)');
  });

  it("exports what is shown as CSV", async () => {
    const backend = analystBackend();
    const { wrapper } = await mountWithBackend(AnalyticsPage, backend, { user: userWithRole("analyst"), path: "/analytics", stubs: chartStubs });
    const blobs: Blob[] = [];
    Object.assign(URL, { createObjectURL: (blob: Blob) => (blobs.push(blob), "blob:csv"), revokeObjectURL: () => undefined });
    const click = vi.spyOn(HTMLAnchorElement.prototype, "click").mockImplementation(function (this: HTMLAnchorElement) {
      expect(this.download).toMatch(/^analytics-\d{4}-\d{2}-\d{2}-to-\d{4}-\d{2}-\d{2}\.csv$/);
    });
    await wrapper.findAll("button").find((button) => button.text() === "Export CSV")!.trigger("click");
    expect(click).toHaveBeenCalledOnce();
    const text = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.readAsText(blobs[0]);
    });
    const lines = text.trim().split("\r\n");
    expect(lines[0]).toBe("chart,series,category,value");
    expect(lines).toContain("class distribution,all shown versions,cat,6");
    expect(lines).toContain("time series,cat,2026-11-27,4");
    expect(lines).toContain("activation,activateVersion,2026-11-27,v2 “next”");
    expect(lines).toContain("predicted vs confirmed,predicted cat,confirmed dog,1");
    expect(lines).toContain("drift,PSI term,cat,0.4");
  });
});
