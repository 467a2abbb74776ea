import type { EChartsOption } from "echarts";
import type { ClassDrift } from "../../convex/lib/drift.ts";
import { baseOption, gridTop, legendTop, type ChartBuildOptions } from "./chartOptions.ts";

export interface DriftChartOptions extends ChartBuildOptions {
  /** Legend names of the two windows; "window A" / "window B" by default. */
  windowNames?: [string, string];
  /** Which per-class term to plot on the right axis; Jensen–Shannon by default. */
  measure?: "jensenShannon" | "psi";
}

const MEASURE_NAMES = { jensenShannon: "JS contribution", psi: "PSI contribution" } as const;

/**
 * Per-class drift between two windows: each class's share in both windows
 * as grouped bars (left axis), and its term of the divergence as a line
 * (right axis), so the classes that moved stand out.
 */
export function buildDriftOption(perClass: readonly ClassDrift[], opts: DriftChartOptions = {}): EChartsOption {
  const [nameA, nameB] = opts.windowNames ?? ["window A", "window B"];
  const measure = opts.measure ?? "jensenShannon";
  const measureName = MEASURE_NAMES[measure];
  const legend = [nameA, nameB, measureName];
  return {
    ...baseOption(opts),
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { top: legendTop(opts), itemGap: 24, data: legend },
    grid: { top: gridTop(opts, true), left: 56, right: 64, bottom: 64 },
    xAxis: { type: "category", data: perClass.map((entry) => entry.label), axisLabel: { interval: 0, rotate: perClass.length > 6 ? 30 : 0 } },
    yAxis: [
      { type: "value", name: "share", min: 0, axisLabel: { formatter: (value: number) => `${Math.round(value * 100)}%` } },
      { type: "value", name: measureName, min: 0, splitLine: { show: false } },
    ],
    series: [
      { type: "bar", name: nameA, data: perClass.map((entry) => entry.shareA) },
      { type: "bar", name: nameB, data: perClass.map((entry) => entry.shareB) },
      { type: "line", name: measureName, yAxisIndex: 1, data: perClass.map((entry) => entry[measure]) },
    ],
  };
}
