import type { EChartsOption } from "echarts";
import { baseOption, gridTop, legendTop, type ChartBuildOptions } from "./chartOptions.ts";

/** Daily counts of one class; `counts[i]` belongs to `days[i]`. */
export interface ClassTimeSeries {
  label: string;
  counts: readonly number[];
}

export interface ActivationMarker {
  /** Epoch milliseconds, an ISO timestamp, or a UTC day `YYYY-MM-DD`. */
  time: number | string;
  label: string;
}

export interface TimeSeriesChartOptions extends ChartBuildOptions {
  /** Stacked areas (default) or stacked bars. */
  kind?: "area" | "bar";
}

/** Name of the helper series that carries the activation markers. */
export const ACTIVATION_SERIES_NAME = "activations";

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

/** The UTC day an activation falls on, as the category axis names days. */
export function activationDay(time: number | string): string {
  if (typeof time === "string" && DAY_PATTERN.test(time)) return time;
  const date = new Date(time);
  if (Number.isNaN(date.getTime())) throw new RangeError(`activation time ${JSON.stringify(time)} is neither epoch milliseconds, an ISO timestamp nor YYYY-MM-DD`);
  return date.toISOString().slice(0, 10);
}

/**
 * Classes over days, stacked, with a vertical marker line at each activation
 * or rollback. Markers ride on an empty helper series so they show even with
 * no class series and stay out of the legend; activations outside `days`
 * cannot be placed on the category axis and are left out.
 */
export function buildTimeSeriesOption(
  days: readonly string[],
  seriesByClass: readonly ClassTimeSeries[],
  activations: readonly ActivationMarker[],
  opts: TimeSeriesChartOptions = {},
): EChartsOption {
  seriesByClass.forEach((entry) => {
    if (entry.counts.length !== days.length) {
      throw new RangeError(`counts of "${entry.label}" has ${entry.counts.length} entries; expected ${days.length} (one per day)`);
    }
  });
  const daySet = new Set(days);
  const markers = activations
    .map((activation) => ({ day: activationDay(activation.time), label: activation.label }))
    .filter((marker) => daySet.has(marker.day));
  const kind = opts.kind ?? "area";
  const classSeries = seriesByClass.map((entry) =>
    kind === "area"
      ? { type: "line" as const, name: entry.label, stack: "total", areaStyle: {}, symbol: "none", emphasis: { focus: "series" as const }, data: [...entry.counts] }
      : { type: "bar" as const, name: entry.label, stack: "total", emphasis: { focus: "series" as const }, data: [...entry.counts] },
  );
  return {
    ...baseOption(opts),
    tooltip: { trigger: "axis" },
    legend: { top: legendTop(opts), itemGap: 24, type: "scroll", data: seriesByClass.map((entry) => entry.label) },
    grid: { top: gridTop(opts, true) + 16, left: 56, right: 24, bottom: 40 },
    xAxis: { type: "category", boundaryGap: kind === "bar", data: [...days] },
    yAxis: { type: "value", name: "classifications", minInterval: 1 },
    series: [
      ...classSeries,
      {
        type: "line",
        name: ACTIVATION_SERIES_NAME,
        data: [],
        silent: true,
        markLine: {
          symbol: "none",
          animation: opts.animation !== false,
          lineStyle: { type: "dashed", color: "#555" },
          label: { formatter: "{b}", position: "insideEndTop" },
          data: markers.map((marker) => ({ name: marker.label, xAxis: marker.day })),
        },
      },
    ],
  };
}
