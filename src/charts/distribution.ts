import type { EChartsOption } from "echarts";
import { baseOption, gridTop, legendTop, requireLength, type ChartBuildOptions } from "./chartOptions.ts";

/** One bar per class for each series, e.g. one series per model version. */
export interface DistributionSeries {
  name: string;
  counts: readonly number[];
}

export interface DistributionChartOptions extends ChartBuildOptions {
  /** Axis name for the counts; "classifications" by default. */
  valueName?: string;
}

/**
 * Class distribution as bars. A plain count vector gives one series; several
 * named series give grouped bars (one colour per series, e.g. per version).
 */
export function buildDistributionOption(
  counts: readonly number[] | readonly DistributionSeries[],
  classes: readonly string[],
  opts: DistributionChartOptions = {},
): EChartsOption {
  // An empty list means "no series yet" (e.g. no version chosen): an empty chart, not an error.
  const series: DistributionSeries[] = counts.length === 0 ? [] : isSeriesList(counts) ? [...counts] : [{ name: opts.valueName ?? "classifications", counts }];
  series.forEach((entry) => requireLength(entry.counts, classes.length, `counts of "${entry.name}"`));
  const hasLegend = series.length > 1;
  return {
    ...baseOption(opts),
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    ...(hasLegend ? { legend: { top: legendTop(opts), itemGap: 24, data: series.map((entry) => entry.name) } } : {}),
    grid: { top: gridTop(opts, hasLegend), left: 56, right: 24, bottom: 64 },
    xAxis: { type: "category", data: [...classes], axisLabel: { interval: 0, rotate: classes.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", name: opts.valueName ?? "classifications", minInterval: 1 },
    series: series.map((entry) => ({ type: "bar", name: entry.name, data: [...entry.counts] })),
  };
}

function isSeriesList(counts: readonly number[] | readonly DistributionSeries[]): counts is readonly DistributionSeries[] {
  return typeof counts[0] === "object";
}
