import { sharedClipExtractor } from "../composables/useClipExtractor.ts";

/**
 * The 512 CLIP features (raw image_embeds, not L2-normalised) of an image,
 * computed in the app's CLIP worker. Pass the original file, not a
 * downscaled or thumbnail copy, so features match what tools/ extract.
 */
export function extractCLIPFeatures(file: Blob): Promise<Float32Array> {
  return sharedClipExtractor().extract(file);
}
