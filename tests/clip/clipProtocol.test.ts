import { describe, expect, it } from "vitest";
import { parseClipRequest, parseClipResponse, requestIdOf } from "../../src/clip/clipProtocol.ts";

describe("CLIP worker protocol", () => {
  it("accepts load and extract requests and fills config defaults", () => {
    expect(parseClipRequest({ type: "load", config: { modelId: "tiny-clip", modelHost: "/models/" } })).toEqual({
      type: "load",
      config: { modelId: "tiny-clip", modelHost: "/models/", device: "auto" },
    });
    const image = new Blob([new Uint8Array([1, 2, 3])], { type: "image/png" });
    expect(parseClipRequest({ type: "extract", id: 3, image, name: "a.png" })).toEqual({ type: "extract", id: 3, image, name: "a.png" });
    expect(parseClipRequest({ type: "extract", id: 4, image: new ArrayBuffer(3) }).type).toBe("extract");
  });

  it("rejects malformed requests with the field at fault", () => {
    expect(() => parseClipRequest({ type: "extract", id: -1, image: "pixels" })).toThrow(/^Invalid CLIP worker request: id: .*; image: image must be a Blob or an ArrayBuffer$/);
    expect(() => parseClipRequest({ type: "classify" })).toThrow(/^Invalid CLIP worker request: type: /);
    expect(() => parseClipRequest({ type: "load", config: { dtype: "int4" } })).toThrow(/config\.dtype/);
    expect(requestIdOf({ type: "extract", id: 7, image: null })).toBe(7);
    expect(requestIdOf({ id: "7" })).toBeUndefined();
  });

  it("accepts each response and insists on 512 features", () => {
    expect(parseClipResponse({ status: "progress", file: "onnx/vision_model_quantized.onnx", loaded: 10, total: 100 }).status).toBe("progress");
    expect(parseClipResponse({ status: "ready", device: "wasm", dtype: "q8", threads: 2 }).status).toBe("ready");
    expect(parseClipResponse({ status: "result", id: 1, features: new Float32Array(512) }).status).toBe("result");
    expect(parseClipResponse({ status: "error", message: "CLIP model loading failed: x" })).toEqual({ status: "error", message: "CLIP model loading failed: x" });
    expect(() => parseClipResponse({ status: "result", id: 1, features: new Float32Array(511) })).toThrow("features: features must hold 512 values, found 511");
    expect(() => parseClipResponse({ status: "result", id: 1, features: [1, 2] })).toThrow(/^Invalid CLIP worker response: features: /);
  });
});
