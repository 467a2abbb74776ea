import type { EChartsOption } from "echarts";
import type { ReliabilityBin } from "../../convex/lib/metrics.ts";
import { baseOption, gridTop, legendTop, type ChartBuildOptions } from "./chartOptions.ts";
import { binLabel } from "./confidenceHistogram.ts";

export const RELIABILITY_SERIES_NAMES = { accuracy: "accuracy", confidence: "mean confidence", ideal: "perfect calibration" } as const;

/**
 * Reliability diagram: per confidence bin, the observed accuracy (bars)
 * against the mean confidence (line); a calibrated model's bars meet the
 * dashed diagonal. Empty bins plot as gaps, not zeros.
 */
export function buildReliabilityOption(bins: readonly ReliabilityBin[], opts: ChartBuildOptions = {}): EChartsOption {
  const names = RELIABILITY_SERIES_NAMES;
  return {
    ...baseOption(opts),
    tooltip: { trigger: "axis" },
    legend: { top: legendTop(opts), itemGap: 24, data: [names.accuracy, names.confidence, names.ideal] },
    grid: { top: gridTop(opts, true), left: 56, right: 24, bottom: 48 },
    xAxis: { type: "category", name: "confidence", nameLocation: "middle", nameGap: 28, data: bins.map(binLabel) },
    yAxis: { type: "value", min: 0, max: 1 },
    series: [
      { type: "bar", name: names.accuracy, data: bins.map((bin) => ({ value: bin.accuracy, name: `${bin.count} items` })) },
      { type: "line", name: names.confidence, connectNulls: false, data: bins.map((bin) => bin.meanConfidence) },
      { type: "line", name: names.ideal, symbol: "none", lineStyle: { type: "dashed" }, data: bins.map((bin) => (bin.lower + bin.upper) / 2) },
    ],
  };
}
