/**
 * CLIP's image preprocessing in one step: RGB conversion, the Pillow-style
 * bicubic resize, centre crop, rescale, normalise and HWC→CHW, giving the
 * same float32 `pixel_values` as resizing with clipResize.ts and then calling
 * transformers.js's CLIPImageProcessor, bit for bit. loadClipModel.ts's
 * extractImageEmbeddings uses it for the worker and the Node tools alike.
 *
 * Why not just call the processor: in the browser it crops through a canvas
 * (drawImage + getImageData) and copies the image twice more, and the resize
 * before it computes columns and rows the crop throws away. Here the resize
 * produces only the cropped pixels and an RGBA image is read without an RGB
 * copy first. Configurations with steps this does not mirror get `undefined`
 * from planClipPixelValues, and extractImageEmbeddings uses the processor.
 */
import type { Processor, RawImage } from "@huggingface/transformers";
import { resizeBicubic, type RgbPixels } from "./clipResize.ts";

export const PIL_BICUBIC = 3;

/** The transformers.js ImageProcessor fields that decide what preprocess() does. */
export interface ImageProcessorFields {
  do_crop_margin?: boolean;
  do_convert_rgb?: boolean;
  do_resize?: boolean;
  resample?: number;
  size?: unknown;
  do_thumbnail?: boolean;
  do_center_crop?: boolean;
  crop_size?: number | { width: number; height: number };
  do_rescale?: boolean;
  rescale_factor?: number;
  do_normalize?: boolean;
  image_mean?: number | number[];
  image_std?: number | number[];
  do_pad?: boolean;
  do_flip_channel_order?: boolean;
  size_divisibility?: number;
  get_resize_output_image_size(image: RawImage, size: unknown): [number, number];
}

export interface ClipPixelPlan {
  cropWidth: number;
  cropHeight: number;
  /** Per channel, the float32 each byte value becomes after rescale and normalise: 3 × 256 entries. */
  valueOf: Float32Array;
  outputSize(image: RawImage): [number, number];
}

function perChannel(value: number | number[] | undefined): number[] | undefined {
  if (typeof value === "number") return [value, value, value];
  return Array.isArray(value) && value.length === 3 && value.every((entry) => typeof entry === "number") ? value : undefined;
}

/**
 * What preprocess() does to one channel's byte value, in its order and
 * precision: Float32Array.from, `rescale_factor * x` stored as float32, then
 * `(x - mean) / std` stored as float32.
 */
function byteValueTable(rescale: number | undefined, mean: number[] | undefined, std: number[] | undefined): Float32Array {
  const table = new Float32Array(3 * 256);
  for (let channel = 0; channel < 3; channel++) {
    for (let byte = 0; byte < 256; byte++) {
      let value = byte;
      if (rescale !== undefined) value = Math.fround(rescale * value);
      if (mean && std) value = Math.fround((value - mean[channel]) / std[channel]);
      table[channel * 256 + byte] = value;
    }
  }
  return table;
}

/** The processor's image processor, or undefined when it has none (not an image model's processor). */
export function imageProcessorFieldsOf(processor: Processor): ImageProcessorFields | undefined {
  const fields = (processor as unknown as { image_processor?: ImageProcessorFields }).image_processor;
  return typeof fields?.get_resize_output_image_size === "function" ? fields : undefined;
}

/**
 * The plan for a processor whose preprocess() is exactly convert to RGB →
 * bicubic resize → centre crop → optional rescale → optional normalise, or
 * undefined for anything else (margin crop, thumbnail, padding, channel
 * flip, another filter, no crop).
 */
export function planClipPixelValues(processor: Processor): ClipPixelPlan | undefined {
  const fields = imageProcessorFieldsOf(processor);
  if (!fields) return undefined;
  if (fields.do_crop_margin || fields.do_thumbnail || fields.do_pad || fields.do_flip_channel_order || fields.size_divisibility !== undefined) return undefined;
  if (fields.do_convert_rgb !== true || fields.do_resize !== true || fields.resample !== PIL_BICUBIC || fields.do_center_crop !== true) return undefined;
  const crop = fields.crop_size;
  const [cropWidth, cropHeight] = typeof crop === "number" ? [crop, crop] : [crop?.width, crop?.height];
  if (!Number.isInteger(cropWidth) || !Number.isInteger(cropHeight)) return undefined;
  let rescale: number | undefined;
  if (fields.do_rescale) {
    if (typeof fields.rescale_factor !== "number") return undefined;
    rescale = fields.rescale_factor;
  }
  let mean: number[] | undefined;
  let std: number[] | undefined;
  if (fields.do_normalize) {
    mean = perChannel(fields.image_mean);
    std = perChannel(fields.image_std);
    if (!mean || !std) return undefined;
  }
  return {
    cropWidth: cropWidth as number,
    cropHeight: cropHeight as number,
    valueOf: byteValueTable(rescale, mean, std),
    outputSize: (image) => fields.get_resize_output_image_size(image, fields.size),
  };
}

function rgbSource(image: RawImage): { pixels: RgbPixels; dropAlpha: boolean } {
  if (image.channels === 3 || image.channels === 4) {
    return { pixels: { data: image.data as Uint8ClampedArray, width: image.width, height: image.height, channels: image.channels }, dropAlpha: image.channels === 4 };
  }
  const rgb = image.clone().rgb();
  return { pixels: { data: rgb.data as Uint8ClampedArray, width: rgb.width, height: rgb.height, channels: 3 }, dropAlpha: false };
}

/**
 * One image's `pixel_values` ([3, cropHeight, cropWidth], channel-major), or
 * undefined when the resized image is smaller than the crop (the processor
 * pads then, which this does not mirror).
 */
export function clipPixelValues(plan: ClipPixelPlan, image: RawImage): Float32Array<ArrayBuffer> | undefined {
  if (image.data instanceof Float32Array || image.data instanceof Uint16Array) return undefined;
  const { pixels, dropAlpha } = rgbSource(image);
  const [width, height] = plan.outputSize(image);
  const { cropWidth, cropHeight } = plan;
  if (width < cropWidth || height < cropHeight) return undefined;
  // The processor's crop in Node (sharp.extract) floors a half-pixel offset.
  const region = { left: Math.floor((width - cropWidth) / 2), top: Math.floor((height - cropHeight) / 2), width: cropWidth, height: cropHeight };
  const cropped = width === pixels.width && height === pixels.height && !dropAlpha && region.width === width && region.height === height
    ? pixels
    : resizeBicubic(pixels, width, height, { region, dropAlpha });
  const area = cropWidth * cropHeight;
  const values = new Float32Array(3 * area);
  const bytes = cropped.data;
  const table = plan.valueOf;
  for (let i = 0, pixel = 0; i < area; i++, pixel += 3) {
    values[i] = table[bytes[pixel]];
    values[area + i] = table[256 + bytes[pixel + 1]];
    values[2 * area + i] = table[512 + bytes[pixel + 2]];
  }
  return values;
}
