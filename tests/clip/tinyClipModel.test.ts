import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { generateTinyClipModel } from "../../tools/tinyClipModel.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";

describe("tiny-clip model fixture", () => {
  it("is byte-for-byte what the generator produces (run `npm run models:tiny` after changing it)", async () => {
    const files = generateTinyClipModel();
    expect(files.map((file) => file.path).sort()).toEqual([
      "config.json",
      "onnx/vision_model.onnx",
      "onnx/vision_model_quantized.onnx",
      "preprocessor_config.json",
    ]);
    for (const file of files) {
      const committed = new Uint8Array(await readFile(join(tinyClipModelDir, file.path)));
      expect(committed.length, file.path).toBe(file.bytes.length);
      expect(Buffer.compare(Buffer.from(committed), Buffer.from(file.bytes)), file.path).toBe(0);
    }
  });

  it("declares a CLIP model and the CLIP processor with every do_* flag explicit", () => {
    const jsonFiles = generateTinyClipModel().filter((file) => file.path.endsWith(".json"));
    const files = new Map(jsonFiles.map((file) => [file.path, JSON.parse(new TextDecoder().decode(file.bytes)) as Record<string, unknown>]));
    expect(files.get("config.json")).toMatchObject({ model_type: "clip" });
    const processor = files.get("preprocessor_config.json")!;
    expect(processor).toMatchObject({
      do_resize: true,
      size: { shortest_edge: 224 },
      do_center_crop: true,
      crop_size: { height: 224, width: 224 },
      do_rescale: true,
      rescale_factor: 1 / 255,
      do_normalize: true,
      image_mean: [0.48145466, 0.4578275, 0.40821073],
      image_std: [0.26862954, 0.26130258, 0.27577711],
    });
    for (const flag of ["do_convert_rgb", "do_pad", "do_thumbnail", "do_crop_margin", "do_flip_channel_order"]) {
      expect(typeof processor[flag], flag).toBe("boolean");
    }
  });

  it("keeps the fp32 model near 100 KB and the q8 model smaller", () => {
    const sizes = Object.fromEntries(generateTinyClipModel().map((file) => [file.path, file.bytes.length]));
    expect(sizes["onnx/vision_model.onnx"]).toBeLessThan(120_000);
    expect(sizes["onnx/vision_model_quantized.onnx"]).toBeLessThan(sizes["onnx/vision_model.onnx"] / 2);
  });
});
