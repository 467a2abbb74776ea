import { describe, expect, it } from "vitest";
import { classifyModelHost, ClipConfigError, clipConfigFromEnv, parseClipConfig, resolveBrowserDevice, resolveClipConfig } from "../../src/clip/clipConfig.ts";

describe("clipConfigFromEnv", () => {
  it("defaults to Xenova/clip-vit-base-patch32 from the Hub on the best device", () => {
    expect(clipConfigFromEnv({})).toEqual({ modelId: "Xenova/clip-vit-base-patch32", modelHost: "hub", device: "auto" });
    expect(clipConfigFromEnv({ VITE_CLIP_DTYPE: "", VITE_CLIP_MODEL_ID: "" })).toEqual(clipConfigFromEnv({}));
  });

  it("reads every VITE_CLIP_* variable", () => {
    expect(clipConfigFromEnv({ VITE_CLIP_MODEL_ID: "tiny-clip", VITE_CLIP_MODEL_HOST: "/models/", VITE_CLIP_DTYPE: "fp32", VITE_CLIP_DEVICE: "wasm" })).toEqual({
      modelId: "tiny-clip",
      modelHost: "/models/",
      dtype: "fp32",
      device: "wasm",
    });
  });

  it("lists every bad variable with what it found", () => {
    let error: unknown;
    try {
      clipConfigFromEnv({ VITE_CLIP_DTYPE: "fp16", VITE_CLIP_DEVICE: "gpu" });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ClipConfigError);
    const problems = (error as ClipConfigError).problems;
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^VITE_CLIP_DTYPE .*"q8".*"fp32".*found "fp16"$/);
    expect(problems[1]).toMatch(/^VITE_CLIP_DEVICE .*"webgpu".*found "gpu"$/);
    expect((error as Error).message).toMatch(/^Invalid CLIP configuration: VITE_CLIP_DTYPE/);
  });

  it("rejects a blank model id given in code", () => {
    expect(() => parseClipConfig({ modelId: "  " })).toThrow(/modelId must be a model id such as Xenova\/clip-vit-base-patch32, found "  "/);
  });
});

describe("device, dtype and host resolution", () => {
  it("uses WebGPU only when an adapter exists and wasm was not forced", () => {
    expect(resolveBrowserDevice("auto", true)).toBe("webgpu");
    expect(resolveBrowserDevice("auto", false)).toBe("wasm");
    expect(resolveBrowserDevice("webgpu", false)).toBe("wasm");
    expect(resolveBrowserDevice("wasm", true)).toBe("wasm");
  });

  it("defaults dtype to q8 on wasm/cpu and fp32 on webgpu, unless set", () => {
    const config = parseClipConfig({});
    expect(resolveClipConfig(config, "wasm").dtype).toBe("q8");
    expect(resolveClipConfig(config, "cpu").dtype).toBe("q8");
    expect(resolveClipConfig(config, "webgpu").dtype).toBe("fp32");
    expect(resolveClipConfig({ ...config, dtype: "q8" }, "webgpu").dtype).toBe("q8");
  });

  it("classifies hosts and insists on absolute paths", () => {
    expect(classifyModelHost("hub")).toEqual({ kind: "hub" });
    expect(classifyModelHost("https://cdn.example.com/clip")).toEqual({ kind: "url", url: "https://cdn.example.com/clip/" });
    expect(classifyModelHost("/models")).toEqual({ kind: "path", path: "/models/" });
    expect(() => classifyModelHost("models/")).toThrow('modelHost must be "hub", an http(s) URL or an absolute path such as /models/, found "models/"');
  });
});
