/**
 * Where the pipeline's time goes besides the model: the app's two other
 * steps, image decode (RawImage.fromBlob) and CLIP preprocessing
 * (AutoProcessor), timed alone with the same library and model config.
 *
 * Also a candidate fast path for those steps: decode to an ImageBitmap
 * (native, no per-pixel JavaScript) and draw it straight at the processor's
 * shortest-edge size, so the library's JavaScript loops (RGBA→RGB, RGB→RGBA
 * for its canvas resize, and back) run on 224-pixel images instead of the
 * full-size one. The processor then only crops and normalises.
 */
import { AutoProcessor, env, RawImage, Tensor } from "@huggingface/transformers";
import type { BreakdownRequest, BreakdownResponse } from "./protocol.ts";

const SHORTEST_EDGE = 224;

async function decodeAtProcessorSize(image: Blob): Promise<RawImage> {
  const bitmap = await createImageBitmap(image);
  try {
    const scale = SHORTEST_EDGE / Math.min(bitmap.width, bitmap.height);
    const width = Math.max(SHORTEST_EDGE, Math.round(bitmap.width * scale));
    const height = Math.max(SHORTEST_EDGE, Math.round(bitmap.height * scale));
    const context = new OffscreenCanvas(width, height).getContext("2d");
    if (!context) throw new Error("no 2d context on an OffscreenCanvas");
    context.imageSmoothingQuality = "high";
    context.drawImage(bitmap, 0, 0, width, height);
    return new RawImage(context.getImageData(0, 0, width, height).data, width, height, 4).convert(3);
  } finally {
    bitmap.close();
  }
}

async function run({ modelHost, modelId, image, warmupRuns, timedRuns }: BreakdownRequest): Promise<BreakdownResponse> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelHost;
  const processor = await AutoProcessor.from_pretrained(`${modelHost}${modelId}`);
  const decodeMs: number[] = [];
  const preprocessMs: number[] = [];
  const fastPathMs: number[] = [];
  for (let i = 0; i < warmupRuns + timedRuns; i++) {
    const started = performance.now();
    const raw = await RawImage.fromBlob(image);
    const decoded = performance.now();
    const inputs: Record<string, unknown> = await processor(raw);
    const processed = performance.now();
    for (const value of Object.values(inputs)) if (value instanceof Tensor) value.dispose();
    const fastStarted = performance.now();
    const fastInputs: Record<string, unknown> = await processor(await decodeAtProcessorSize(image));
    const fastDone = performance.now();
    for (const value of Object.values(fastInputs)) if (value instanceof Tensor) value.dispose();
    if (i >= warmupRuns) {
      decodeMs.push(decoded - started);
      preprocessMs.push(processed - decoded);
      fastPathMs.push(fastDone - fastStarted);
    }
  }
  return { status: "done", decodeMs, preprocessMs, fastPathMs };
}

self.addEventListener("message", (event: MessageEvent<BreakdownRequest>) => {
  run(event.data).then(
    (answer) => self.postMessage(answer),
    (error: unknown) => self.postMessage({ status: "error", message: error instanceof Error ? error.message : String(error) } satisfies BreakdownResponse),
  );
});
