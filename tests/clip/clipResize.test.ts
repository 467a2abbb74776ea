import { join } from "node:path";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { resizeBicubic, type RgbPixels } from "../../src/clip/clipResize.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";
import { resizeBicubic as referenceResize } from "./clipResizeReference.ts";

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

/** Deterministic noise: every pixel differs, so any changed tap or rounding shows. */
function noiseImage(width: number, height: number, channels: number, seed: number): RgbPixels {
  const data = new Uint8Array(width * height * channels);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return { data, width, height, channels };
}

function cropOf(image: RgbPixels, left: number, top: number, width: number, height: number): RgbPixels {
  const data = new Uint8Array(width * height * image.channels);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * image.width + left) * image.channels;
    data.set(image.data.subarray(from, from + width * image.channels), y * width * image.channels);
  }
  return { data, width, height, channels: image.channels };
}

function withoutAlpha(image: RgbPixels): RgbPixels {
  const data = new Uint8Array(image.width * image.height * 3);
  for (let i = 0, j = 0; i < image.data.length; i += 4) {
    data[j++] = image.data[i];
    data[j++] = image.data[i + 1];
    data[j++] = image.data[i + 2];
  }
  return { data, width: image.width, height: image.height, channels: 3 };
}

function expectSameBytes(actual: RgbPixels, expected: RgbPixels, label: string): void {
  expect([actual.width, actual.height, actual.channels], label).toEqual([expected.width, expected.height, expected.channels]);
  const first = actual.data.findIndex((value, i) => value !== expected.data[i]);
  expect(first, `${label}: first differing byte`).toBe(-1);
}

// The sizes cover down- and upscaling on each axis, one axis unchanged,
// 4:3 and 3:4 photos brought to CLIP's 224 shortest edge, and a large
// downscale factor (wide filter).
const sizeCases: Array<[number, number, number, number]> = [
  [640, 480, 299, 224],
  [480, 640, 224, 299],
  [1024, 768, 299, 224],
  [1203, 901, 37, 29],
  [50, 40, 123, 77],
  [61, 47, 61, 20],
  [61, 47, 150, 47],
  [9, 7, 3, 2],
  [1, 1, 4, 3],
];

describe("resizeBicubic gives the reference implementation's bytes", () => {
  it.each(sizeCases)("%i×%i to %i×%i, for 1, 3 and 4 channels", (width, height, outWidth, outHeight) => {
    for (const channels of [1, 3, 4]) {
      const source = noiseImage(width, height, channels, width * 31 + height * 7 + channels);
      expectSameBytes(resizeBicubic(source, outWidth, outHeight), referenceResize(source, outWidth, outHeight), `${channels} channels`);
    }
  });

  it.each(sizeCases)("%i×%i to %i×%i, a centre crop and corner regions, with and without dropping alpha", (width, height, outWidth, outHeight) => {
    const rgba = noiseImage(width, height, 4, width + height);
    const rgb = withoutAlpha(rgba);
    const full = referenceResize(rgb, outWidth, outHeight);
    const side = Math.min(outWidth, outHeight);
    const regions = [
      { left: Math.floor((outWidth - side) / 2), top: Math.floor((outHeight - side) / 2), width: side, height: side },
      { left: 0, top: 0, width: 1, height: 1 },
      { left: outWidth - 1, top: outHeight - 1, width: 1, height: 1 },
      { left: 0, top: outHeight - Math.ceil(outHeight / 3), width: Math.ceil(outWidth / 2), height: Math.ceil(outHeight / 3) },
    ];
    for (const region of regions) {
      const expected = cropOf(full, region.left, region.top, region.width, region.height);
      const label = `${region.width}×${region.height} at (${region.left}, ${region.top})`;
      expectSameBytes(resizeBicubic(rgb, outWidth, outHeight, { region }), expected, label);
      expectSameBytes(resizeBicubic(rgba, outWidth, outHeight, { region, dropAlpha: true }), expected, `${label}, RGBA source`);
    }
    expectSameBytes(resizeBicubic(rgba, outWidth, outHeight, { dropAlpha: true }), full, "whole image, RGBA source");
  });

  it("gives the same bytes again for a size whose tap tables are cached", () => {
    const source = noiseImage(200, 150, 3, 5);
    const first = resizeBicubic(source, 90, 70);
    const second = resizeBicubic(noiseImage(200, 150, 3, 5), 90, 70);
    expectSameBytes(second, first, "second call");
  });

  it("rejects regions outside the output and dropAlpha without an alpha channel", () => {
    const tiny: RgbPixels = { data: new Uint8Array(48), width: 4, height: 4, channels: 3 };
    expect(() => resizeBicubic(tiny, 3, 3, { region: { left: 1, top: 0, width: 3, height: 3 } })).toThrow("resize region must be whole pixels inside the 3×3 output, found 3×3 at (1, 0)");
    expect(() => resizeBicubic(tiny, 3, 3, { region: { left: 0, top: 0, width: 1.5, height: 1 } })).toThrow("resize region must be whole pixels inside the 3×3 output, found 1.5×1 at (0, 0)");
    expect(() => resizeBicubic(tiny, 3, 3, { dropAlpha: true })).toThrow("dropAlpha needs a 4-channel (RGBA) image, found 3 channels");
  });
});
