/** What the benchmark page and its bare-session worker exchange, and what the page hands back to Node. */

export type BareSessionRequest = { type: "load"; modelUrl: string } | { type: "run" };

export type BareSessionResponse =
  | { status: "ready"; threads: number; loadMs: number }
  /** One session.run, timed inside the worker. */
  | { status: "ran"; ms: number }
  | { status: "error"; message: string };

export interface BreakdownRequest {
  modelHost: string;
  modelId: string;
  image: Blob;
  warmupRuns: number;
  timedRuns: number;
}

export type BreakdownResponse =
  | { status: "done"; decodeMs: number[]; resizeMs: number[]; processorMs: number[] }
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
  /** The pipeline's steps before the model, each timed alone (same image, same processor config and resize code). */
  decodeMs: number[];
  resizeMs: number[];
  processorMs: number[];
}

export const BARE_SESSION_INPUT = "pixel_values";
export const ONNX_FILE_BY_DTYPE = { q8: "vision_model_quantized.onnx", fp32: "vision_model.onnx" } as const;
