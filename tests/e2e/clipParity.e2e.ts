/**
 * The CLIP worker in real Chromium against Node: same model (tiny-clip, served
 * by the demo under /demo-models/), same PNGs, the same 512 numbers.
 * Also the browser-only image helpers and model-loading failures.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeClipExtractor } from "../../tools/clipNode.ts";
import { renderDemoPixels } from "../../tools/demoImages.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";
import { expectNoRequestLeftLocalhost, fixtureImagesDir, openSession, type JourneySession } from "./session.ts";

type ExtractorModule = typeof import("../../src/composables/useClipExtractor.ts");
type ImageFilesModule = typeof import("../../src/images/imageFiles.ts");

interface BrowserImage {
  name: string;
  type: string;
  base64: string;
}

async function testImages(): Promise<Array<BrowserImage & { bytes: Buffer }>> {
  const lava = renderDemoPixels("lava", 0);
  const raw = () => sharp(Buffer.from(lava.rgb), { raw: { width: lava.width, height: lava.height, channels: 3 } });
  const images = [
    { name: "sunset-1.png", type: "image/png", bytes: await readFile(join(fixtureImagesDir, "sunset", "sunset-1.png")) },
    { name: "fog-3.png", type: "image/png", bytes: await readFile(join(fixtureImagesDir, "fog", "fog-3.png")) },
    { name: "lava-224.png", type: "image/png", bytes: await raw().resize(224, 224, { fit: "fill" }).png().toBuffer() },
    { name: "lava-1000x700.png", type: "image/png", bytes: await raw().resize(1000, 700, { fit: "fill" }).png().toBuffer() },
    // Resized to 299×224: the centre crop starts at x = 37.5, which Node floors and the browser's canvas would interpolate.
    { name: "lava-1203x901.png", type: "image/png", bytes: await raw().resize(1203, 901, { fit: "fill" }).png().toBuffer() },
    { name: "lava.jpg", type: "image/jpeg", bytes: await raw().resize(640, 480).jpeg({ quality: 90 }).toBuffer() },
    // EXIF orientation 6 (rotate 90°): both sides must apply it.
    { name: "lava-rotated.jpg", type: "image/jpeg", bytes: await raw().resize(640, 480).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toBuffer() },
  ];
  return images.map((image) => ({ ...image, base64: image.bytes.toString("base64") }));
}

describe("CLIP in Chromium", () => {
  let session: JourneySession;
  beforeAll(async () => {
    session = await openSession();
    // A plain same-origin document (served with the app's COOP/COEP headers), so
    // the dashboard's router does not navigate away while the test runs code.
    await session.page.goto(new URL("tests/fixtures/images/fog/fog-1.png", session.appUrl).href);
  });
  afterAll(() => session?.close());

  it("extracts the same 512 features in the worker as Node does, for the app's configured model", async () => {
    const images = await testImages();
    const browser = await session.page.evaluate(async (inputs: BrowserImage[]) => {
      // Vitest rewrites import() in test code, so the browser's own import is reached through Function.
      const importModule = new Function("path", "return import(path)") as (path: string) => Promise<ExtractorModule>;
      const { createClipExtractor } = await importModule("/src/composables/useClipExtractor.ts");
      const extractor = createClipExtractor();
      try {
        const features: number[][] = [];
        for (const input of inputs) {
          const bytes = Uint8Array.from(atob(input.base64), (char) => char.charCodeAt(0));
          features.push(Array.from(await extractor.extract(new File([bytes], input.name, { type: input.type }))));
        }
        return { features, backend: extractor.backend.value, fraction: extractor.progress.value.fraction, isolated: self.crossOriginIsolated, cores: navigator.hardwareConcurrency };
      } finally {
        extractor.dispose();
      }
    }, images.map(({ name, type, base64 }) => ({ name, type, base64 })));

    expect(browser.isolated).toBe(true);
    expect(browser.backend).toEqual({ device: "wasm", dtype: "q8", threads: Math.min(browser.cores, 4) });
    expect(browser.fraction).toBe(1);
    const node = await createNodeClipExtractor({ modelDir: tinyClipModelDir, dtype: "q8" });
    try {
      const [upright, rotated] = await node.extractBatch(images.slice(-2).map((image) => image.bytes));
      expect(Math.max(...upright.map((value, k) => Math.abs(value - rotated[k]))), "EXIF rotation is applied").toBeGreaterThan(0.05);
      for (const [i, image] of images.entries()) {
        const expected = await node.extract(image.bytes);
        expect(browser.features[i]).toHaveLength(512);
        const worst = Math.max(...expected.map((value, k) => Math.abs(value - browser.features[i][k])));
        expect(worst, image.name).toBeLessThan(1e-4);
      }
    } finally {
      await node.dispose();
    }
    expectNoRequestLeftLocalhost(session);
  });

  it("does not download the model again on a second visit: it comes from the browser's cache", async () => {
    const modelRequests = () => session.requests.filter((url) => url.includes("/demo-models/"));
    expect(modelRequests().some((url) => url.endsWith("/onnx/vision_model_quantized.onnx"))).toBe(true);
    const before = modelRequests().length;
    const page = await session.context.newPage();
    try {
      await page.goto(new URL("tests/fixtures/images/fog/fog-1.png", session.appUrl).href);
      const length = await page.evaluate(async (base64: string) => {
        const importModule = new Function("path", "return import(path)") as (path: string) => Promise<ExtractorModule>;
        const { createClipExtractor } = await importModule("/src/composables/useClipExtractor.ts");
        const extractor = createClipExtractor();
        try {
          const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
          return (await extractor.extract(new Blob([bytes], { type: "image/png" }))).length;
        } finally {
          extractor.dispose();
        }
      }, (await readFile(join(fixtureImagesDir, "fog", "fog-1.png"))).toString("base64"));
      expect(length).toBe(512);
      expect(modelRequests().slice(before)).toEqual([]);
    } finally {
      await page.close();
    }
  });

  it("names the missing file when the model is absent, whether the server says 404 or serves its index.html", async () => {
    const messages = await session.page.evaluate(async () => {
      const importModule = new Function("path", "return import(path)") as (path: string) => Promise<ExtractorModule>;
      const { createClipExtractor } = await importModule("/src/composables/useClipExtractor.ts");
      const image = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], "a.png", { type: "image/png" });
      const failure = async (modelHost: string) => {
        const extractor = createClipExtractor({ config: { modelId: "missing-clip", modelHost, device: "wasm" } });
        try {
          await extractor.extract(image);
          return "extracted";
        } catch (error) {
          return [(error as Error).message, extractor.status.value, extractor.error.value];
        } finally {
          extractor.dispose();
        }
      };
      return { notFound: await failure("/demo-models/"), htmlFallback: await failure("/no-such-model-folder/") };
    });
    expect(messages.notFound[0]).toMatch(/^CLIP model loading failed: model file "\/demo-models\/missing-clip\/(config|preprocessor_config)\.json" was not found/);
    expect(messages.notFound.slice(1)).toEqual(["failed", messages.notFound[0]]);
    expect(messages.htmlFallback[0]).toMatch(
      /^CLIP model loading failed: model file ".*\/no-such-model-folder\/missing-clip\/(config|preprocessor_config)\.json".* is missing: the server answered with an HTML page/,
    );
  });

  it("checks, downscales and thumbnails images with the browser's own decoder", async () => {
    const large = await sharp({ create: { width: 3000, height: 2000, channels: 3, background: { r: 200, g: 90, b: 30 } } }).png().toBuffer();
    const result = await session.page.evaluate(async (largeBase64: string) => {
      const importModule = new Function("path", "return import(path)") as (path: string) => Promise<ImageFilesModule>;
      const { checkImageFile, downscaleImage, makeThumbnail } = await importModule("/src/images/imageFiles.ts");
      const messageOf = (promise: Promise<unknown>) => promise.then(() => "accepted", (error: Error) => error.message);
      const largeFile = new File([Uint8Array.from(atob(largeBase64), (char) => char.charCodeAt(0))], "large.png", { type: "image/png" });
      /** The size a stored image says it has, and the size its blob decodes to: they must agree. */
      const size = async (stored: { blob: Blob; width: number; height: number }) => {
        const bitmap = await createImageBitmap(stored.blob);
        const decoded = [bitmap.width, bitmap.height];
        bitmap.close();
        return { reported: [stored.width, stored.height, stored.blob.type], decoded };
      };
      const kept = await downscaleImage(largeFile, 4000);
      return {
        large: await messageOf(checkImageFile(largeFile)),
        text: await messageOf(checkImageFile(new File(["hello"], "notes.txt", { type: "text/plain" }))),
        corrupt: await messageOf(checkImageFile(new File([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], "broken.jpg", { type: "image/jpeg" }))),
        downscaled: await size(await downscaleImage(largeFile)),
        thumbnail: await size(await makeThumbnail(largeFile)),
        smallKept: kept.blob === largeFile,
        keptSize: [kept.width, kept.height],
      };
    }, large.toString("base64"));
    expect(result.large).toBe("accepted");
    expect(result.text).toBe('"notes.txt" is not an image (text/plain)');
    expect(result.corrupt).toMatch(/^"broken\.jpg" could not be decoded: .+/);
    expect(result.downscaled).toEqual({ reported: [2048, 1365, "image/png"], decoded: [2048, 1365] });
    expect(result.thumbnail).toEqual({ reported: [256, 171, "image/jpeg"], decoded: [256, 171] });
    expect(result.smallKept).toBe(true);
    expect(result.keptSize).toEqual([3000, 2000]);
  });
});
