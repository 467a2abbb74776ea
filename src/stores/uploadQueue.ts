import { defineStore } from "pinia";
import { computed, ref } from "vue";
import type { Id } from "../../convex/_generated/dataModel";
import type { ClassificationResult } from "../../convex/lib/shapes";

export type UploadStatus = "queued" | "uploading" | "extracting" | "classifying" | "done" | "failed";

/** The step that failed; decides where a retry resumes. */
export type UploadStage = "checking" | "uploading" | "extracting" | "classifying";

export interface UploadItem {
  id: number;
  file: File;
  fileName: string;
  status: UploadStatus;
  /** Set once the picture is recorded on the server. */
  pictureId: Id<"pictures"> | null;
  result: ClassificationResult | null;
  error: string | null;
  failedStage: UploadStage | null;
  /** False when trying again cannot help (e.g. the file is not an image). */
  retryable: boolean;
  /** The label the labeller confirmed, once they did. */
  confirmedLabel: string | null;
}

export const useUploadQueueStore = defineStore("uploadQueue", () => {
  /** Every file dropped or picked this session, in the order they were added. */
  const items = ref<UploadItem[]>([]);
  let nextId = 1;

  const counts = computed(() => {
    const byStatus: Record<UploadStatus, number> = { queued: 0, uploading: 0, extracting: 0, classifying: 0, done: 0, failed: 0 };
    for (const item of items.value) byStatus[item.status] += 1;
    return byStatus;
  });

  function add(files: readonly File[]): UploadItem[] {
    const added = files.map<UploadItem>((file) => ({
      id: nextId++,
      file,
      fileName: file.name,
      status: "queued",
      pictureId: null,
      result: null,
      error: null,
      failedStage: null,
      retryable: true,
      confirmedLabel: null,
    }));
    items.value.push(...added);
    return added;
  }

  function find(id: number): UploadItem | undefined {
    return items.value.find((item) => item.id === id);
  }

  function update(id: number, patch: Partial<Omit<UploadItem, "id" | "file">>): void {
    const item = find(id);
    if (item) Object.assign(item, patch);
  }

  function remove(id: number): void {
    items.value = items.value.filter((item) => item.id !== id);
  }

  /** Drops finished items the labeller has already labelled. */
  function clearLabelled(): void {
    items.value = items.value.filter((item) => !(item.status === "done" && item.confirmedLabel !== null));
  }

  return { items, counts, add, find, update, remove, clearLabelled };
});
