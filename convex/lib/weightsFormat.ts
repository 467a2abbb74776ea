/**
 * The canonical MLP weights format (format version 1).
 * Documented for people in weights/README.md. Pure: imported by Convex,
 * tools/, tests/ and the browser's pre-upload check. No zod here: the
 * classify action imports this module, and the JSON schemas (weightsSchema.ts)
 * are only for importing files.
 */

export const WEIGHTS_FORMAT = "clip-mlp-weights";
export const WEIGHTS_FORMAT_VERSION = 1;
export const DEFAULT_CLIP_MODEL_ID = "Xenova/clip-vit-base-patch32";
export const DEFAULT_FEATURE_DIM = 512;

export const featureNormalizations = ["none", "l2"] as const;
export type FeatureNormalization = (typeof featureNormalizations)[number];

export const hiddenActivations = ["relu", "none"] as const;
export type HiddenActivation = (typeof hiddenActivations)[number];

export const outputActivations = ["sigmoid-normalized", "softmax", "sigmoid"] as const;
export type OutputActivation = (typeof outputActivations)[number];

export interface InputSpec {
  dim: number;
  clipModel: string;
  normalize: FeatureNormalization;
}

/**
 * The in-memory model every engine and codec works on: Float32 tensors,
 * weight row-major [outDim][inDim]. Decoding the binary storage form yields
 * views into one buffer; converting canonical JSON copies into new arrays.
 */
export interface MlpLayer {
  inDim: number;
  outDim: number;
  weight: Float32Array;
  bias: Float32Array;
  activation: HiddenActivation;
}

export interface MlpModel {
  name: string;
  classes: string[];
  input: InputSpec;
  outputActivation: OutputActivation;
  layers: MlpLayer[];
}

/** Shape summary stored with each version and shown in the dashboard. */
export interface ManifestSummary {
  name: string;
  classes: string[];
  input: InputSpec;
  outputActivation: OutputActivation;
  layerShapes: Array<{ inDim: number; outDim: number; activation: HiddenActivation }>;
  parameterCount: number;
}

// Type-only: erased at run time, so importing these types loads no zod.
export type { CanonicalLayer, CanonicalWeights } from "./weightsSchema.ts";
