import type { EChartsOption } from "echarts";
import { baseOption, gridTop, type ChartBuildOptions } from "./chartOptions.ts";

export interface ConfusionHeatmapOptions extends ChartBuildOptions {
  /** Name of the column axis (matrix[row][column]); "predicted" by default. */
  xName?: string;
  /** Name of the row axis; "true" by default ("confirmed" for labeller verdicts). */
  yName?: string;
}

/**
 * A class × class count matrix as a heatmap, rows on the y axis (first class
 * at the top, as a table reads) and columns on the x axis. Serves both a
 * version's confusion matrix and predicted vs labeller-confirmed classes.
 */
export function buildConfusionHeatmapOption(
  matrix: readonly (readonly number[])[],
  classes: readonly string[],
  opts: ConfusionHeatmapOptions = {},
): EChartsOption {
  if (matrix.length !== classes.length || matrix.some((row) => row.length !== classes.length)) {
    const shape = `${matrix.length}×${matrix.map((row) => row.length).join("/") || 0}`;
    throw new RangeError(`matrix is ${shape}; expected ${classes.length}×${classes.length} (one row and column per class)`);
  }
  const cells = matrix.flatMap((row, rowIndex) => row.map((count, columnIndex) => [columnIndex, rowIndex, count]));
  const largest = Math.max(1, ...cells.map((cell) => cell[2]));
  const xName = opts.xName ?? "predicted";
  const yName = opts.yName ?? "true";
  return {
    ...baseOption(opts),
    tooltip: { position: "top" },
    grid: { top: gridTop(opts, false), left: 96, right: 72, bottom: 80 },
    xAxis: { type: "category", name: xName, nameLocation: "middle", nameGap: 56, data: [...classes], splitArea: { show: true }, axisLabel: { interval: 0, rotate: 30 } },
    yAxis: { type: "category", name: yName, nameLocation: "middle", nameGap: 80, inverse: true, data: [...classes], splitArea: { show: true } },
    visualMap: { min: 0, max: largest, calculable: true, orient: "vertical", right: 0, top: "middle", itemHeight: 120 },
    series: [{ type: "heatmap", name: `${yName} vs ${xName}`, data: cells, label: { show: true }, emphasis: { itemStyle: { shadowBlur: 6 } } }],
  };
}
