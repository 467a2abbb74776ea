/**
 * Checks and resizes images in the browser before they are stored. Features
 * are always extracted from the original file; these copies are only what
 * gets uploaded.
 */

import { isRasterImageType, RASTER_IMAGE_TYPES_TEXT, refusedTypeReason } from "../../convex/lib/imageTypes";

export interface ImageSize {
  width: number;
  height: number;
}

/** An image to upload, with the size it has (the server records it with the picture). */
export interface StoredImage extends ImageSize {
  blob: Blob;
}

/** Decodes enough of an image to know it is valid; browsers use createImageBitmap. */
export type ImageDecoder = (file: Blob) => Promise<ImageSize & { close?: () => void }>;

const browserDecoder: ImageDecoder = (file) => createImageBitmap(file);

function nameOf(file: Blob): string {
  return file instanceof File ? file.name : "image";
}

/** DOMExceptions are not Errors in every realm, so read `message` structurally. */
function messageOf(error: unknown): string {
  const { message, name } = (error ?? {}) as { message?: unknown; name?: unknown };
  if (typeof message === "string" && message) return message;
  if (typeof name === "string" && name) return name;
  return String(error);
}

function readBytes(blob: Blob): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
    reader.onerror = () => reject(reader.error);
    reader.readAsArrayBuffer(blob);
  });
}

const ascii = (bytes: Uint8Array, start: number, end: number) => String.fromCharCode(...bytes.subarray(start, end));

/**
 * The ISO-BMFF brands of an `ftyp` box (major, then compatible). MP4 and HEIC
 * files start with `ftyp` too, so AVIF is told apart by its brand.
 */
function ftypBrands(bytes: Uint8Array): string[] {
  if (ascii(bytes, 4, 8) !== "ftyp") return [];
  const boxSize = Math.min(bytes.length, ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0);
  const brands = [ascii(bytes, 8, 12)];
  for (let offset = 16; offset + 4 <= boxSize; offset += 4) brands.push(ascii(bytes, offset, offset + 4));
  return brands;
}

/** Magic numbers of the raster formats the server accepts, for files without a MIME type. */
const signatures: Array<{ type: string; matches: (bytes: Uint8Array) => boolean }> = [
  { type: "image/png", matches: (b) => b[0] === 0x89 && ascii(b, 1, 4) === "PNG" },
  { type: "image/jpeg", matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: "image/gif", matches: (b) => ascii(b, 0, 6) === "GIF87a" || ascii(b, 0, 6) === "GIF89a" },
  { type: "image/webp", matches: (b) => ascii(b, 0, 4) === "RIFF" && ascii(b, 8, 12) === "WEBP" },
  { type: "image/bmp", matches: (b) => ascii(b, 0, 2) === "BM" },
  { type: "image/avif", matches: (b) => ftypBrands(b).some((brand) => brand === "avif" || brand === "avis") },
];

/** The image type a file's first bytes show (png, jpeg, gif, webp, bmp, avif), or null. */
export async function sniffImageType(file: Blob): Promise<string | null> {
  const bytes = await readBytes(file.slice(0, 64));
  return signatures.find((signature) => signature.matches(bytes))?.type ?? null;
}

/**
 * The file's MIME type, or the type its first bytes show when the browser gave
 * none (some drag sources and file systems give none); null when neither says.
 */
export async function imageTypeOf(file: Blob): Promise<string | null> {
  return file.type || (await sniffImageType(file));
}

/**
 * Rejects a file that is not a decodable image, naming it:
 * `"notes.txt" is not an image (text/plain)`, `"broken.jpg" could not be decoded: …`.
 */
export async function checkImageFile(file: Blob, decode: ImageDecoder = browserDecoder): Promise<void> {
  const name = nameOf(file);
  if (file.type && !file.type.startsWith("image/")) throw new Error(`"${name}" is not an image (${file.type})`);
  // The server refuses these too; saying so here spares the upload.
  if (file.type && !isRasterImageType(file.type)) {
    throw new Error(`"${name}" is ${file.type}, not a raster image (${RASTER_IMAGE_TYPES_TEXT})${refusedTypeReason(file.type)}`);
  }
  if (file.size === 0) throw new Error(`"${name}" is empty (0 bytes)`);
  if (!file.type && !(await sniffImageType(file))) throw new Error(`"${name}" is not an image (unknown file type)`);
  let decoded: Awaited<ReturnType<ImageDecoder>>;
  try {
    decoded = await decode(file);
  } catch (error) {
    throw new Error(`"${name}" could not be decoded: ${messageOf(error)}`);
  }
  // ImageBitmap.close() resets width and height to 0, so read them first.
  const { width, height } = decoded;
  decoded.close?.();
  if (width === 0 || height === 0) throw new Error(`"${name}" could not be decoded: it has no pixels (${width}×${height})`);
}

/** The size that fits within maxEdge × maxEdge keeping the aspect ratio; never upscales. */
export function scaledSize(size: ImageSize, maxEdge: number): ImageSize {
  const scale = Math.min(1, maxEdge / Math.max(size.width, size.height));
  return { width: Math.max(1, Math.round(size.width * scale)), height: Math.max(1, Math.round(size.height * scale)) };
}

async function decodeBitmap(file: Blob): Promise<ImageBitmap> {
  try {
    return await createImageBitmap(file);
  } catch (error) {
    throw new Error(`"${nameOf(file)}" could not be decoded: ${messageOf(error)}`);
  }
}

/** Draws `bitmap` (the decoded `file`) scaled down, and closes it. */
async function drawScaled(file: Blob, bitmap: ImageBitmap, maxEdge: number, type: string, quality: number, background?: string): Promise<StoredImage> {
  try {
    const { width, height } = scaledSize(bitmap, maxEdge);
    const canvas = new OffscreenCanvas(width, height);
    const context = canvas.getContext("2d");
    if (!context) throw new Error("no 2D canvas context is available");
    context.imageSmoothingQuality = "high";
    if (background) {
      context.fillStyle = background;
      context.fillRect(0, 0, width, height);
    }
    context.drawImage(bitmap, 0, 0, width, height);
    return { blob: await canvas.convertToBlob({ type, quality }), width, height };
  } catch (error) {
    throw new Error(`"${nameOf(file)}" could not be resized: ${messageOf(error)}`);
  } finally {
    bitmap.close();
  }
}

/**
 * A copy no larger than maxEdge on its longest side, for storage. Images that
 * already fit are returned as they are; PNGs stay PNG (lossless), other
 * formats become JPEG.
 */
export async function downscaleImage(file: Blob, maxEdge = 2048): Promise<StoredImage> {
  const bitmap = await decodeBitmap(file);
  if (Math.max(bitmap.width, bitmap.height) <= maxEdge) {
    // ImageBitmap.close() resets width and height to 0, so read them first.
    const { width, height } = bitmap;
    bitmap.close();
    return { blob: file, width, height };
  }
  return file.type === "image/png"
    ? drawScaled(file, bitmap, maxEdge, "image/png", 1)
    : drawScaled(file, bitmap, maxEdge, "image/jpeg", 0.9, "#fff");
}

/** A small JPEG preview (longest side maxEdge), transparent areas on white. */
export async function makeThumbnail(file: Blob, maxEdge = 256): Promise<StoredImage> {
  return drawScaled(file, await decodeBitmap(file), maxEdge, "image/jpeg", 0.8, "#fff");
}
