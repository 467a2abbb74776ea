/**
 * The one place that configures @huggingface/transformers and loads the CLIP
 * vision model, used by the browser worker and the Node tools alike so both
 * run the same preprocessing and the same graph.
 */
import {
  AutoProcessor,
  CLIPVisionModelWithProjection,
  env,
  ModelFileNotFoundError,
  RawImage,
  Tensor,
  type PreTrainedModel,
  type Processor,
  type ProgressInfo,
} from "@huggingface/transformers";
import { classifyModelHost, type ResolvedClipConfig } from "./clipConfig.ts";
import { resizeBicubic } from "./clipResize.ts";

export const CLIP_EMBEDDING_DIM = 512;

/** Download progress of one model file, in bytes. */
export interface ClipFileProgress {
  file: string;
  loaded: number;
  total: number;
}

export interface LoadClipModelOptions {
  onProgress?: (progress: ClipFileProgress) => void;
}

export interface ClipModel {
  config: ResolvedClipConfig;
  processor: Processor;
  model: PreTrainedModel;
}

export class ClipModelLoadError extends Error {
  constructor(cause: string) {
    super(`CLIP model loading failed: ${cause}`);
    this.name = "ClipModelLoadError";
  }
}

/**
 * Files the dev server answered with an HTML page: Vite (and most SPA hosts)
 * serve index.html for unknown paths, which the library would otherwise
 * report as "Unexpected token '<'" or a protobuf parse error.
 */
const htmlFallbackUrls = new Set<string>();
const libraryFetch = env.fetch;

function isModelFileUrl(url: string): boolean {
  return /\.(json|onnx|onnx_data)(\?|$)/i.test(url);
}

async function fetchRejectingHtml(input: string | URL, init?: RequestInit): Promise<Response> {
  const response: Response = await libraryFetch(input, init);
  const url = String(input);
  const contentType = response.headers.get("content-type") ?? "";
  if (response.ok && isModelFileUrl(url) && contentType.includes("text/html")) {
    htmlFallbackUrls.add(url);
    return new Response(null, { status: 404, statusText: "HTML page served instead of the model file" });
  }
  return response;
}

/** Where from_pretrained should look, and which env switches that needs. */
function applyModelHost(config: ResolvedClipConfig): string {
  const host = classifyModelHost(config.modelHost);
  env.fetch = fetchRejectingHtml;
  switch (host.kind) {
    case "hub":
      env.allowRemoteModels = true;
      env.allowLocalModels = false;
      env.remoteHost = "https://huggingface.co/";
      env.remotePathTemplate = "{model}/resolve/{revision}/";
      return config.modelId;
    case "url":
      env.allowRemoteModels = true;
      env.allowLocalModels = false;
      env.remoteHost = host.url;
      env.remotePathTemplate = "{model}/";
      return config.modelId;
    case "path":
      // An absolute folder path is not a valid Hub id, so the library reads
      // `<path>/<file>` directly (fs in Node, fetch in the browser).
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.localModelPath = host.path;
      return `${host.path}${config.modelId}`;
  }
}

function describeLoadFailure(error: unknown, config: ResolvedClipConfig): string {
  const message = error instanceof Error ? error.message : String(error);
  const htmlUrls = [...htmlFallbackUrls];
  if (htmlUrls.length > 0) {
    return `model file ${htmlUrls.map((url) => `"${url}"`).join(", ")} is missing: the server answered with an HTML page (usually the app's index.html fallback) instead of the file. Put the model files under ${config.modelHost.replace(/\/?$/, "/")}${config.modelId}/`;
  }
  if (error instanceof ModelFileNotFoundError) {
    const path = /"([^"]+)"/.exec(message)?.[1];
    if (path) return `model file "${path}" was not found (model "${config.modelId}" from ${config.modelHost}, dtype ${config.dtype})`;
  }
  return message;
}

/** Loads AutoProcessor + CLIPVisionModelWithProjection; every failure becomes a ClipModelLoadError. */
export async function loadClipModel(config: ResolvedClipConfig, options: LoadClipModelOptions = {}): Promise<ClipModel> {
  htmlFallbackUrls.clear();
  try {
    const source = applyModelHost(config);
    const progress_callback = (info: ProgressInfo) => {
      if (info.status === "progress") options.onProgress?.({ file: info.file, loaded: info.loaded, total: info.total });
    };
    const [processor, model] = await Promise.all([
      AutoProcessor.from_pretrained(source, { progress_callback }),
      CLIPVisionModelWithProjection.from_pretrained(source, { dtype: config.dtype, device: config.device, progress_callback }),
    ]);
    return { config, processor, model };
  } catch (error) {
    throw new ClipModelLoadError(describeLoadFailure(error, config));
  }
}

/** The image processor fields the resize step reads (transformers.js ImageProcessor). */
interface ImageProcessorSettings {
  do_convert_rgb?: boolean;
  do_resize?: boolean;
  resample?: number;
  size?: unknown;
  get_resize_output_image_size(image: RawImage, size: unknown): [number, number];
}

const PIL_BICUBIC = 3;

function imageProcessorOf(clip: ClipModel): ImageProcessorSettings {
  const imageProcessor = (clip.processor as unknown as { image_processor?: ImageProcessorSettings }).image_processor;
  if (typeof imageProcessor?.get_resize_output_image_size !== "function") {
    throw new Error(`the processor of "${clip.config.modelId}" has no image processor; is preprocessor_config.json a CLIP image processor?`);
  }
  return imageProcessor;
}

/**
 * Does the processor's resize itself, with Pillow-style bicubic in plain
 * TypeScript, to the size the processor would pick; the processor then finds
 * nothing left to resize. See clipResize.ts for why.
 */
function resizeForProcessor(imageProcessor: ImageProcessorSettings, image: RawImage): RawImage {
  const converted = imageProcessor.do_convert_rgb === false ? image : image.rgb();
  if (imageProcessor.do_resize === false || imageProcessor.resample !== PIL_BICUBIC) return converted;
  const [width, height] = imageProcessor.get_resize_output_image_size(converted, imageProcessor.size);
  if (width === converted.width && height === converted.height) return converted;
  const resized = resizeBicubic(converted, width, height);
  return new RawImage(resized.data, resized.width, resized.height, resized.channels as 1 | 2 | 3 | 4);
}

/**
 * Runs preprocessing and the model on a batch of images and returns one
 * copied Float32Array per image (raw `image_embeds`, not L2-normalised).
 * Every tensor is disposed, so long runs do not leak backend memory.
 */
export async function extractImageEmbeddings(clip: ClipModel, images: RawImage[]): Promise<Float32Array<ArrayBuffer>[]> {
  if (images.length === 0) return [];
  const imageProcessor = imageProcessorOf(clip);
  const inputs: Record<string, Tensor> = await clip.processor(images.map((image) => resizeForProcessor(imageProcessor, image)));
  try {
    const outputs: Record<string, Tensor> = await clip.model({ pixel_values: inputs.pixel_values });
    try {
      const embeds = outputs.image_embeds;
      if (!embeds) throw new Error(`the model has no "image_embeds" output (outputs: ${Object.keys(outputs).join(", ")})`);
      const [batch, dim] = embeds.dims;
      if (batch !== images.length || dim !== CLIP_EMBEDDING_DIM) {
        throw new Error(`image_embeds has shape [${embeds.dims.join(",")}], expected [${images.length},${CLIP_EMBEDDING_DIM}]`);
      }
      const data = embeds.data as Float32Array<ArrayBuffer>;
      return images.map((_, row) => data.slice(row * dim, (row + 1) * dim));
    } finally {
      for (const tensor of Object.values(outputs)) tensor.dispose();
    }
  } finally {
    for (const tensor of Object.values(inputs)) if (tensor instanceof Tensor) tensor.dispose();
  }
}

export async function disposeClipModel(clip: ClipModel): Promise<void> {
  await clip.model.dispose();
}

export { RawImage };
