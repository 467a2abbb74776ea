/**
 * Where the pipeline's time goes besides the model: the app worker's steps
 * before the model, timed one by one with the same library, model config and
 * code as src/clip/clipService.ts runs them: image decode (RawImage.fromBlob)
 * and the fused preprocessing (src/clip/clipPixelValues.ts: resize of the
 * centre crop, rescale, normalise, HWC→CHW). No model here: a third threaded
 * ONNX Runtime session beside the app's and the bare one slowed all of them
 * several times over on 2 cores, and one timed here alone afterwards ran at
 * 2–3× the app's model time, so the bare session stands for the model.
 */
import { AutoProcessor, env, RawImage } from "@huggingface/transformers";
import { clipPixelValues, planClipPixelValues, type ClipPixelPlan } from "../../../src/clip/clipPixelValues.ts";
import type { BreakdownRequest, BreakdownResponse } from "./protocol.ts";

let plan: ClipPixelPlan | undefined;

async function load(modelHost: string, modelId: string): Promise<BreakdownResponse> {
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.localModelPath = modelHost;
  const processor = await AutoProcessor.from_pretrained(`${modelHost}${modelId}`);
  plan = planClipPixelValues(processor);
  if (!plan) throw new Error(`the processor of "${modelId}" has settings clipPixelValues.ts does not mirror, so the app would use the processor path; this breakdown times only the fused path`);
  return { status: "ready" };
}

async function runOnce(image: Blob): Promise<BreakdownResponse> {
  if (!plan) throw new Error('the breakdown worker is not loaded: send {type: "load"} first');
  const started = performance.now();
  const raw = await RawImage.fromBlob(image);
  const decoded = performance.now();
  const values = clipPixelValues(plan, raw);
  const preprocessed = performance.now();
  if (!values) throw new Error(`clipPixelValues declined the ${raw.width}×${raw.height} benchmark image, so the app would use the processor path`);
  return { status: "ran", decodeMs: decoded - started, preprocessMs: preprocessed - decoded };
}

self.addEventListener("message", (event: MessageEvent<BreakdownRequest>) => {
  const request = event.data;
  (request.type === "load" ? load(request.modelHost, request.modelId) : runOnce(request.image)).then(
    (answer) => self.postMessage(answer),
    (error: unknown) => self.postMessage({ status: "error", message: error instanceof Error ? error.message : String(error) } satisfies BreakdownResponse),
  );
});
