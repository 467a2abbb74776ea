import { readdir } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeClipExtractor, type NodeClipExtractor } from "../../tools/clipNode.ts";
import { demoClasses, generateDemoImages, renderDemoPixels } from "../../tools/demoImages.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";

function distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum);
}

describe("demo images", () => {
  it("are deterministic, and samples of a class differ from each other", async () => {
    const [first, second] = await Promise.all([generateDemoImages({ perClass: 2, classes: ["fog"] }), generateDemoImages({ perClass: 2, classes: ["fog"] })]);
    expect(first.map((image) => image.path)).toEqual(["fog/fog-1.png", "fog/fog-2.png"]);
    expect(Buffer.from(first[0].png).equals(Buffer.from(second[0].png))).toBe(true);
    expect(Buffer.from(first[0].png).equals(Buffer.from(first[1].png))).toBe(false);
  });

  it("are committed under tests/fixtures/images with the pixels the generator renders (run `npm run fixtures:images`)", async () => {
    expect((await readdir(demoImagesDir)).sort()).toEqual([...demoClasses].sort());
    for (const className of demoClasses) {
      expect(await readdir(join(demoImagesDir, className))).toHaveLength(3);
      const expected = renderDemoPixels(className, 0);
      const { data, info } = await sharp(join(demoImagesDir, className, `${className}-1.png`)).raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([expected.width, expected.height, 3]);
      expect(Buffer.from(data).equals(Buffer.from(expected.rgb)), className).toBe(true);
    }
  });
});

describe("demo images through the tiny-clip model", () => {
  let extractor: NodeClipExtractor;
  beforeAll(async () => {
    extractor = await createNodeClipExtractor({ modelDir: tinyClipModelDir });
  });
  afterAll(() => extractor.dispose());

  it("are separable: every image's nearest other image belongs to its own class", async () => {
    const images = await generateDemoImages({ perClass: 3 });
    const features = await extractor.extractBatch(images.map((image) => ({ name: image.path, bytes: image.png })));
    const misplaced = images.flatMap((image, i) => {
      let nearest = -1;
      for (let j = 0; j < images.length; j++) {
        if (j !== i && (nearest < 0 || distance(features[i], features[j]) < distance(features[i], features[nearest]))) nearest = j;
      }
      return images[nearest].className === image.className ? [] : [`${image.path} is nearest to ${images[nearest].path}`];
    });
    expect(misplaced).toEqual([]);
  });
});
