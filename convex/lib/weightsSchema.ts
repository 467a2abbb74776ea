import { z } from "zod";
import {
  featureNormalizations,
  hiddenActivations,
  outputActivations,
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  type InputSpec,
} from "./weightsFormat.ts";

/**
 * The canonical weights file as zod schemas, for the edges that read files:
 * the import dialog, the CLI and the server's import validation. Kept apart
 * from weightsFormat.ts so that the classify action never loads zod.
 */

export const inputSpecSchema = z.object({
  dim: z.number().int().positive(),
  clipModel: z.string().min(1),
  normalize: z.enum(featureNormalizations),
});

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

/** Fails to compile if the schema and weightsFormat.ts's InputSpec drift apart. */
const inputSpecMatches: [InputSpec, z.infer<typeof inputSpecSchema>] extends [z.infer<typeof inputSpecSchema>, InputSpec] ? true : never = true;
void inputSpecMatches;
