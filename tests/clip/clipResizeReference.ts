/**
 * The first version of src/clip/clipResize.ts, frozen as the oracle for its
 * faster paths: the pixels Node and the browser feed CLIP must not change.
 *
 * Bicubic image resizing in plain TypeScript, following Pillow's
 * `Image.resize(size, BICUBIC)`, which CLIP's Python preprocessing uses.
 *
 * transformers.js resizes with a canvas in the browser and with sharp's
 * affine bicubic (no antialiasing) in Node, so the same image gave features
 * about 3e-2 apart. Resizing here, in both, makes Node and the browser feed
 * the model the same pixels, and downscaling large photos is antialiased as
 * Pillow does it (the filter widens with the scale factor).
 */

export interface RgbPixels {
  /** Interleaved 8-bit channels, row-major. */
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  channels: number;
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

/** Rounds to 8 bits between passes, as Pillow does. */
function toByte(value: number): number {
  return value <= 0 ? 0 : value >= 255 ? 255 : Math.round(value);
}

/**
 * The hot loop of the resize (a 12-megapixel photo is ~150M multiply-adds):
 * one pass over the taps accumulates every channel, on a monomorphic
 * Uint8Array source.
 */
function resizeHorizontally(source: RgbPixels, width: number): RgbPixels {
  const { channels, height } = source;
  const input = source.data instanceof Uint8Array ? source.data : new Uint8Array(source.data.buffer, source.data.byteOffset, source.data.length);
  const taps = computeTaps(source.width, width);
  const data = new Uint8Array(width * height * channels);
  const accumulators = new Float64Array(channels);
  for (let y = 0; y < height; y++) {
    const row = y * source.width * channels;
    let target = y * width * channels;
    for (let x = 0; x < width; x++) {
      const base = x * taps.maxTaps;
      const count = taps.count[x];
      let pixel = row + taps.start[x] * channels;
      if (channels === 3) {
        let r = 0;
        let g = 0;
        let b = 0;
        for (let k = 0; k < count; k++, pixel += 3) {
          const weight = taps.weights[base + k];
          r += weight * input[pixel];
          g += weight * input[pixel + 1];
          b += weight * input[pixel + 2];
        }
        data[target++] = toByte(r);
        data[target++] = toByte(g);
        data[target++] = toByte(b);
      } else {
        accumulators.fill(0);
        for (let k = 0; k < count; k++, pixel += channels) {
          const weight = taps.weights[base + k];
          for (let c = 0; c < channels; c++) accumulators[c] += weight * input[pixel + c];
        }
        for (let c = 0; c < channels; c++) data[target++] = toByte(accumulators[c]);
      }
    }
  }
  return { data, width, height, channels };
}

function resizeVertically(source: RgbPixels, height: number): RgbPixels {
  const { channels, width } = source;
  const taps = computeTaps(source.height, height);
  const stride = width * channels;
  const data = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const first = taps.start[y];
    const base = y * taps.maxTaps;
    for (let i = 0; i < stride; i++) {
      let sum = 0;
      for (let k = 0; k < taps.count[y]; k++) sum += taps.weights[base + k] * source.data[(first + k) * stride + i];
      data[y * stride + i] = toByte(sum);
    }
  }
  return { data, width, height, channels };
}

/** Resizes to exactly width × height with Pillow-style antialiased bicubic filtering. */
export function resizeBicubic(source: RgbPixels, width: number, height: number): RgbPixels {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`resize target must be whole pixels of at least 1×1, found ${width}×${height}`);
  }
  if (source.data.length !== source.width * source.height * source.channels) {
    throw new Error(`image data holds ${source.data.length} values but ${source.width}×${source.height}×${source.channels} needs ${source.width * source.height * source.channels}`);
  }
  const horizontal = width === source.width ? source : resizeHorizontally(source, width);
  return height === source.height ? horizontal : resizeVertically(horizontal, height);
}
