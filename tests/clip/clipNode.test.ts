import { copyFile, mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeClipExtractor, type NodeClipExtractor } from "../../tools/clipNode.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";

const sunset = join(demoImagesDir, "sunset", "sunset-1.png");
const ocean = join(demoImagesDir, "ocean", "ocean-1.png");

describe("createNodeClipExtractor with the tiny-clip model", () => {
  let extractor: NodeClipExtractor;
  beforeAll(async () => {
    extractor = await createNodeClipExtractor({ modelDir: tinyClipModelDir });
  });
  afterAll(() => extractor.dispose());

  it("records the folder name as model id and q8 as default dtype", () => {
    expect(extractor.modelId).toBe("tiny-clip");
    expect(extractor.dtype).toBe("q8");
  });

  it("returns 512 finite numbers, the same for the same image, different for different images", async () => {
    const first = await extractor.extract(sunset);
    const again = await extractor.extract(await readFile(sunset));
    const other = await extractor.extract(ocean);
    expect(first).toBeInstanceOf(Float32Array);
    expect(first).toHaveLength(512);
    expect(first.every(Number.isFinite)).toBe(true);
    expect(Array.from(again)).toEqual(Array.from(first));
    const difference = Math.max(...first.map((value, i) => Math.abs(value - other[i])));
    expect(difference).toBeGreaterThan(0.05);
  });

  it("gives the same features with the q8 and the fp32 file (weight-only int8 of the same values)", async () => {
    const fp32 = await createNodeClipExtractor({ modelDir: tinyClipModelDir, dtype: "fp32" });
    const [q8Features, fp32Features] = [await extractor.extract(ocean), await fp32.extract(ocean)];
    await fp32.dispose();
    expect(Math.max(...q8Features.map((value, i) => Math.abs(value - fp32Features[i])))).toBeLessThan(1e-5);
  });

  it("extracts a batch in input order, equal to one-by-one extraction", async () => {
    const progress: number[] = [];
    const batch = await extractor.extractBatch([ocean, sunset, ocean], { batchSize: 2, onProgress: (done) => progress.push(done) });
    expect(progress).toEqual([2, 3]);
    expect(Array.from(batch[1])).toEqual(Array.from(await extractor.extract(sunset)));
    expect(Array.from(batch[0])).toEqual(Array.from(batch[2]));
  });

  it("names a corrupt image and a non-image in the error", async () => {
    const pngHeaderOnly = (await readFile(sunset)).subarray(0, 60);
    await expect(extractor.extract({ name: "broken.png", bytes: pngHeaderOnly })).rejects.toThrow(/^"broken\.png" could not be decoded: /);
    await expect(extractor.extract({ name: "notes.txt", bytes: new TextEncoder().encode("just some notes") })).rejects.toThrow(/^"notes\.txt" could not be decoded: /);
    await expect(extractor.extract(join(demoImagesDir, "missing.png"))).rejects.toThrow(/missing\.png" could not be decoded: the file cannot be read/);
  });
});

describe("createNodeClipExtractor errors", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "tiny-clip-broken-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it("fails with 'CLIP model loading failed' naming the missing ONNX file", async () => {
    const modelDir = join(folder, "no-onnx-clip");
    await mkdir(modelDir);
    await copyFile(join(tinyClipModelDir, "config.json"), join(modelDir, "config.json"));
    await copyFile(join(tinyClipModelDir, "preprocessor_config.json"), join(modelDir, "preprocessor_config.json"));
    await expect(createNodeClipExtractor({ modelDir, dtype: "fp32" })).rejects.toThrow(
      `CLIP model loading failed: model file "${join(modelDir, "onnx", "vision_model.onnx")}" was not found`,
    );
  });

  it("fails with 'CLIP model loading failed' naming a missing config file", async () => {
    const modelDir = join(folder, "empty-clip");
    await mkdir(modelDir);
    await expect(createNodeClipExtractor({ modelDir })).rejects.toThrow(/^CLIP model loading failed: model file ".*empty-clip\/(config|preprocessor_config)\.json" was not found/);
  });

  it("reports a corrupt ONNX file as a loading failure", async () => {
    const modelDir = join(folder, "corrupt-clip");
    await mkdir(join(modelDir, "onnx"), { recursive: true });
    await copyFile(join(tinyClipModelDir, "config.json"), join(modelDir, "config.json"));
    await copyFile(join(tinyClipModelDir, "preprocessor_config.json"), join(modelDir, "preprocessor_config.json"));
    await copyFile(join(tinyClipModelDir, "config.json"), join(modelDir, "onnx", "vision_model_quantized.onnx"));
    await expect(createNodeClipExtractor({ modelDir })).rejects.toThrow(/^CLIP model loading failed: /);
  });
});
