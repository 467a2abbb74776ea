/**
 * CLIP feature extraction in Node for the `mlp` tools, through the same
 * loadClipModel as the browser worker (onnxruntime-node on the CPU).
 */
import { readFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { HUB_MODEL_HOST, type ClipDtype } from "../src/clip/clipConfig.ts";
import { disposeClipModel, extractImageEmbeddings, loadClipModel, RawImage, type ClipModel } from "../src/clip/loadClipModel.ts";

export interface NodeClipConfig {
  /**
   * The model's id, recorded with features (`clipModel` in weights files).
   * Defaults to the folder name when `modelDir` is given.
   */
  modelId?: string;
  /** A folder holding config.json, preprocessor_config.json and onnx/; wins over modelHost. */
  modelDir?: string;
  /** "hub" (default), an http(s) URL of a mirror, or a folder holding `<modelId>/` folders. */
  modelHost?: string;
  /** q8 (default, as in the browser's wasm backend) or fp32. */
  dtype?: ClipDtype;
}

/** An image given as a file path (named in errors) or as encoded bytes with an optional name. */
export type NodeImageInput = string | Uint8Array | { name: string; bytes: Uint8Array };

export interface NodeClipExtractor {
  modelId: string;
  dtype: ClipDtype;
  extract(image: NodeImageInput): Promise<Float32Array>;
  extractBatch(images: NodeImageInput[], options?: { batchSize?: number; onProgress?: (done: number, total: number) => void }): Promise<Float32Array[]>;
  dispose(): Promise<void>;
}

export class ImageDecodeError extends Error {
  constructor(readonly imageName: string, cause: string) {
    super(`"${imageName}" could not be decoded: ${cause}`);
    this.name = "ImageDecodeError";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads and decodes one image; every failure names the image. */
export async function decodeNodeImage(image: NodeImageInput): Promise<RawImage> {
  const name = typeof image === "string" ? image : image instanceof Uint8Array ? "image buffer" : image.name;
  let bytes: Uint8Array;
  if (typeof image === "string") {
    try {
      bytes = await readFile(image);
    } catch (error) {
      throw new ImageDecodeError(name, `the file cannot be read (${describe(error)})`);
    }
  } else {
    bytes = image instanceof Uint8Array ? image : image.bytes;
  }
  try {
    return await RawImage.fromBlob(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  } catch (error) {
    throw new ImageDecodeError(name, describe(error));
  }
}

function locate(config: NodeClipConfig): { modelId: string; modelHost: string } {
  if (config.modelDir) {
    const folder = resolve(config.modelDir);
    return { modelId: basename(folder), modelHost: dirname(folder) };
  }
  const modelId = config.modelId;
  if (!modelId) throw new Error("createNodeClipExtractor needs a modelId or a modelDir");
  const host = config.modelHost ?? HUB_MODEL_HOST;
  const isFolder = host !== HUB_MODEL_HOST && !/^https?:\/\//i.test(host);
  return { modelId, modelHost: isFolder ? resolve(host) : host };
}

export async function createNodeClipExtractor(config: NodeClipConfig): Promise<NodeClipExtractor> {
  const location = locate(config);
  const dtype = config.dtype ?? "q8";
  const clip: ClipModel = await loadClipModel({ ...location, dtype, device: "cpu" });
  const recordedId = config.modelId ?? location.modelId;

  async function extractBatch(images: NodeImageInput[], options: { batchSize?: number; onProgress?: (done: number, total: number) => void } = {}) {
    const batchSize = Math.max(1, options.batchSize ?? 8);
    const features: Float32Array[] = [];
    for (let start = 0; start < images.length; start += batchSize) {
      const decoded = await Promise.all(images.slice(start, start + batchSize).map(decodeNodeImage));
      features.push(...(await extractImageEmbeddings(clip, decoded)));
      options.onProgress?.(features.length, images.length);
    }
    return features;
  }

  return {
    modelId: recordedId,
    dtype,
    extractBatch,
    async extract(image) {
      const [features] = await extractImageEmbeddings(clip, [await decodeNodeImage(image)]);
      return features;
    },
    dispose: () => disposeClipModel(clip),
  };
}
