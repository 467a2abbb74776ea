/** What the benchmark page and its bare-session worker exchange, and what the page hands back to Node. */

export type BareSessionRequest = { type: "load"; modelUrl: string } | { type: "run" };

export type BareSessionResponse =
  | { status: "ready"; threads: number; loadMs: number }
  /** One session.run, timed inside the worker. */
  | { status: "ran"; ms: number }
  | { status: "error"; message: string };

export type BreakdownRequest = { type: "load"; modelHost: string; modelId: string } | { type: "run"; image: Blob };

export type BreakdownResponse =
  | { status: "ready" }
  /** One image through the app worker's steps before the model, each timed inside the worker. */
  | { status: "ran"; decodeMs: number; preprocessMs: number }
  | { status: "error"; message: string };

export interface BrowserBenchOptions {
  /** Folder URL holding `<modelId>/` (transformers.js model host), e.g. "/demo-models/". */
  modelHost: string;
  modelId: string;
  dtype: "q8" | "fp32";
  imageUrl: string;
  warmupRuns: number;
  timedRuns: number;
}

export interface BrowserBenchResult {
  crossOriginIsolated: boolean;
  hardwareConcurrency: number;
  /** ONNX Runtime threads: as the app's worker reported them, and as the bare session used. */
  pipelineThreads: number;
  bareThreads: number;
  /** Per image, page postMessage → result message, through the app's worker. */
  pipelineMs: number[];
  /** Per run, session.run alone inside a worker, same model file, same input size; bareMs[i] ran right after pipelineMs[i]. */
  bareMs: number[];
  pipelineLoadMs: number;
  bareLoadMs: number;
  /** The app worker's steps before the model, timed one by one in a worker of their own (same image, processor config and code), run i right after bareMs[i]: decode, clipPixelValues. */
  decodeMs: number[];
  preprocessMs: number[];
}

export const BARE_SESSION_INPUT = "pixel_values";
export const ONNX_FILE_BY_DTYPE = { q8: "vision_model_quantized.onnx", fp32: "vision_model.onnx" } as const;
