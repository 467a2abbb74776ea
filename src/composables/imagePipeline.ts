import type { InjectionKey, Ref } from "vue";
import type { PrivacyMode } from "../../convex/lib/shapes";

/** What is stored for a picture under a privacy mode; null stores no image at all. */
export interface StoredImage {
  blob: Blob;
  width: number;
  height: number;
}

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
  prepareForStorage(file: File, mode: PrivacyMode): Promise<StoredImage | null>;
  extractFeatures(file: File): Promise<Float32Array>;
  modelStatus: Readonly<Ref<ClipModelStatus>>;
  /** Starts the model download ahead of the first image, so its progress shows at once. */
  preload?(): void;
}

export const imagePipelineKey: InjectionKey<ImagePipeline> = Symbol("ImagePipeline");
