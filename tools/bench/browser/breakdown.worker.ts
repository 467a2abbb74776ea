/**
 * Where the pipeline's time goes besides the model: the app's steps before
 * the model, timed one by one with the same library, model config and
 * resize code: image decode (RawImage.fromBlob), RGB conversion + the
 * Pillow-style bicubic resize (src/clip/clipResize.ts, as loadClipModel.ts
 * applies it), and the processor's crop + rescale + normalise.
 */
import { AutoProcessor, env, RawImage, Tensor } from "@huggingface/transformers";
import { resizeBicubic } from "../../../src/clip/clipResize.ts";
import type { BreakdownRequest, BreakdownResponse } from "./protocol.ts";

interface ImageProcessorSizing {
  size?: unknown;
  get_resize_output_image_size(image: RawImage, size: unknown): [number, number];
}

async function run({ modelHost, modelId, image, warmupRuns, timedRuns }: BreakdownRequest): Promise<BreakdownResponse> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelHost;
  const processor = await AutoProcessor.from_pretrained(`${modelHost}${modelId}`);
  const sizing = (processor as unknown as { image_processor: ImageProcessorSizing }).image_processor;
  const decodeMs: number[] = [];
  const resizeMs: number[] = [];
  const processorMs: number[] = [];
  for (let i = 0; i < warmupRuns + timedRuns; i++) {
    const started = performance.now();
    const raw = await RawImage.fromBlob(image);
    const decoded = performance.now();
    const rgb = raw.rgb();
    const [width, height] = sizing.get_resize_output_image_size(rgb, sizing.size);
    const resized = resizeBicubic(rgb, width, height);
    const resizedAt = performance.now();
    const inputs: Record<string, unknown> = await processor(new RawImage(resized.data, resized.width, resized.height, 3));
    const processed = performance.now();
    for (const value of Object.values(inputs)) if (value instanceof Tensor) value.dispose();
    if (i >= warmupRuns) {
      decodeMs.push(decoded - started);
      resizeMs.push(resizedAt - decoded);
      processorMs.push(processed - resizedAt);
    }
  }
  return { status: "done", decodeMs, resizeMs, processorMs };
}

self.addEventListener("message", (event: MessageEvent<BreakdownRequest>) => {
  run(event.data).then(
    (answer) => self.postMessage(answer),
    (error: unknown) => self.postMessage({ status: "error", message: error instanceof Error ? error.message : String(error) } satisfies BreakdownResponse),
  );
});
