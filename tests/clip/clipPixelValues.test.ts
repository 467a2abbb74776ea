import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { RawImage, Tensor, type Processor } from "@huggingface/transformers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clipPixelValues, planClipPixelValues, type ClipPixelPlan } from "../../src/clip/clipPixelValues.ts";
import { disposeClipModel, embedPixelValues, extractImageEmbeddings, loadClipModel, type ClipModel } from "../../src/clip/loadClipModel.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";
import { resizeBicubic as referenceResize } from "./clipResizeReference.ts";

function noiseImage(width: number, height: number, channels: 1 | 3 | 4, seed: number): RawImage {
  const data = new Uint8ClampedArray(width * height * channels);
  let state = seed >>> 0;
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    data[i] = state >>> 24;
  }
  return new RawImage(data, width, height, channels);
}

interface ResizeSizing {
  size: unknown;
  get_resize_output_image_size(image: RawImage, size: unknown): [number, number];
}

/**
 * What loadClipModel.ts's extractImageEmbeddings fed the model before the
 * fused path (and still does when a processor has no plan): RGB, the first
 * version of the bicubic resize, then the processor's crop, rescale and
 * normalise.
 */
async function processorPixelValues(processor: Processor, image: RawImage): Promise<Float32Array> {
  const sizing = (processor as unknown as { image_processor: ResizeSizing }).image_processor;
  const rgb = image.clone().rgb();
  const [width, height] = sizing.get_resize_output_image_size(rgb, sizing.size);
  const resized = referenceResize(rgb, width, height);
  const inputs: Record<string, Tensor> = await processor(new RawImage(resized.data, resized.width, resized.height, 3));
  return inputs.pixel_values.data as Float32Array;
}

function expectSameFloats(actual: Float32Array | undefined, expected: Float32Array, label: string): void {
  expect(actual, label).toBeInstanceOf(Float32Array);
  expect(actual!.length, label).toBe(expected.length);
  const actualBits = new Uint32Array(actual!.buffer, actual!.byteOffset, actual!.length);
  const expectedBits = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  expect(actualBits.findIndex((bits, i) => bits !== expectedBits[i]), `${label}: first differing value`).toBe(-1);
}

describe("clipPixelValues", () => {
  let clip: ClipModel;
  let plan: ClipPixelPlan;
  beforeAll(async () => {
    clip = await loadClipModel({ modelId: "tiny-clip", modelHost: dirname(tinyClipModelDir), dtype: "q8", device: "cpu" });
    const planned = planClipPixelValues(clip.processor);
    if (!planned) throw new Error("the tiny CLIP model's processor should allow the fused preprocessing");
    plan = planned;
  });
  afterAll(() => disposeClipModel(clip));

  // Landscape and portrait photos with whole and half-pixel crop offsets, an
  // image already at 224 on one side, a large downscale and an upscale; RGB,
  // RGBA (as the browser decodes) and grey.
  const cases: Array<[number, number, 1 | 3 | 4]> = [
    [640, 480, 4],
    [640, 480, 3],
    [1203, 901, 4],
    [901, 1203, 3],
    [480, 640, 4],
    [1024, 768, 4],
    [1000, 700, 3],
    [224, 300, 3],
    [224, 224, 4],
    [2000, 1500, 4],
    [150, 100, 3],
    [333, 257, 1],
  ];
  it.each(cases)("%i×%i with %i channels gives the processor path's pixel_values bit for bit", async (width, height, channels) => {
    const image = noiseImage(width, height, channels, width * 13 + height + channels);
    expectSameFloats(clipPixelValues(plan, image), await processorPixelValues(clip.processor, image), `${width}×${height}×${channels}`);
  });

  it("gives the processor path's pixel_values for a demo photo decoded from PNG", async () => {
    const image = await RawImage.fromBlob(new Blob([await readFile(join(demoImagesDir, "sunset", "sunset-1.png"))]));
    expectSameFloats(clipPixelValues(plan, image), await processorPixelValues(clip.processor, image), "sunset-1.png");
  });

  it("gives extractImageEmbeddings the processor path's features, one image or a batch of sizes with whole and half-pixel crop offsets", async () => {
    const images = [noiseImage(700, 500, 4, 3), noiseImage(1203, 901, 4, 5), noiseImage(500, 700, 3, 7)];
    const expected = [];
    for (const image of images) {
      const values = await processorPixelValues(clip.processor, image);
      expected.push(...(await embedPixelValues(clip, new Tensor("float32", values, [1, 3, plan.cropHeight, plan.cropWidth]))));
    }
    const single = await extractImageEmbeddings(clip, [images[1]]);
    expect(Array.from(single[0])).toEqual(Array.from(expected[1]));
    const batch = await extractImageEmbeddings(clip, images);
    expect(batch.map((features) => Array.from(features))).toEqual(expected.map((features) => Array.from(features)));
  });

  it("extractImageEmbeddings falls back to the processor when there is no plan, with the same features", async () => {
    const fields = (clip.processor as unknown as { image_processor: object }).image_processor;
    let called = 0;
    // Calls the real processor; only the plan sees do_flip_channel_order and declines.
    const unplanned = Object.assign(
      (images: RawImage[]) => {
        called += 1;
        return clip.processor(images);
      },
      { image_processor: Object.assign(Object.create(fields), { do_flip_channel_order: true }) },
    ) as unknown as Processor;
    expect(planClipPixelValues(unplanned)).toBeUndefined();
    const images = [noiseImage(1203, 901, 4, 11), noiseImage(640, 480, 3, 13)];
    const viaProcessor = await extractImageEmbeddings({ ...clip, processor: unplanned }, images);
    expect(called).toBe(1);
    const fused = await extractImageEmbeddings(clip, images);
    expect(viaProcessor.map((features) => Array.from(features))).toEqual(fused.map((features) => Array.from(features)));
  });

  it("declines an image the resize leaves smaller than the crop, which the processor would pad", () => {
    const narrow = { ...plan, outputSize: (): [number, number] => [200, 224] };
    expect(clipPixelValues(narrow, noiseImage(400, 448, 3, 1))).toBeUndefined();
  });

  it("declines processor settings it does not mirror", () => {
    const fields = (clip.processor as unknown as { image_processor: object }).image_processor;
    const variant = (overrides: object) => ({ image_processor: Object.assign(Object.create(fields), overrides) }) as unknown as Processor;
    expect(planClipPixelValues(variant({}))).toBeDefined();
    for (const overrides of [{ do_thumbnail: true }, { do_pad: true }, { do_flip_channel_order: true }, { do_crop_margin: true }, { resample: 2 }, { do_center_crop: false }, { do_convert_rgb: false }, { image_mean: [0.5, 0.5] }, { size_divisibility: 32 }]) {
      expect(planClipPixelValues(variant(overrides)), JSON.stringify(overrides)).toBeUndefined();
    }
    expect(planClipPixelValues({} as Processor)).toBeUndefined();
  });
});
