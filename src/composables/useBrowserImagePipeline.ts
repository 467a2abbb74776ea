import { computed } from "vue";
import type { PrivacyMode } from "../../convex/lib/shapes";
import { extractCLIPFeatures } from "../utils/clipFeatures";
import { checkImageFile, downscaleImage, makeThumbnail } from "../utils/imageFiles";
import type { ClipModelStatus, ImagePipeline, StoredImage } from "./imagePipeline";
import { useClipExtractor } from "./useClipExtractor";

async function measure(blob: Blob): Promise<StoredImage> {
  const bitmap = await createImageBitmap(blob);
  const stored = { blob, width: bitmap.width, height: bitmap.height };
  bitmap.close();
  return stored;
}

/** The real pipeline: canvas resizing for storage and the shared CLIP worker for features. */
export function useBrowserImagePipeline(): ImagePipeline {
  const extractor = useClipExtractor();
  const modelStatus = computed<ClipModelStatus>(() => ({
    phase: extractor.status.value,
    fraction: extractor.progress.value.fraction,
    error: extractor.error.value,
  }));
  return {
    checkImage: (file) => checkImageFile(file),
    async prepareForStorage(file: File, mode: PrivacyMode): Promise<StoredImage | null> {
      if (mode === "none") return null;
      return measure(mode === "thumbnail" ? await makeThumbnail(file) : await downscaleImage(file));
    },
    extractFeatures: (file) => extractCLIPFeatures(file),
    modelStatus,
    preload: () => extractor.load(),
  };
}
