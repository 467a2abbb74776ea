/**
 * The browser stage's page: the app's real CLIP worker (src/clip/clip.worker.ts,
 * driven through its typed protocol as useClipExtractor drives it) against a
 * bare onnxruntime-web session on the same model file, plus a breakdown
 * worker that times the app worker's steps before the model one by one. All
 * are loaded first; then each round extracts one image through the app's
 * worker, runs the bare session once and the timed steps once, so all see
 * the same machine load. Node calls `window.runClipBench`.
 */
import { parseClipResponse, type ClipRequest, type ClipResponse } from "../../../src/clip/clipProtocol.ts";
import {
  ONNX_FILE_BY_DTYPE,
  type BareSessionRequest,
  type BareSessionResponse,
  type BreakdownRequest,
  type BreakdownResponse,
  type BrowserBenchOptions,
  type BrowserBenchResult,
} from "./protocol.ts";

declare global {
  interface Window {
    runClipBench(options: BrowserBenchOptions): Promise<BrowserBenchResult>;
  }
}

/** One request in flight at a time; answers the next non-progress message. */
function requester<Request, Response>(worker: Worker, name: string, parse: (data: unknown) => Response, isProgress: (message: Response) => boolean = () => false) {
  let waiting: { resolve: (value: Response) => void; reject: (error: Error) => void } | null = null;
  worker.addEventListener("message", (event: MessageEvent) => {
    const message = parse(event.data);
    if (isProgress(message)) return;
    const pending = waiting;
    waiting = null;
    pending?.resolve(message);
  });
  worker.addEventListener("error", (event) => waiting?.reject(new Error(`${name} failed: ${event.message}`)));
  return (request: Request) =>
    new Promise<Response>((resolve, reject) => {
      waiting = { resolve, reject };
      worker.postMessage(request);
    });
}

window.runClipBench = async (options) => {
  const response = await fetch(options.imageUrl);
  if (!response.ok) throw new Error(`fetching the benchmark image ${options.imageUrl} answered ${response.status}`);
  const image = await response.blob();

  const app = new Worker(new URL("../../../src/clip/clip.worker.ts", import.meta.url), { type: "module" });
  const bare = new Worker(new URL("./bareSession.worker.ts", import.meta.url), { type: "module" });
  const breakdown = new Worker(new URL("./breakdown.worker.ts", import.meta.url), { type: "module" });
  try {
    const sendApp = requester<ClipRequest, ClipResponse>(app, "CLIP worker", parseClipResponse, (message) => message.status === "progress");
    const sendBare = requester<BareSessionRequest, BareSessionResponse>(bare, "bare session worker", (data) => data as BareSessionResponse);
    const sendBreakdown = requester<BreakdownRequest, BreakdownResponse>(breakdown, "breakdown worker", (data) => data as BreakdownResponse);

    let loadStarted = performance.now();
    const ready = await sendApp({ type: "load", config: { modelId: options.modelId, modelHost: options.modelHost, dtype: options.dtype, device: "wasm" } });
    if (ready.status !== "ready") throw new Error(`CLIP worker did not load: ${ready.status === "error" ? ready.message : ready.status}`);
    const pipelineLoadMs = performance.now() - loadStarted;
    loadStarted = performance.now();
    const bareReady = await sendBare({ type: "load", modelUrl: `${options.modelHost}${options.modelId}/onnx/${ONNX_FILE_BY_DTYPE[options.dtype]}` });
    if (bareReady.status !== "ready") throw new Error(`bare session did not load: ${bareReady.status === "error" ? bareReady.message : bareReady.status}`);
    const breakdownReady = await sendBreakdown({ type: "load", modelHost: options.modelHost, modelId: options.modelId });
    if (breakdownReady.status !== "ready") throw new Error(`breakdown worker did not load: ${breakdownReady.status === "error" ? breakdownReady.message : breakdownReady.status}`);

    let id = 0;
    const extract = async () => {
      const started = performance.now();
      const result = await sendApp({ type: "extract", id: ++id, image, name: "bench.jpg" });
      const ms = performance.now() - started;
      if (result.status !== "result") throw new Error(`CLIP worker: ${result.status === "error" ? result.message : `unexpected ${result.status}`}`);
      return ms;
    };
    const runBare = async () => {
      const answer = await sendBare({ type: "run" });
      if (answer.status !== "ran") throw new Error(`bare session: ${answer.status === "error" ? answer.message : `unexpected ${answer.status}`}`);
      return answer.ms;
    };
    const runSteps = async () => {
      const answer = await sendBreakdown({ type: "run", image });
      if (answer.status !== "ran") throw new Error(`breakdown: ${answer.status === "error" ? answer.message : `unexpected ${answer.status}`}`);
      return answer;
    };
    const pipelineMs: number[] = [];
    const bareMs: number[] = [];
    const decodeMs: number[] = [];
    const preprocessMs: number[] = [];
    for (let round = 0; round < options.warmupRuns + options.timedRuns; round++) {
      const pipeline = await extract();
      const model = await runBare();
      const steps = await runSteps();
      if (round >= options.warmupRuns) {
        pipelineMs.push(pipeline);
        bareMs.push(model);
        decodeMs.push(steps.decodeMs);
        preprocessMs.push(steps.preprocessMs);
      }
    }
    return {
      crossOriginIsolated: self.crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency,
      pipelineThreads: ready.threads,
      bareThreads: bareReady.threads,
      pipelineMs,
      bareMs,
      pipelineLoadMs,
      bareLoadMs: bareReady.loadMs,
      decodeMs,
      preprocessMs,
    };
  } finally {
    app.terminate();
    bare.terminate();
    breakdown.terminate();
  }
};
