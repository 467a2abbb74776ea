import { getCurrentScope, onScopeDispose, readonly, ref, type Ref } from "vue";
import { clipConfigFromEnv, type ClipConfig } from "../clip/clipConfig.ts";
import { parseClipResponse, type ClipReadyResponse, type ClipRequest, type ClipResponse } from "../clip/clipProtocol.ts";

/** The part of a Worker the extractor uses; tests pass a fake. */
export interface ClipWorkerLike {
  postMessage(message: ClipRequest): void;
  addEventListener(type: "message", listener: (event: MessageEvent) => void): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  terminate(): void;
}

export type ClipWorkerFactory = () => ClipWorkerLike;

export const createClipWorker: ClipWorkerFactory = () =>
  new Worker(new URL("../clip/clip.worker.ts", import.meta.url), { type: "module", name: "clip" }) as ClipWorkerLike;

export type ClipExtractorStatus = "idle" | "loading" | "ready" | "failed";

export interface ClipLoadProgress {
  /** Bytes per model file, as the download reports them. */
  files: Record<string, { loaded: number; total: number }>;
  /** 0…1 over all files whose size is known; null before any size is known. */
  fraction: number | null;
}

export interface ClipExtractorOptions {
  /** Defaults to the VITE_CLIP_* environment variables. */
  config?: ClipConfig | (() => ClipConfig);
  createWorker?: ClipWorkerFactory;
}

export interface ClipExtractor {
  status: Readonly<Ref<ClipExtractorStatus>>;
  progress: Readonly<Ref<ClipLoadProgress>>;
  /** The last loading failure ("CLIP model loading failed: …"), cleared by a successful load. */
  error: Readonly<Ref<string | null>>;
  /** Device, dtype and threads once the model is ready. */
  backend: Readonly<Ref<Omit<ClipReadyResponse, "status"> | null>>;
  /** Requests waiting or running. */
  pending: Readonly<Ref<number>>;
  /** Starts loading the model without extracting anything (e.g. on page open). */
  load(): void;
  /** 512 raw image_embeds for one image; requests run one at a time, in order. */
  extract(image: Blob): Promise<Float32Array>;
  dispose(): void;
}

interface QueuedRequest {
  id: number;
  image: Blob;
  resolve: (features: Float32Array) => void;
  reject: (error: Error) => void;
}

function fractionOf(files: ClipLoadProgress["files"]): number | null {
  const sizes = Object.values(files).filter((file) => file.total > 0);
  if (sizes.length === 0) return null;
  const total = sizes.reduce((sum, file) => sum + file.total, 0);
  const loaded = sizes.reduce((sum, file) => sum + Math.min(file.loaded, file.total), 0);
  return loaded / total;
}

/** An extractor that owns one worker; not tied to a component (see useClipExtractor). */
export function createClipExtractor(options: ClipExtractorOptions = {}): ClipExtractor {
  const status = ref<ClipExtractorStatus>("idle");
  const progress = ref<ClipLoadProgress>({ files: {}, fraction: null });
  const error = ref<string | null>(null);
  const backend = ref<Omit<ClipReadyResponse, "status"> | null>(null);
  const pending = ref(0);
  const queue: QueuedRequest[] = [];
  let active: QueuedRequest | null = null;
  let worker: ClipWorkerLike | null = null;
  let nextId = 0;
  let disposed = false;

  function settle(request: QueuedRequest, outcome: { features: Float32Array } | { error: Error }): void {
    pending.value = queue.length + (active ? 1 : 0);
    if ("features" in outcome) request.resolve(outcome.features);
    else request.reject(outcome.error);
  }

  function pump(): void {
    if (!worker || status.value !== "ready" || active) return;
    const request = queue.shift();
    if (!request) return;
    active = request;
    const name = request.image instanceof File ? request.image.name : undefined;
    worker.postMessage({ type: "extract", id: request.id, image: request.image, ...(name ? { name } : {}) });
  }

  /** Settles the request in flight and sends the next one. */
  function finishActive(request: QueuedRequest, outcome: { features: Float32Array } | { error: Error }): void {
    active = null;
    settle(request, outcome);
    pump();
  }

  function failAll(message: string): void {
    const failed = [...(active ? [active] : []), ...queue.splice(0)];
    active = null;
    for (const request of failed) settle(request, { error: new Error(message) });
  }

  function failLoading(message: string): void {
    status.value = "failed";
    error.value = message;
    failAll(message);
  }

  function onResponse(response: ClipResponse): void {
    switch (response.status) {
      case "progress": {
        const files = { ...progress.value.files, [response.file]: { loaded: response.loaded, total: response.total } };
        progress.value = { files, fraction: fractionOf(files) };
        return;
      }
      case "ready":
        status.value = "ready";
        error.value = null;
        backend.value = { device: response.device, dtype: response.dtype, threads: response.threads };
        pump();
        return;
      case "result":
      case "error": {
        if (response.id === undefined) {
          failLoading(response.status === "error" ? response.message : "The CLIP worker sent a result without a request id");
          return;
        }
        if (!active || active.id !== response.id) return;
        finishActive(active, response.status === "result" ? { features: response.features } : { error: new Error(response.message) });
        return;
      }
    }
  }

  function onMessage(event: MessageEvent): void {
    let response: ClipResponse;
    try {
      response = parseClipResponse(event.data);
    } catch (problem) {
      const message = problem instanceof Error ? problem.message : String(problem);
      if (status.value === "loading") failLoading(message);
      else if (active) finishActive(active, { error: new Error(message) });
      return;
    }
    onResponse(response);
  }

  function load(): void {
    if (disposed || status.value === "loading" || status.value === "ready") return;
    let config: ClipConfig;
    try {
      config = typeof options.config === "function" ? options.config() : (options.config ?? clipConfigFromEnv(import.meta.env));
    } catch (problem) {
      failLoading(`CLIP model loading failed: ${problem instanceof Error ? problem.message : String(problem)}`);
      return;
    }
    if (!worker) {
      worker = (options.createWorker ?? createClipWorker)();
      worker.addEventListener("message", onMessage);
      worker.addEventListener("error", (event: ErrorEvent) => {
        // A worker script that fails to start cannot recover; the next load makes a new one.
        worker?.terminate();
        worker = null;
        failLoading(`CLIP model loading failed: the CLIP worker stopped (${event.message || "script error"})`);
      });
    }
    status.value = "loading";
    error.value = null;
    worker.postMessage({ type: "load", config });
  }

  function extract(image: Blob): Promise<Float32Array> {
    if (disposed) return Promise.reject(new Error("The CLIP extractor was disposed"));
    return new Promise<Float32Array>((resolve, reject) => {
      queue.push({ id: nextId++, image, resolve, reject });
      pending.value = queue.length + (active ? 1 : 0);
      if (status.value === "idle" || status.value === "failed") load();
      else pump();
    });
  }

  function dispose(): void {
    if (disposed) return;
    disposed = true;
    worker?.terminate();
    worker = null;
    failAll("The CLIP extractor was disposed");
    status.value = "idle";
  }

  return {
    status: readonly(status),
    progress: readonly(progress) as Readonly<Ref<ClipLoadProgress>>,
    error: readonly(error),
    backend: readonly(backend) as Readonly<Ref<Omit<ClipReadyResponse, "status"> | null>>,
    pending: readonly(pending),
    load,
    extract,
    dispose,
  };
}

let shared: ClipExtractor | null = null;

/** The app-wide extractor: one worker and one model download for every page. */
export function sharedClipExtractor(): ClipExtractor {
  shared ??= createClipExtractor();
  return shared;
}

/**
 * The CLIP extractor for a component. Without options it is the app-wide
 * shared one, which outlives the component; with options (a worker factory in
 * tests, a different config) it is a private one, disposed with the scope.
 */
export function useClipExtractor(options?: ClipExtractorOptions): ClipExtractor {
  if (!options) return sharedClipExtractor();
  const extractor = createClipExtractor(options);
  if (getCurrentScope()) onScopeDispose(extractor.dispose);
  return extractor;
}
