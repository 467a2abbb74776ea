import { describe, expect, it } from "vitest";
import { effectScope, nextTick } from "vue";
import type { ClipRequest, ClipResponse } from "../../../src/clip/clipProtocol.ts";
import { useClipExtractor, type ClipWorkerLike } from "../../../src/composables/useClipExtractor.ts";

/** A stand-in worker: records requests; the test decides what it answers. */
class FakeWorker implements ClipWorkerLike {
  readonly requests: ClipRequest[] = [];
  terminated = false;
  private messageListeners: Array<(event: MessageEvent) => void> = [];
  private errorListeners: Array<(event: ErrorEvent) => void> = [];

  postMessage(message: ClipRequest): void {
    this.requests.push(message);
  }

  addEventListener(type: "message" | "error", listener: ((event: MessageEvent) => void) | ((event: ErrorEvent) => void)): void {
    if (type === "message") this.messageListeners.push(listener as (event: MessageEvent) => void);
    else this.errorListeners.push(listener as (event: ErrorEvent) => void);
  }

  terminate(): void {
    this.terminated = true;
  }

  respond(message: ClipResponse | Record<string, unknown>): void {
    for (const listener of this.messageListeners) listener(new MessageEvent("message", { data: message }));
  }

  crash(message: string): void {
    for (const listener of this.errorListeners) listener(new ErrorEvent("error", { message }));
  }

  extractIds(): number[] {
    return this.requests.flatMap((request) => (request.type === "extract" ? [request.id] : []));
  }
}

const config = { modelId: "tiny-clip", modelHost: "/models/", device: "auto" as const };

function setup() {
  const workers: FakeWorker[] = [];
  const scope = effectScope();
  const extractor = scope.run(() =>
    useClipExtractor({
      config,
      createWorker: () => {
        const worker = new FakeWorker();
        workers.push(worker);
        return worker;
      },
    }),
  )!;
  return { extractor, scope, workers, worker: () => workers[workers.length - 1] };
}

function features(seed: number): Float32Array {
  return Float32Array.from({ length: 512 }, (_, i) => seed + i / 1000);
}

const image = (name: string) => new File([new Uint8Array([137, 80, 78, 71])], name, { type: "image/png" });

describe("useClipExtractor", () => {
  it("creates the worker lazily, loads the model on first extract and tracks download progress", async () => {
    const { extractor, workers, worker } = setup();
    expect(workers).toHaveLength(0);
    expect(extractor.status.value).toBe("idle");
    const result = extractor.extract(image("a.png"));
    expect(extractor.status.value).toBe("loading");
    expect(worker().requests).toEqual([{ type: "load", config }]);
    expect(extractor.progress.value.fraction).toBeNull();
    worker().respond({ status: "progress", file: "onnx/vision_model_quantized.onnx", loaded: 25, total: 100 });
    worker().respond({ status: "progress", file: "config.json", loaded: 0, total: 0 });
    expect(extractor.progress.value.fraction).toBe(0.25);
    worker().respond({ status: "progress", file: "preprocessor_config.json", loaded: 100, total: 100 });
    expect(extractor.progress.value).toEqual({
      files: {
        "onnx/vision_model_quantized.onnx": { loaded: 25, total: 100 },
        "config.json": { loaded: 0, total: 0 },
        "preprocessor_config.json": { loaded: 100, total: 100 },
      },
      fraction: 0.625,
    });
    expect(worker().extractIds()).toEqual([]);
    worker().respond({ status: "ready", device: "wasm", dtype: "q8", threads: 2 });
    expect(extractor.status.value).toBe("ready");
    expect(extractor.backend.value).toEqual({ device: "wasm", dtype: "q8", threads: 2 });
    expect(worker().requests[1]).toMatchObject({ type: "extract", id: 0, name: "a.png" });
    worker().respond({ status: "result", id: 0, features: features(1) });
    await expect(result).resolves.toEqual(features(1));
    expect(extractor.pending.value).toBe(0);
  });

  it("runs queued requests one at a time, in order, and keeps going after a failed one", async () => {
    const { extractor, worker } = setup();
    extractor.load();
    worker().respond({ status: "ready", device: "wasm", dtype: "q8", threads: 1 });
    const first = extractor.extract(image("1.png"));
    const second = extractor.extract(image("2.png"));
    const third = extractor.extract(image("3.png"));
    expect(extractor.pending.value).toBe(3);
    expect(worker().extractIds()).toEqual([0]);
    worker().respond({ status: "error", id: 0, message: '"1.png" could not be decoded: bad header' });
    await expect(first).rejects.toThrow('"1.png" could not be decoded: bad header');
    expect(worker().extractIds()).toEqual([0, 1]);
    worker().respond({ status: "result", id: 1, features: features(2) });
    await expect(second).resolves.toEqual(features(2));
    worker().respond({ status: "result", id: 2, features: features(3) });
    await expect(third).resolves.toEqual(features(3));
    expect(extractor.pending.value).toBe(0);
  });

  it("fails every waiting request when loading fails, shows the error, and retries on the next extract", async () => {
    const { extractor, worker } = setup();
    const first = extractor.extract(image("1.png"));
    const second = extractor.extract(image("2.png"));
    const message = 'CLIP model loading failed: model file "/models/tiny-clip/onnx/vision_model_quantized.onnx" is missing';
    worker().respond({ status: "error", message });
    await expect(first).rejects.toThrow(message);
    await expect(second).rejects.toThrow(message);
    expect(extractor.status.value).toBe("failed");
    expect(extractor.error.value).toBe(message);
    const retry = extractor.extract(image("3.png"));
    expect(extractor.status.value).toBe("loading");
    expect(extractor.error.value).toBeNull();
    expect(worker().requests.filter((request) => request.type === "load")).toHaveLength(2);
    worker().respond({ status: "ready", device: "wasm", dtype: "q8", threads: 1 });
    worker().respond({ status: "result", id: 2, features: features(4) });
    await expect(retry).resolves.toEqual(features(4));
  });

  it("rejects the active request when the worker answers with a malformed result", async () => {
    const { extractor, worker } = setup();
    extractor.load();
    worker().respond({ status: "ready", device: "wasm", dtype: "q8", threads: 1 });
    const result = extractor.extract(image("a.png"));
    worker().respond({ status: "result", id: 0, features: new Float32Array(3) });
    await expect(result).rejects.toThrow("Invalid CLIP worker response: features: features must hold 512 values, found 3");
  });

  it("turns a crashed worker into a loading failure and starts a new worker on retry", async () => {
    const { extractor, workers, worker } = setup();
    const result = extractor.extract(image("a.png"));
    worker().crash("Failed to fetch dynamically imported module");
    await expect(result).rejects.toThrow("CLIP model loading failed: the CLIP worker stopped (Failed to fetch dynamically imported module)");
    expect(workers[0].terminated).toBe(true);
    void extractor.extract(image("b.png")).catch(() => undefined);
    expect(workers).toHaveLength(2);
  });

  it("terminates the worker and rejects pending requests when its scope is disposed", async () => {
    const { extractor, scope, worker } = setup();
    const result = extractor.extract(image("a.png"));
    scope.stop();
    await nextTick();
    expect(worker().terminated).toBe(true);
    await expect(result).rejects.toThrow("The CLIP extractor was disposed");
    await expect(extractor.extract(image("b.png"))).rejects.toThrow("The CLIP extractor was disposed");
  });

  it("reports a bad configuration as a loading failure without starting a worker", async () => {
    const workers: FakeWorker[] = [];
    const extractor = effectScope().run(() =>
      useClipExtractor({
        config: () => {
          throw new Error("Invalid CLIP configuration: VITE_CLIP_DTYPE must be q8 or fp32");
        },
        createWorker: () => {
          const worker = new FakeWorker();
          workers.push(worker);
          return worker;
        },
      }),
    )!;
    await expect(extractor.extract(image("a.png"))).rejects.toThrow("CLIP model loading failed: Invalid CLIP configuration: VITE_CLIP_DTYPE must be q8 or fp32");
    expect(workers).toHaveLength(0);
    expect(extractor.status.value).toBe("failed");
  });
});
