import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { resizeBicubic, type RgbPixels } from "../../src/clip/clipResize.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";

const pilDir = join(import.meta.dirname, "..", "fixtures", "pil");

async function readRgb(path: string, crop?: { left: number; top: number; width: number; height: number }): Promise<RgbPixels> {
  const image = crop ? sharp(path).extract(crop) : sharp(path);
  const { data, info } = await image.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height, channels: info.channels };
}

function maxDifference(a: RgbPixels, b: RgbPixels): number {
  expect([a.width, a.height, a.channels]).toEqual([b.width, b.height, b.channels]);
  let worst = 0;
  for (let i = 0; i < a.data.length; i++) worst = Math.max(worst, Math.abs(a.data[i] - b.data[i]));
  return worst;
}

describe("resizeBicubic", () => {
  // References made once with Pillow 9.4 (Image.resize(size, Image.BICUBIC)), which
  // works in fixed point, hence ±1.
  it("downscales like Pillow's antialiased bicubic, within one level", async () => {
    const source = await readRgb(join(demoImagesDir, "sunset", "sunset-1.png"));
    const expected = await readRgb(join(pilDir, "sunset-1-bicubic-60x45.png"));
    expect(maxDifference(resizeBicubic(source, 60, 45), expected)).toBeLessThanOrEqual(1);
  });

  it("upscales like Pillow's bicubic, within one level", async () => {
    const source = await readRgb(join(demoImagesDir, "sunset", "sunset-1.png"), { left: 50, top: 40, width: 40, height: 30 });
    const expected = await readRgb(join(pilDir, "sunset-1-crop-bicubic-100x75.png"));
    expect(maxDifference(resizeBicubic(source, 100, 75), expected)).toBeLessThanOrEqual(1);
  });

  it("returns the same pixels at the same size and keeps a flat colour flat", () => {
    const flat: RgbPixels = { data: new Uint8Array(30 * 20 * 4).fill(77), width: 30, height: 20, channels: 4 };
    expect(resizeBicubic(flat, 30, 20)).toBe(flat);
    const resized = resizeBicubic(flat, 7, 11);
    expect([resized.width, resized.height, resized.channels]).toEqual([7, 11, 4]);
    expect(resized.data.every((value) => value === 77)).toBe(true);
  });

  it("rejects impossible sizes and mismatched data", () => {
    const tiny: RgbPixels = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 };
    expect(() => resizeBicubic(tiny, 0, 3)).toThrow("resize target must be whole pixels of at least 1×1, found 0×3");
    expect(() => resizeBicubic({ ...tiny, width: 3 }, 1, 1)).toThrow("image data holds 12 values but 3×2×3 needs 18");
  });
});
