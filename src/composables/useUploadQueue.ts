import { computed } from "vue";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import type { ClassificationResult, PrivacyMode } from "../../convex/lib/shapes";
import { RASTER_IMAGE_TYPES_TEXT } from "../../convex/lib/imageTypes";
import { errorMessage } from "../backend/errorMessage";
import { imageTypeOf } from "../images/imageFiles";
import type { ImagePipeline } from "../images/imagePipeline";
import { useToastStore } from "../stores/toasts";
import { useUploadQueueStore, type UploadItem, type UploadStage } from "../stores/uploadQueue";
import { useAction } from "./useAction";
import { useMutation } from "./useMutation";
import { untilLoaded, useQuery } from "./useQuery";
import { useUploadFile } from "./useUploadFile";

export interface UploadQueueOptions {
  pipeline: ImagePipeline;
  /** How many images are in flight at once; keeps 200 dropped files from flooding the page. */
  concurrency?: number;
}

/** The server calls an upload makes, from the call composables. */
interface UploadCalls {
  privacyMode(): Promise<PrivacyMode>;
  generateUploadUrl: ReturnType<typeof useMutation<typeof api.pictures.generateUploadUrl>>;
  uploadFile: ReturnType<typeof useUploadFile>;
  recordPicture: ReturnType<typeof useMutation<typeof api.pictures.record>>;
  classifyImageFeatures: ReturnType<typeof useAction<typeof api.classifications.classify>>;
  retryClassification: ReturnType<typeof useAction<typeof api.classifications.retry>>;
}

export const extractingMessage = "Extracting image features...";

class StageError extends Error {
  constructor(
    readonly stage: UploadStage,
    message: string,
    readonly retryable = true,
  ) {
    super(message);
  }
}

async function runStage<T>(stage: UploadStage, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StageError) throw error;
    throw new StageError(stage, errorMessage(error));
  }
}

/** Upload → extract → classify for each queued file, a few at a time. */
function createUploadRunner(calls: UploadCalls, store: ReturnType<typeof useUploadQueueStore>, options: UploadQueueOptions) {
  const concurrency = Math.max(1, options.concurrency ?? 2);
  const toasts = useToastStore();
  let running = 0;
  let extractionToast: number | null = null;
  let extracting = 0;
  /** Items waiting to (re)start, and the stage each resumes at. */
  const waiting: Array<{ id: number; from: UploadStage }> = [];

  async function upload(item: UploadItem): Promise<Id<"pictures">> {
    store.update(item.id, { status: "uploading" });
    // recordPicture refuses an empty content type, which a file without a MIME type would send when no copy is stored.
    const fileType = await runStage("uploading", () => imageTypeOf(item.file));
    if (fileType === null) {
      throw new StageError(
        "uploading",
        `"${item.fileName}" was not uploaded: it has no file type and its first bytes are none of ${RASTER_IMAGE_TYPES_TEXT}`,
        false,
      );
    }
    const mode = await runStage("uploading", calls.privacyMode);
    const stored = await runStage("uploading", () => options.pipeline.prepareForStorage(item.file, mode));
    let storageId: Id<"_storage"> | undefined;
    if (stored !== null) {
      const uploadUrl = await runStage("uploading", () => calls.generateUploadUrl({}));
      storageId = await runStage("uploading", () => calls.uploadFile(uploadUrl, stored.blob));
    }
    const pictureId = await runStage("uploading", () =>
      calls.recordPicture({
        storageId,
        fileName: item.fileName,
        contentType: stored?.blob.type || fileType,
        width: stored?.width,
        height: stored?.height,
      }),
    );
    store.update(item.id, { pictureId });
    return pictureId;
  }

  async function extract(item: UploadItem): Promise<Float32Array> {
    store.update(item.id, { status: "extracting" });
    extracting += 1;
    if (extractionToast === null) extractionToast = toasts.show(extractingMessage, "info", 0);
    try {
      return await runStage("extracting", () => options.pipeline.extractFeatures(item.file));
    } finally {
      extracting -= 1;
      if (extracting === 0 && extractionToast !== null) {
        toasts.dismiss(extractionToast);
        extractionToast = null;
      }
    }
  }

  async function classify(pictureId: Id<"pictures">, features: Float32Array | null, itemId: number): Promise<ClassificationResult> {
    store.update(itemId, { status: "classifying" });
    return runStage("classifying", () =>
      features === null
        ? calls.retryClassification({ pictureId })
        : calls.classifyImageFeatures({ pictureId, clipFeatures: Array.from(features) }),
    );
  }

  async function process(id: number, from: UploadStage): Promise<void> {
    const item = store.find(id);
    if (!item) return;
    store.update(id, { error: null, failedStage: null, retryable: true });
    try {
      if (from === "checking") {
        await runStage("checking", () => options.pipeline.checkImage(item.file)).catch((error: StageError) => {
          throw new StageError("checking", error.message, false);
        });
      }
      let pictureId = item.pictureId;
      if (from === "checking" || from === "uploading" || pictureId === null) pictureId = await upload(item);
      // The server keeps the features it was sent, so a failed classification is
      // retried from them; anything earlier needs the features extracted again.
      const features = from === "classifying" ? null : await extract(item);
      const result = await classify(pictureId, features, id);
      store.update(id, { status: "done", result });
    } catch (error) {
      const failure = error instanceof StageError ? error : new StageError(from, errorMessage(error));
      store.update(id, { status: "failed", error: failure.message, failedStage: failure.stage, retryable: failure.retryable });
    }
  }

  function pump(): void {
    while (running < concurrency && waiting.length > 0) {
      const next = waiting.shift()!;
      running += 1;
      void process(next.id, next.from).finally(() => {
        running -= 1;
        pump();
      });
    }
  }

  return {
    enqueue(files: readonly File[]): void {
      for (const item of store.add(files)) waiting.push({ id: item.id, from: "checking" });
      pump();
    },
    retry(id: number): void {
      const item = store.find(id);
      if (!item || item.status !== "failed" || !item.retryable) return;
      const from: UploadStage = item.failedStage === "classifying" ? "classifying" : item.pictureId === null ? "uploading" : "extracting";
      store.update(id, { status: "queued", error: null });
      waiting.push({ id, from });
      pump();
    },
  };
}

/** The upload queue and the privacy mode it applies (undefined until the settings load). */
export function useUploadQueue(options: UploadQueueOptions) {
  const store = useUploadQueueStore();
  const settings = useQuery(api.settings.get, {});
  const runner = createUploadRunner(
    {
      privacyMode: async () => (await untilLoaded(settings)).privacyMode,
      generateUploadUrl: useMutation(api.pictures.generateUploadUrl),
      uploadFile: useUploadFile(),
      recordPicture: useMutation(api.pictures.record),
      classifyImageFeatures: useAction(api.classifications.classify),
      retryClassification: useAction(api.classifications.retry),
    },
    store,
    options,
  );
  const privacyMode = computed<PrivacyMode | undefined>(() => settings.data.value?.privacyMode);
  return { store, privacyMode, enqueue: runner.enqueue, retry: runner.retry };
}
