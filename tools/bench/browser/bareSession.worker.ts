/**
 * The reference for the browser stage: one onnxruntime-web session on the
 * same model file, with the same ONNX Runtime build, wasm files and thread
 * rule as the app's CLIP worker, timing session.run alone on a fixed input.
 */
import * as ort from "onnxruntime-web/webgpu";
import wasm from "onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url";
import mjs from "onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url";
import { BARE_SESSION_INPUT, type BareSessionRequest, type BareSessionResponse } from "./protocol.ts";

ort.env.wasm.wasmPaths = { wasm, mjs };
// The app worker's rule (src/clip/clip.worker.ts): all cores, up to 4, when isolated.
const threads = self.crossOriginIsolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
ort.env.wasm.numThreads = threads;

let session: ort.InferenceSession | undefined;
let input: ort.Tensor | undefined;

async function load(modelUrl: string): Promise<BareSessionResponse> {
  const started = performance.now();
  const response = await fetch(modelUrl);
  if (!response.ok) throw new Error(`fetching ${modelUrl} answered ${response.status}`);
  session = await ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()), { executionProviders: ["wasm"] });
  const pixels = new Float32Array(3 * 224 * 224);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.sin(i * 0.37) * 1.5;
  input = new ort.Tensor("float32", pixels, [1, 3, 224, 224]);
  return { status: "ready", threads, loadMs: performance.now() - started };
}

async function runOnce(): Promise<BareSessionResponse> {
  if (!session || !input) throw new Error('the bare session is not loaded: send {type: "load"} first');
  const started = performance.now();
  const outputs = await session.run({ [BARE_SESSION_INPUT]: input });
  const ms = performance.now() - started;
  for (const output of Object.values(outputs)) output.dispose();
  return { status: "ran", ms };
}

self.addEventListener("message", (event: MessageEvent<BareSessionRequest>) => {
  const request = event.data;
  (request.type === "load" ? load(request.modelUrl) : runOnce()).then(
    (answer) => self.postMessage(answer),
    (error: unknown) => self.postMessage({ status: "error", message: error instanceof Error ? error.message : String(error) } satisfies BareSessionResponse),
  );
});
