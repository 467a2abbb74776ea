/**
 * Module Web Worker that owns the CLIP model; the page talks to it only
 * through useClipExtractor and the messages in clipProtocol.ts.
 */
import { env } from "@huggingface/transformers";
import wasm from "onnxruntime-web/ort-wasm-simd-threaded.asyncify.wasm?url";
import mjs from "onnxruntime-web/ort-wasm-simd-threaded.asyncify.mjs?url";
import { resolveBrowserDevice } from "./clipConfig.ts";
import { createClipService } from "./clipService.ts";

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown | null> };
}

/** The library's default is a CDN; the app serves ONNX Runtime's files itself. */
const onnxWasm = env.backends.onnx.wasm!;
onnxWasm.wasmPaths = { wasm, mjs };

// ONNX Runtime picks min(4, ceil(cores/2)) threads, i.e. one on a 2-core
// machine; threads need cross-origin isolation (SharedArrayBuffer).
const threads = self.crossOriginIsolated ? Math.max(1, Math.min(navigator.hardwareConcurrency || 1, 4)) : 1;
onnxWasm.numThreads = threads;

async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (navigator as GpuNavigator).gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) !== null;
  } catch {
    return false;
  }
}

const service = createClipService({
  resolveDevice: async (config) => resolveBrowserDevice(config.device, config.device === "wasm" ? false : await hasWebGpuAdapter()),
  threads,
  post: (message, transfer = []) => self.postMessage(message, { transfer }),
});

self.addEventListener("message", (event: MessageEvent) => {
  void service.handle(event.data);
});
