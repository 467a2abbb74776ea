import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import type { ClipConfig } from "../../src/clip/clipConfig.ts";
import type { ClipResponse } from "../../src/clip/clipProtocol.ts";
import { createClipService } from "../../src/clip/clipService.ts";
import { createNodeClipExtractor } from "../../tools/clipNode.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";

const tinyConfig: ClipConfig = { modelId: "tiny-clip", modelHost: dirname(tinyClipModelDir), device: "auto" };

/** The worker's message handling with Node's CPU backend in place of the browser's. */
function serviceWithOutbox() {
  const outbox: Array<{ message: ClipResponse; transfer?: Transferable[] }> = [];
  const service = createClipService({ resolveDevice: async () => "cpu", threads: 1, post: (message, transfer) => outbox.push({ message, transfer }) });
  return { service, outbox, messages: () => outbox.map((entry) => entry.message) };
}

describe("CLIP worker service", () => {
  it("loads once, reports ready, and returns the same features as the Node extractor with the buffer transferred", async () => {
    const { service, outbox, messages } = serviceWithOutbox();
    await service.handle({ type: "load", config: tinyConfig });
    await service.handle({ type: "load", config: tinyConfig });
    expect(messages().filter((message) => message.status === "ready")).toEqual([
      { status: "ready", device: "cpu", dtype: "q8", threads: 1 },
      { status: "ready", device: "cpu", dtype: "q8", threads: 1 },
    ]);
    const png = await readFile(join(demoImagesDir, "meadow", "meadow-2.png"));
    await service.handle({ type: "extract", id: 5, image: new Blob([png], { type: "image/png" }) });
    const result = outbox.at(-1)!;
    expect(result.message.status).toBe("result");
    if (result.message.status !== "result") return;
    expect(result.message.id).toBe(5);
    expect(result.transfer).toEqual([result.message.features.buffer]);
    const extractor = await createNodeClipExtractor({ modelDir: tinyClipModelDir });
    expect(Array.from(result.message.features)).toEqual(Array.from(await extractor.extract(png)));
    await extractor.dispose();
  });

  it("answers an extract before load, a corrupt image and a malformed request with an error for that id", async () => {
    const { service, messages } = serviceWithOutbox();
    await service.handle({ type: "extract", id: 1, image: new ArrayBuffer(4) });
    expect(messages()).toEqual([{ status: "error", id: 1, message: 'The CLIP model is not loaded: send {type: "load"} before "extract"' }]);
    await service.handle({ type: "load", config: { ...tinyConfig, dtype: "fp32" } });
    await service.handle({ type: "extract", id: 2, image: new Blob(["not a png"]), name: "broken.png" });
    expect(messages().at(-1)).toMatchObject({ status: "error", id: 2, message: expect.stringMatching(/^"broken\.png" could not be decoded: /) });
    await service.handle({ type: "extract", id: 3, image: "pixels" });
    expect(messages().at(-1)).toMatchObject({ status: "error", id: 3, message: expect.stringMatching(/^Invalid CLIP worker request: image: /) });
  });

  it("reports a missing model as 'CLIP model loading failed' and loads again once it is fixed", async () => {
    const { service, messages } = serviceWithOutbox();
    await service.handle({ type: "load", config: { ...tinyConfig, modelId: "absent-clip" } });
    expect(messages()).toEqual([
      { status: "error", message: expect.stringMatching(/^CLIP model loading failed: model file ".*models\/absent-clip\/(config|preprocessor_config)\.json" was not found/) },
    ]);
    await service.handle({ type: "load", config: tinyConfig });
    expect(messages().at(-1)).toEqual({ status: "ready", device: "cpu", dtype: "q8", threads: 1 });
  });
});
