/**
 * Server-side rendering of the dashboard's chart options, for the CLI:
 * ECharts' SSR SVG renderer, and sharp to rasterise that SVG into a PNG.
 */
import * as echarts from "echarts";
import sharp from "sharp";

export interface ChartSize {
  width: number;
  height: number;
}

export const DEFAULT_CHART_SIZE: ChartSize = { width: 800, height: 480 };

function checkSize({ width, height }: ChartSize): void {
  for (const [name, value] of [["width", width], ["height", height]] as const) {
    if (!Number.isInteger(value) || value < 50 || value > 8000) throw new RangeError(`chart ${name} must be a whole number of pixels in [50, 8000], got ${value}`);
  }
}

/** The option as a standalone SVG document. Animation is forced off: it would keep timers alive. */
export function renderChartSvg(option: echarts.EChartsOption, size: ChartSize = DEFAULT_CHART_SIZE): string {
  checkSize(size);
  const chart = echarts.init(null, null, { renderer: "svg", ssr: true, width: size.width, height: size.height });
  try {
    chart.setOption({ ...option, animation: false });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

/** The option as a PNG on a white background (SVG renders with a transparent one). */
export async function renderChartPng(option: echarts.EChartsOption, size: ChartSize = DEFAULT_CHART_SIZE): Promise<Buffer> {
  const svg = renderChartSvg({ backgroundColor: "#ffffff", ...option }, size);
  return sharp(Buffer.from(svg)).png().toBuffer();
}
