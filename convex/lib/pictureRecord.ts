import { isRasterImageType, RASTER_IMAGE_TYPES_TEXT, refusedTypeReason } from "./imageTypes.ts";
import type { PrivacyMode } from "./shapes.ts";

export const MAX_FILE_NAME_LENGTH = 255;
export const MAX_IMAGE_SIDE = 100_000;

export interface PictureRecordRequest {
  fileName: string;
  contentType: string;
  width?: number;
  height?: number;
  /** Whether the caller sends a stored image with the record. */
  withImage: boolean;
}

/** What the stored file turned out to be, when a storage id was given. */
export type StoredImageFacts =
  | { kind: "missing" }
  | { kind: "present"; contentType: string | undefined; ownedByAnother: boolean };

/**
 * Every problem with recording a picture, as sentences (empty when it may
 * be recorded). The stored file's type counts, not the caller's claim: it is
 * what the image URL is served with.
 */
export function pictureRecordProblems(request: PictureRecordRequest, privacyMode: PrivacyMode, storedImage: StoredImageFacts | null, storageRef = "the stored file"): string[] {
  const problems: string[] = [];
  if (request.fileName.trim().length === 0) problems.push("fileName is empty");
  if (request.fileName.length > MAX_FILE_NAME_LENGTH) {
    problems.push(`fileName is ${request.fileName.length} characters; at most ${MAX_FILE_NAME_LENGTH} are allowed`);
  }
  if (!isRasterImageType(request.contentType)) {
    problems.push(`contentType must be a raster image type (${RASTER_IMAGE_TYPES_TEXT}), got "${request.contentType.slice(0, 100)}"${refusedTypeReason(request.contentType)}`);
  }
  for (const side of ["width", "height"] as const) {
    const value = request[side];
    if (value !== undefined && !(Number.isInteger(value) && value > 0 && value <= MAX_IMAGE_SIDE)) {
      problems.push(`${side} must be a whole number of pixels from 1 to ${MAX_IMAGE_SIDE}, got ${value}`);
    }
  }
  if (request.withImage) {
    if (privacyMode === "none") {
      problems.push('the privacy mode is "none": images are not kept, so record the picture without a storageId');
    } else if (storedImage === null || storedImage.kind === "missing") {
      problems.push(`${storageRef} names no stored file: upload the image first`);
    } else if (!storedImage.contentType?.startsWith("image/")) {
      problems.push(`${storageRef} is ${storedImage.contentType ?? "of unknown type"}, not an image`);
    } else if (!isRasterImageType(storedImage.contentType)) {
      problems.push(`${storageRef} is ${storedImage.contentType}, not a raster image (${RASTER_IMAGE_TYPES_TEXT})${refusedTypeReason(storedImage.contentType)}`);
    } else if (storedImage.ownedByAnother) {
      // Recording it again would hand another record's URL to this caller.
      problems.push(`${storageRef} already belongs to another record; upload your own image`);
    }
  }
  return problems;
}
