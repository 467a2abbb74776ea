import type { EChartsOption } from "echarts";
import { baseOption, gridTop, type ChartBuildOptions } from "./chartOptions.ts";

export interface ConfidenceBin {
  lower: number;
  upper: number;
  count: number;
}

export function binLabel(bin: { lower: number; upper: number }): string {
  return `${bin.lower.toFixed(1)}–${bin.upper.toFixed(1)}`;
}

/** How many classifications fell into each top-label confidence bin. */
export function buildConfidenceHistogramOption(bins: readonly ConfidenceBin[], opts: ChartBuildOptions = {}): EChartsOption {
  return {
    ...baseOption(opts),
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    grid: { top: gridTop(opts, false), left: 56, right: 24, bottom: 48 },
    xAxis: { type: "category", name: "confidence", nameLocation: "middle", nameGap: 28, data: bins.map(binLabel) },
    yAxis: { type: "value", name: "classifications", minInterval: 1 },
    series: [{ type: "bar", name: "classifications", barCategoryGap: "4%", data: bins.map((bin) => bin.count) }],
  };
}
