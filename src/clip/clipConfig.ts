/**
 * Where and how the CLIP vision model is loaded. Pure and shared by the
 * browser worker and the Node tools; the values come from Vite env vars in
 * the app and from CLI flags in tools/.
 */
import { z } from "zod";

export const DEFAULT_CLIP_MODEL_ID = "Xenova/clip-vit-base-patch32";

/** Load from the Hugging Face Hub. */
export const HUB_MODEL_HOST = "hub";

export const clipDtypes = ["q8", "fp32"] as const;
export type ClipDtype = (typeof clipDtypes)[number];

export const clipDevices = ["auto", "webgpu", "wasm"] as const;
export type ClipDevice = (typeof clipDevices)[number];

/** The device a model actually runs on: the browser picks webgpu or wasm, Node runs on cpu. */
export type ClipRuntimeDevice = "webgpu" | "wasm" | "cpu";

const modelHostSchema = z
  .string()
  .trim()
  .min(1, "must be \"hub\", a URL such as https://cdn.example.com/models/, or a path such as /models/");

export const clipConfigSchema = z.object({
  modelId: z.string().trim().min(1, "must be a model id such as Xenova/clip-vit-base-patch32").default(DEFAULT_CLIP_MODEL_ID),
  /** "hub", an http(s) URL of a self-hosted mirror, or a path/folder holding `<modelId>/` folders. */
  modelHost: modelHostSchema.default(HUB_MODEL_HOST),
  /** Unset means q8 on wasm/cpu and fp32 on webgpu. */
  dtype: z.enum(clipDtypes).optional(),
  device: z.enum(clipDevices).default("auto"),
});
export type ClipConfig = z.infer<typeof clipConfigSchema>;
export type ClipConfigInput = z.input<typeof clipConfigSchema>;

/** A config with every choice made, as loadClipModel needs it. */
export interface ResolvedClipConfig {
  modelId: string;
  modelHost: string;
  dtype: ClipDtype;
  device: ClipRuntimeDevice;
}

const envVariables = {
  modelId: "VITE_CLIP_MODEL_ID",
  modelHost: "VITE_CLIP_MODEL_HOST",
  dtype: "VITE_CLIP_DTYPE",
  device: "VITE_CLIP_DEVICE",
} as const satisfies Record<keyof ClipConfig, string>;

export class ClipConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid CLIP configuration: ${problems.join("; ")}`);
    this.name = "ClipConfigError";
  }
}

function describeIssues(error: z.ZodError, nameOf: (key: string) => string, input: Record<string, unknown>): string[] {
  return error.issues.map((issue) => {
    const key = String(issue.path[0] ?? "");
    const found = input[key];
    return `${nameOf(key)} ${issue.message}, found ${JSON.stringify(found)}`;
  });
}

/** Validates a config given in code; throws ClipConfigError listing every bad field. */
export function parseClipConfig(input: ClipConfigInput): ClipConfig {
  const result = clipConfigSchema.safeParse(input);
  if (!result.success) throw new ClipConfigError(describeIssues(result.error, (key) => key, input as Record<string, unknown>));
  return result.data;
}

/**
 * Reads VITE_CLIP_MODEL_ID, VITE_CLIP_MODEL_HOST, VITE_CLIP_DTYPE and
 * VITE_CLIP_DEVICE (pass `import.meta.env`). Empty values mean the default.
 */
export function clipConfigFromEnv(env: Record<string, unknown>): ClipConfig {
  const input: Record<string, unknown> = {};
  for (const [key, variable] of Object.entries(envVariables)) {
    const value = env[variable];
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = clipConfigSchema.safeParse(input);
  if (!result.success) {
    throw new ClipConfigError(describeIssues(result.error, (key) => envVariables[key as keyof ClipConfig] ?? key, input));
  }
  return result.data;
}

/** q8 is the small, fast default for CPU-style backends; WebGPU has no int8 matmul advantage. */
export function defaultDtype(device: ClipRuntimeDevice): ClipDtype {
  return device === "webgpu" ? "fp32" : "q8";
}

/**
 * Picks the browser device. WebGPU runs only when an adapter exists, even
 * when requested, because many browsers expose `navigator.gpu` without one.
 */
export function resolveBrowserDevice(device: ClipDevice, hasWebGpuAdapter: boolean): "webgpu" | "wasm" {
  return device !== "wasm" && hasWebGpuAdapter ? "webgpu" : "wasm";
}

export function resolveClipConfig(config: ClipConfig, device: ClipRuntimeDevice): ResolvedClipConfig {
  return { modelId: config.modelId, modelHost: config.modelHost, dtype: config.dtype ?? defaultDtype(device), device };
}

export type ModelHostKind = { kind: "hub" } | { kind: "url"; url: string } | { kind: "path"; path: string };

/**
 * Classifies a modelHost value; URLs and paths always end with "/". Paths
 * must be absolute (a URL path such as /models/ in the browser, a resolved
 * folder in Node) because the library treats relative ones as Hub ids.
 */
export function classifyModelHost(modelHost: string): ModelHostKind {
  if (modelHost === HUB_MODEL_HOST) return { kind: "hub" };
  const withSlash = modelHost.endsWith("/") ? modelHost : `${modelHost}/`;
  if (/^https?:\/\//i.test(modelHost)) return { kind: "url", url: withSlash };
  if (!modelHost.startsWith("/")) {
    throw new ClipConfigError([`modelHost must be "hub", an http(s) URL or an absolute path such as /models/, found ${JSON.stringify(modelHost)}`]);
  }
  return { kind: "path", path: withSlash };
}
