import type { InjectionKey, Ref } from "vue";
import type { PrivacyMode } from "../../convex/lib/shapes";
import type { StoredImage } from "./imageFiles";

/** Where the CLIP model download stands, for the progress bar. */
export interface ClipModelStatus {
  phase: "idle" | "loading" | "ready" | "failed";
  /** 0…1 while the download size is known, otherwise null. */
  fraction: number | null;
  /** "CLIP model loading failed: <cause>" when phase is "failed". */
  error: string | null;
}

/**
 * The browser-side image work of the upload queue. The app uses the CLIP worker and
 * canvas helpers; component tests provide a stand-in under `imagePipelineKey`.
 */
export interface ImagePipeline {
  /** Rejects with a message naming the file when it is not a readable image. */
  checkImage(file: File): Promise<void>;
  /** What is stored for a picture under a privacy mode; null stores no image at all. */
  prepareForStorage(file: File, mode: PrivacyMode): Promise<StoredImage | null>;
  /**
   * The 512 CLIP features (raw image_embeds, not L2-normalised) of the original
   * file, not of a downscaled or thumbnail copy, so they match what tools/ extract.
   */
  extractFeatures(file: File): Promise<Float32Array>;
  modelStatus: Readonly<Ref<ClipModelStatus>>;
  /** Starts the model download ahead of the first image, so its progress shows at once. */
  preload?(): void;
}

export const imagePipelineKey: InjectionKey<ImagePipeline> = Symbol("ImagePipeline");
