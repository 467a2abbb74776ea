import type { EChartsOption } from "echarts";

/** Options every chart builder accepts. */
export interface ChartBuildOptions {
  /** `false` for server-side rendering: an animated SSR chart keeps the process alive. */
  animation?: boolean;
  title?: string;
}

/** The parts every option shares: animation switch, title, and room for it. */
export function baseOption(opts: ChartBuildOptions): EChartsOption {
  return {
    ...(opts.animation === false ? { animation: false } : {}),
    ...(opts.title ? { title: { text: opts.title, left: "center" } } : {}),
  };
}

/** Grid top margin: leaves room for a title and a legend when present. */
export function gridTop(opts: ChartBuildOptions, hasLegend: boolean): number {
  return 36 + (opts.title ? 36 : 0) + (hasLegend ? 28 : 0);
}

export function legendTop(opts: ChartBuildOptions): number {
  return opts.title ? 40 : 4;
}

export function requireLength(values: ArrayLike<unknown>, expected: number, what: string): void {
  if (values.length !== expected) throw new RangeError(`${what} has ${values.length} entries; expected ${expected} (one per class)`);
}
