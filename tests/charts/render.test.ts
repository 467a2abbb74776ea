import { describe, expect, it } from "vitest";
import { renderChartPng, renderChartSvg } from "../../tools/chartRender.ts";
import { buildDistributionOption } from "../../src/charts/distribution.ts";
import { buildTimeSeriesOption } from "../../src/charts/timeSeries.ts";

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe("chart rendering", () => {
  const option = buildDistributionOption(
    [
      { name: "version-one", counts: [4, 1] },
      { name: "version-two", counts: [2, 3] },
    ],
    ["zebra", "yak"],
    { animation: false },
  );

  it("renders an SVG document with the series and class names at the requested size", () => {
    const svg = renderChartSvg(option, { width: 640, height: 360 });
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true);
    expect(svg).toContain('width="640"');
    expect(svg).toContain('height="360"');
    for (const text of ["version-one", "version-two", "zebra", "yak"]) expect(svg).toContain(text);
    expect(svg.match(/<path/g)?.length ?? 0).toBeGreaterThan(4);
  });

  it("draws activation markers with their labels", () => {
    const svg = renderChartSvg(buildTimeSeriesOption(["2026-11-01", "2026-11-02"], [{ label: "cat", counts: [1, 2] }], [{ time: "2026-11-02", label: "v7 activated" }]));
    expect(svg).toContain("v7 activated");
  });

  it("renders a PNG", async () => {
    const png = await renderChartPng(option, { width: 320, height: 200 });
    expect([...png.subarray(0, 8)]).toEqual(PNG_MAGIC);
    // IHDR width and height, big-endian at bytes 16–23.
    expect(png.readUInt32BE(16)).toBe(320);
    expect(png.readUInt32BE(20)).toBe(200);
  });

  it("rejects unusable sizes", () => {
    expect(() => renderChartSvg(option, { width: 0, height: 100 })).toThrow("chart width must be a whole number of pixels in [50, 8000], got 0");
  });
});
