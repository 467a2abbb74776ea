import { z } from "zod";

/**
 * The canonical MLP weights format (format version 1).
 * Documented for people in weights/README.md. Pure: imported by Convex,
 * tools/, tests/ and the browser's pre-upload check.
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

export const inputSpecSchema = z.object({
  dim: z.number().int().positive(),
  clipModel: z.string().min(1),
  normalize: z.enum(featureNormalizations),
});
export type InputSpec = z.infer<typeof inputSpecSchema>;

/** A Linear layer as PyTorch stores it: weight is [out][in], bias is [out]. */
export const layerSchema = z.object({
  weight: z.array(z.array(z.number())),
  bias: z.array(z.number()),
  activation: z.enum(hiddenActivations),
});
export type CanonicalLayer = z.infer<typeof layerSchema>;

export const canonicalWeightsSchema = z.object({
  format: z.literal(WEIGHTS_FORMAT),
  formatVersion: z.literal(WEIGHTS_FORMAT_VERSION),
  name: z.string().min(1).max(200),
  classes: z.array(z.string().min(1).max(100)).min(1),
  input: inputSpecSchema,
  layers: z.array(layerSchema).min(1),
  outputActivation: z.enum(outputActivations),
});
export type CanonicalWeights = z.infer<typeof canonicalWeightsSchema>;

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
