/**
 * Where the pipeline's time goes besides the model: the app's two other
 * steps, image decode (RawImage.fromBlob) and CLIP preprocessing
 * (AutoProcessor), timed alone with the same library and model config.
 */
import { AutoProcessor, env, RawImage, Tensor } from "@huggingface/transformers";
import type { BreakdownRequest, BreakdownResponse } from "./protocol.ts";

async function run({ modelHost, modelId, image, warmupRuns, timedRuns }: BreakdownRequest): Promise<BreakdownResponse> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelHost;
  const processor = await AutoProcessor.from_pretrained(`${modelHost}${modelId}`);
  const decodeMs: number[] = [];
  const preprocessMs: number[] = [];
  for (let i = 0; i < warmupRuns + timedRuns; i++) {
    const started = performance.now();
    const raw = await RawImage.fromBlob(image);
    const decoded = performance.now();
    const inputs: Record<string, unknown> = await processor(raw);
    const processed = performance.now();
    for (const value of Object.values(inputs)) if (value instanceof Tensor) value.dispose();
    if (i >= warmupRuns) {
      decodeMs.push(decoded - started);
      preprocessMs.push(processed - decoded);
    }
  }
  return { status: "done", decodeMs, preprocessMs };
}

self.addEventListener("message", (event: MessageEvent<BreakdownRequest>) => {
  run(event.data).then(
    (answer) => self.postMessage(answer),
    (error: unknown) => self.postMessage({ status: "error", message: error instanceof Error ? error.message : String(error) } satisfies BreakdownResponse),
  );
});
