/**
 * Bicubic image resizing in plain TypeScript, following Pillow's
 * `Image.resize(size, BICUBIC)`, which CLIP's Python preprocessing uses.
 *
 * transformers.js resizes with a canvas in the browser and with sharp's
 * affine bicubic (no antialiasing) in Node, so the same image gave features
 * about 3e-2 apart. Resizing here, in both, makes Node and the browser feed
 * the model the same pixels, and downscaling large photos is antialiased as
 * Pillow does it (the filter widens with the scale factor).
 *
 * The output is defined by the arithmetic of the first version of this file
 * (float64 weights normalised to sum 1, each sum accumulated tap by tap from
 * 0, horizontal pass first, rounded to 8 bits between passes);
 * tests/clip/clipResizeReference.ts keeps that version, and the tests check
 * that every faster path here gives the same bytes.
 */

export interface RgbPixels {
  /** Interleaved 8-bit channels, row-major. */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
}

/** A rectangle of the resized image, in output pixels. */
export interface PixelRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** Pillow's bicubic kernel (a = -0.5), support 2. */
function bicubic(x: number): number {
  const a = -0.5;
  const t = Math.abs(x);
  if (t < 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return (((t - 5) * t + 8) * t - 4) * a;
  return 0;
}

interface Taps {
  /** First input index per output index. */
  start: Int32Array;
  /** Number of taps per output index. */
  count: Int32Array;
  /** Normalised weights, `maxTaps` per output index. */
  weights: Float64Array;
  maxTaps: number;
}

/** Pillow's precompute_coeffs: a window of input samples and weights per output sample. */
function computeTaps(inSize: number, outSize: number): Taps {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Float64Array(outSize * maxTaps);
  for (let out = 0; out < outSize; out++) {
    const center = (out + 0.5) * scale;
    const first = Math.max(Math.trunc(center - support + 0.5), 0);
    const last = Math.min(Math.trunc(center + support + 0.5), inSize);
    let total = 0;
    for (let k = 0; k < last - first; k++) {
      const weight = bicubic((k + first - center + 0.5) / filterScale);
      weights[out * maxTaps + k] = weight;
      total += weight;
    }
    if (total !== 0) for (let k = 0; k < last - first; k++) weights[out * maxTaps + k] /= total;
    start[out] = first;
    count[out] = last - first;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Photos from one camera or one upload batch share sizes, so the tap tables
 * (a few hundred KB for a 12-megapixel photo) are worth keeping; a handful
 * covers both axes of a few sizes.
 */
const tapsCache = new Map<string, Taps>();
const TAPS_CACHE_SIZE = 8;

function tapsFor(inSize: number, outSize: number): Taps {
  const key = `${inSize}:${outSize}`;
  let taps = tapsCache.get(key);
  if (!taps) {
    taps = computeTaps(inSize, outSize);
    if (tapsCache.size >= TAPS_CACHE_SIZE) tapsCache.delete(tapsCache.keys().next().value!);
    tapsCache.set(key, taps);
  }
  return taps;
}

/** Rounds to 8 bits between passes, as Pillow does. */
function toByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function bytesOf(data: Uint8Array | Uint8ClampedArray): Uint8Array {
  // One array type keeps the hot loops monomorphic.
  return data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/**
 * The hot loop of the resize (a 12-megapixel photo is ~150M multiply-adds):
 * resamples columns [left, left + width) of input rows [top, top + height),
 * one pass over the taps per pixel for all channels.
 */
function resizeRows(input: Uint8Array, inWidth: number, inChannels: number, channels: number, taps: Taps, left: number, width: number, top: number, height: number): Uint8Array {
  const { start, count, weights, maxTaps } = taps;
  const data = new Uint8Array(width * height * channels);
  let target = 0;
  if (channels === 3 && inChannels === 4 && LITTLE_ENDIAN && input.byteOffset % 4 === 0) {
    // RGBA read one 32-bit word per pixel (little-endian: red in the low
    // byte) instead of three byte loads; alpha is dropped as RawImage.rgb() does.
    const words = new Uint32Array(input.buffer, input.byteOffset, input.length >> 2);
    for (let y = top; y < top + height; y++) {
      const row = y * inWidth;
      for (let x = left; x < left + width; x++) {
        const end = x * maxTaps + count[x];
        let pixel = row + start[x];
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = x * maxTaps; k < end; k++, pixel++) {
          const weight = weights[k];
          const word = words[pixel];
          r += weight * (word & 255);
          g += weight * ((word >> 8) & 255);
          b += weight * ((word >> 16) & 255);
        }
        data[target++] = toByte(r);
        data[target++] = toByte(g);
        data[target++] = toByte(b);
      }
    }
    return data;
  }
  if (channels === 3) {
    // RGBA input with `channels` 3 skips the alpha channel, as RawImage.rgb() drops it.
    const step = inChannels;
    for (let y = top; y < top + height; y++) {
      const row = y * inWidth * step;
      for (let x = left; x < left + width; x++) {
        const end = x * maxTaps + count[x];
        let pixel = row + start[x] * step;
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = x * maxTaps; k < end; k++, pixel += step) {
          const weight = weights[k];
          r += weight * input[pixel];
          g += weight * input[pixel + 1];
          b += weight * input[pixel + 2];
        }
        data[target++] = toByte(r);
        data[target++] = toByte(g);
        data[target++] = toByte(b);
      }
    }
    return data;
  }
  if (channels === 4) {
    for (let y = top; y < top + height; y++) {
      const row = y * inWidth * 4;
      for (let x = left; x < left + width; x++) {
        const end = x * maxTaps + count[x];
        let pixel = row + start[x] * 4;
        let r = 0;
        let g = 0;
        let b = 0;
        let a = 0;
        for (let k = x * maxTaps; k < end; k++, pixel += 4) {
          const weight = weights[k];
          r += weight * input[pixel];
          g += weight * input[pixel + 1];
          b += weight * input[pixel + 2];
          a += weight * input[pixel + 3];
        }
        data[target++] = toByte(r);
        data[target++] = toByte(g);
        data[target++] = toByte(b);
        data[target++] = toByte(a);
      }
    }
    return data;
  }
  for (let y = top; y < top + height; y++) {
    const row = y * inWidth * channels;
    for (let x = left; x < left + width; x++) {
      const end = x * maxTaps + count[x];
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        let pixel = row + start[x] * channels + c;
        for (let k = x * maxTaps; k < end; k++, pixel += channels) sum += weights[k] * input[pixel];
        data[target++] = toByte(sum);
      }
    }
  }
  return data;
}

/**
 * Resamples output rows [top, top + height) from `input`, whose first row is
 * input row `firstRow`; each value sums its taps in order, so the result is
 * the same as one value at a time.
 */
function resizeColumns(input: Uint8Array, stride: number, firstRow: number, taps: Taps, top: number, height: number): Uint8Array {
  const { start, count, weights, maxTaps } = taps;
  const data = new Uint8Array(height * stride);
  let target = 0;
  for (let y = top; y < top + height; y++) {
    const base = y * maxTaps;
    const end = base + count[y];
    const rowOffset = (start[y] - firstRow) * stride;
    let i = 0;
    // Four independent sums hide the latency of each add chain.
    for (; i + 4 <= stride; i += 4) {
      let sum0 = 0;
      let sum1 = 0;
      let sum2 = 0;
      let sum3 = 0;
      let pixel = rowOffset + i;
      for (let k = base; k < end; k++, pixel += stride) {
        const weight = weights[k];
        sum0 += weight * input[pixel];
        sum1 += weight * input[pixel + 1];
        sum2 += weight * input[pixel + 2];
        sum3 += weight * input[pixel + 3];
      }
      data[target++] = toByte(sum0);
      data[target++] = toByte(sum1);
      data[target++] = toByte(sum2);
      data[target++] = toByte(sum3);
    }
    for (; i < stride; i++) {
      let sum = 0;
      let pixel = rowOffset + i;
      for (let k = base; k < end; k++, pixel += stride) sum += weights[k] * input[pixel];
      data[target++] = toByte(sum);
    }
  }
  return data;
}

function checkRegion(region: PixelRegion, width: number, height: number): void {
  const { left, top, width: regionWidth, height: regionHeight } = region;
  const whole = [left, top, regionWidth, regionHeight].every(Number.isInteger);
  if (!whole || left < 0 || top < 0 || regionWidth < 1 || regionHeight < 1 || left + regionWidth > width || top + regionHeight > height) {
    throw new Error(`resize region must be whole pixels inside the ${width}×${height} output, found ${regionWidth}×${regionHeight} at (${left}, ${top})`);
  }
}

export interface ResizeOptions {
  /** Return only this part of the resized image. */
  region?: PixelRegion;
  /** Drop a 4-channel source's alpha channel, as RawImage.rgb() does, without an RGB copy first. */
  dropAlpha?: boolean;
}

/**
 * Resizes to exactly width × height with Pillow-style antialiased bicubic
 * filtering. With `region`, returns only that part of the resized image (the
 * same bytes as resizing and then cropping) and computes only the columns
 * and input rows it needs, e.g. a centre crop skips a quarter of a 4:3
 * photo's horizontal pass.
 */
export function resizeBicubic(source: RgbPixels, width: number, height: number, options: ResizeOptions = {}): RgbPixels {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize target must be whole pixels of at least 1×1, found ${width}×${height}`);
  }
  const inChannels = source.channels;
  if (source.data.length !== source.width * source.height * inChannels) {
    throw new Error(`image data holds ${source.data.length} values but ${source.width}×${source.height}×${inChannels} needs ${source.width * source.height * inChannels}`);
  }
  const { region, dropAlpha = false } = options;
  if (dropAlpha && inChannels !== 4) throw new Error(`dropAlpha needs a 4-channel (RGBA) image, found ${inChannels} channels`);
  if (region) checkRegion(region, width, height);
  const channels = dropAlpha ? 3 : inChannels;
  const { left, top, width: outWidth, height: outHeight } = region ?? { left: 0, top: 0, width, height };
  if (width === source.width && height === source.height && outWidth === width && outHeight === height && !dropAlpha) return source;
  const input = bytesOf(source.data);

  // Input rows the kept output rows read, so the horizontal pass skips the rest.
  const vertical = height === source.height ? undefined : tapsFor(source.height, height);
  const firstRow = vertical ? vertical.start[top] : top;
  const lastRow = vertical ? vertical.start[top + outHeight - 1] + vertical.count[top + outHeight - 1] : top + outHeight;

  let rows: Uint8Array;
  if (width === source.width) {
    rows = new Uint8Array((lastRow - firstRow) * outWidth * channels);
    let target = 0;
    for (let y = firstRow; y < lastRow; y++) {
      for (let x = left; x < left + outWidth; x++) {
        const from = (y * source.width + x) * inChannels;
        for (let c = 0; c < channels; c++) rows[target++] = input[from + c];
      }
    }
  } else {
    rows = resizeRows(input, source.width, inChannels, channels, tapsFor(source.width, width), left, outWidth, firstRow, lastRow - firstRow);
  }
  const data = vertical ? resizeColumns(rows, outWidth * channels, firstRow, vertical, top, outHeight) : rows;
  return { data, width: outWidth, height: outHeight, channels };
}
