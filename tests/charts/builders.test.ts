import { describe, expect, it } from "vitest";
import type { BarSeriesOption, HeatmapSeriesOption, LineSeriesOption } from "echarts";
import { buildDistributionOption } from "../../src/charts/distribution.ts";
import { ACTIVATION_SERIES_NAME, activationDay, buildTimeSeriesOption } from "../../src/charts/timeSeries.ts";
import { buildConfidenceHistogramOption } from "../../src/charts/confidenceHistogram.ts";
import { buildConfusionHeatmapOption } from "../../src/charts/confusionHeatmap.ts";
import { buildDriftOption } from "../../src/charts/drift.ts";
import { buildReliabilityOption } from "../../src/charts/reliability.ts";
import { distributionDrift } from "../../convex/lib/drift.ts";
import { evaluateClassifier } from "../../convex/lib/metrics.ts";

type AnySeries = BarSeriesOption | LineSeriesOption | HeatmapSeriesOption;

function seriesOf(option: { series?: unknown }): AnySeries[] {
  return option.series as AnySeries[];
}

const classes = ["cat", "dog", "bird"];

describe("buildDistributionOption", () => {
  it("gives one bar series over the classes for a count vector", () => {
    const option = buildDistributionOption([3, 0, 5], classes);
    expect(option.xAxis).toMatchObject({ type: "category", data: classes });
    expect(seriesOf(option)).toEqual([expect.objectContaining({ type: "bar", data: [3, 0, 5] })]);
    expect(option.legend).toBeUndefined();
    expect(option.animation).toBeUndefined();
  });

  it("groups bars per named series, with a legend", () => {
    const option = buildDistributionOption(
      [
        { name: "v1", counts: [1, 2, 3] },
        { name: "v2", counts: [3, 2, 1] },
      ],
      classes,
      { animation: false, title: "Predictions" },
    );
    expect(seriesOf(option).map((series) => [series.name, series.data])).toEqual([
      ["v1", [1, 2, 3]],
      ["v2", [3, 2, 1]],
    ]);
    expect(option.legend).toMatchObject({ data: ["v1", "v2"] });
    expect(option.animation).toBe(false);
    expect(option.title).toMatchObject({ text: "Predictions" });
  });

  it("draws an empty chart for no series", () => {
    expect(seriesOf(buildDistributionOption([], classes))).toEqual([]);
  });

  it("rejects counts that do not match the classes", () => {
    expect(() => buildDistributionOption([{ name: "v1", counts: [1, 2] }], classes)).toThrow('counts of "v1" has 2 entries; expected 3 (one per class)');
  });
});

describe("buildTimeSeriesOption", () => {
  const days = ["2026-11-01", "2026-11-02", "2026-11-03"];
  const series = [
    { label: "cat", counts: [1, 2, 3] },
    { label: "dog", counts: [0, 4, 1] },
  ];

  it("stacks one area per class and marks each activation on its UTC day", () => {
    const activations = [
      { time: Date.UTC(2026, 10, 2, 23, 30), label: "v2 activated" },
      { time: "2026-11-03", label: "rollback to v1" },
      { time: "2026-10-15T12:00:00Z", label: "before the range" },
    ];
    const option = buildTimeSeriesOption(days, series, activations);
    const all = seriesOf(option);
    expect(all.slice(0, 2)).toEqual([
      expect.objectContaining({ type: "line", name: "cat", stack: "total", areaStyle: {}, data: [1, 2, 3] }),
      expect.objectContaining({ type: "line", name: "dog", stack: "total", data: [0, 4, 1] }),
    ]);
    const markerSeries = all[2] as LineSeriesOption;
    expect(markerSeries.name).toBe(ACTIVATION_SERIES_NAME);
    expect(markerSeries.markLine?.data).toEqual([
      { name: "v2 activated", xAxis: "2026-11-02" },
      { name: "rollback to v1", xAxis: "2026-11-03" },
    ]);
    expect(option.legend).toMatchObject({ data: ["cat", "dog"] });
  });

  it("stacks bars when asked and keeps markers without any class series", () => {
    expect(seriesOf(buildTimeSeriesOption(days, series, [], { kind: "bar" }))[0]).toMatchObject({ type: "bar", stack: "total" });
    const empty = seriesOf(buildTimeSeriesOption(days, [], [{ time: "2026-11-01", label: "v1" }], { animation: false }));
    expect(empty).toHaveLength(1);
    expect((empty[0] as LineSeriesOption).markLine).toMatchObject({ animation: false, data: [{ name: "v1", xAxis: "2026-11-01" }] });
  });

  it("rejects series of the wrong length and unreadable times", () => {
    expect(() => buildTimeSeriesOption(days, [{ label: "cat", counts: [1] }], [])).toThrow('counts of "cat" has 1 entries; expected 3 (one per day)');
    expect(() => activationDay("yesterday")).toThrow('activation time "yesterday" is neither epoch milliseconds, an ISO timestamp nor YYYY-MM-DD');
  });
});

describe("buildConfidenceHistogramOption", () => {
  it("labels each bin by its range and plots its count", () => {
    const option = buildConfidenceHistogramOption([
      { lower: 0, upper: 0.1, count: 2 },
      { lower: 0.9, upper: 1, count: 7 },
    ]);
    expect(option.xAxis).toMatchObject({ data: ["0.0–0.1", "0.9–1.0"] });
    expect(seriesOf(option)).toEqual([expect.objectContaining({ type: "bar", data: [2, 7] })]);
  });
});

describe("buildConfusionHeatmapOption", () => {
  const matrix = [
    [5, 1, 0],
    [2, 3, 0],
    [0, 0, 4],
  ];

  it("turns the matrix into [column, row, count] cells on named axes", () => {
    const option = buildConfusionHeatmapOption(matrix, classes, { xName: "predicted", yName: "confirmed" });
    const [heatmap] = seriesOf(option);
    expect(heatmap.type).toBe("heatmap");
    expect(heatmap.data).toHaveLength(9);
    expect(heatmap.data).toContainEqual([0, 1, 2]);
    expect(heatmap.data).toContainEqual([1, 0, 1]);
    expect(option.xAxis).toMatchObject({ name: "predicted", data: classes });
    expect(option.yAxis).toMatchObject({ name: "confirmed", inverse: true, data: classes });
    expect(option.visualMap).toMatchObject({ min: 0, max: 5 });
  });

  it("keeps a usable colour scale for an all-zero matrix", () => {
    expect(buildConfusionHeatmapOption([[0]], ["cat"]).visualMap).toMatchObject({ max: 1 });
  });

  it("rejects a matrix that does not match the classes", () => {
    expect(() => buildConfusionHeatmapOption([[1, 2]], classes)).toThrow("matrix is 1×2; expected 3×3");
  });
});

describe("buildDriftOption", () => {
  it("plots both windows' shares and each class's divergence term", () => {
    const report = distributionDrift(["cat", "dog"], [1, 1], [2, 0]);
    const option = buildDriftOption(report.perClass, { windowNames: ["October", "November"] });
    const [shareA, shareB, terms] = seriesOf(option);
    expect(shareA).toMatchObject({ type: "bar", name: "October", data: [0.5, 0.5] });
    expect(shareB).toMatchObject({ type: "bar", name: "November", data: [1, 0] });
    expect(terms).toMatchObject({ type: "line", name: "JS contribution", yAxisIndex: 1 });
    expect(terms.data).toEqual(report.perClass.map((entry) => entry.jensenShannon));
    expect(seriesOf(buildDriftOption(report.perClass, { measure: "psi" }))[2].data).toEqual(report.perClass.map((entry) => entry.psi));
  });
});

describe("buildReliabilityOption", () => {
  it("plots accuracy per bin, mean confidence, and the diagonal, leaving empty bins as gaps", () => {
    const report = evaluateClassifier({
      trueLabels: [0, 0],
      predictions: [
        { labelIndex: 0, confidence: 0.95 },
        { labelIndex: 1, confidence: 0.55 },
      ],
      classCount: 2,
    });
    const [accuracy, confidence, ideal] = seriesOf(buildReliabilityOption(report.reliability));
    const accuracyValues = (accuracy.data as Array<{ value: number | null }>).map((point) => point.value);
    expect(accuracyValues[9]).toBe(1);
    expect(accuracyValues[5]).toBe(0);
    expect(accuracyValues[0]).toBeNull();
    expect(confidence.data?.[9]).toBe(0.95);
    expect(confidence.data?.[1]).toBeNull();
    expect(ideal.data?.[0]).toBeCloseTo(0.05, 12);
    expect(ideal.data?.[9]).toBeCloseTo(0.95, 12);
  });
});
