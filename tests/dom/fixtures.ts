import type { FunctionReturnType } from "convex/server";
import type { api } from "../../convex/_generated/api";
import { fakeId } from "./fakeBackend";

export type PictureSummary = FunctionReturnType<typeof api.pictures.list>["page"][number];
export type ClassificationResult = FunctionReturnType<typeof api.classifications.classify>;

/** A classified picture as pictures.list and pictures.get return it; `fields` override. */
export function pictureSummary(id: number, fields: Partial<PictureSummary> = {}): PictureSummary {
  return {
    _id: fakeId("pictures", id),
    _creationTime: Date.UTC(2026, 10, 27, 8, id),
    uploaderId: fakeId("users", 1),
    fileName: `photo-${id}.jpg`,
    contentType: "image/jpeg",
    width: undefined,
    height: undefined,
    storageMode: "full",
    imageUrl: null,
    status: "classified",
    error: undefined,
    lastError: undefined,
    lastErrorAt: undefined,
    attempts: 1,
    label: "cat",
    confidence: 0.9,
    versionId: undefined,
    labelled: false,
    confirmedLabel: undefined,
    hasFeatures: true,
    ...fields,
  };
}
