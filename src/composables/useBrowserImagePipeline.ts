import { computed } from "vue";
import { checkImageFile, downscaleImage, makeThumbnail } from "../images/imageFiles";
import type { ClipModelStatus, ImagePipeline } from "../images/imagePipeline";
import { useClipExtractor } from "./useClipExtractor";

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
    async prepareForStorage(file, mode) {
      if (mode === "none") return null;
      return mode === "thumbnail" ? makeThumbnail(file) : downscaleImage(file);
    },
    extractFeatures: (file) => extractor.extract(file),
    modelStatus,
    preload: () => extractor.load(),
  };
}
