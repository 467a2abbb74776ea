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
import { CLIP_FEATURE_DIM } from "./clipProtocol.ts";
import {
  clipPixelValues,
  imageProcessorFieldsOf,
  PIL_BICUBIC,
  planClipPixelValues,
  type ClipPixelPlan,
  type ImageProcessorFields,
} from "./clipPixelValues.ts";
import { resizeBicubic } from "./clipResize.ts";

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

function imageProcessorOf(clip: ClipModel): ImageProcessorFields {
  const imageProcessor = imageProcessorFieldsOf(clip.processor);
  if (!imageProcessor) {
    throw new Error(`the processor of "${clip.config.modelId}" has no image processor; is preprocessor_config.json a CLIP image processor?`);
  }
  return imageProcessor;
}

/**
 * Does the processor's resize itself, with Pillow-style bicubic in plain
 * TypeScript, to the size the processor would pick; the processor then finds
 * nothing left to resize. See clipResize.ts for why.
 */
function resizeForProcessor(imageProcessor: ImageProcessorFields, image: RawImage): RawImage {
  const converted = imageProcessor.do_convert_rgb === false ? image : image.rgb();
  if (imageProcessor.do_resize === false || imageProcessor.resample !== PIL_BICUBIC) return converted;
  const [width, height] = imageProcessor.get_resize_output_image_size(converted, imageProcessor.size);
  if (width === converted.width && height === converted.height) return converted;
  const resized = resizeBicubic(converted, width, height);
  return new RawImage(resized.data, resized.width, resized.height, resized.channels as 1 | 2 | 3 | 4);
}

/** Planned once per processor: the plan's byte table is the same for every image. */
const pixelPlans = new WeakMap<Processor, ClipPixelPlan | null>();

function pixelPlanOf(processor: Processor): ClipPixelPlan | null {
  let plan = pixelPlans.get(processor);
  if (plan === undefined) {
    plan = planClipPixelValues(processor) ?? null;
    pixelPlans.set(processor, plan);
  }
  return plan;
}

/**
 * The batch's `pixel_values` through clipPixelValues.ts, or undefined when
 * the processor's settings or one of the images need the processor. Either
 * way the values are the same bit for bit (tests/clip/clipPixelValues.test.ts).
 */
function fusedPixelValues(clip: ClipModel, images: RawImage[]): Tensor | undefined {
  const plan = pixelPlanOf(clip.processor);
  if (!plan) return undefined;
  const perImage: Float32Array<ArrayBuffer>[] = [];
  for (const image of images) {
    const values = clipPixelValues(plan, image);
    if (!values) return undefined;
    perImage.push(values);
  }
  const { cropWidth, cropHeight } = plan;
  let batch = perImage[0];
  if (perImage.length > 1) {
    batch = new Float32Array(perImage.length * perImage[0].length);
    perImage.forEach((values, index) => batch.set(values, index * values.length));
  }
  return new Tensor("float32", batch, [images.length, 3, cropHeight, cropWidth]);
}

async function processorPixelValues(clip: ClipModel, images: RawImage[]): Promise<Tensor> {
  const imageProcessor = imageProcessorOf(clip);
  const inputs: Record<string, Tensor> = await clip.processor(images.map((image) => resizeForProcessor(imageProcessor, image)));
  for (const [name, tensor] of Object.entries(inputs)) if (name !== "pixel_values" && tensor instanceof Tensor) tensor.dispose();
  return inputs.pixel_values;
}

/**
 * Runs the model on a batch's `pixel_values` ([batch, 3, height, width]) and
 * returns one copied Float32Array per image (raw `image_embeds`, not
 * L2-normalised). It takes ownership of `pixelValues`: that and every output
 * tensor are disposed, so long runs do not leak backend memory.
 */
export async function embedPixelValues(clip: ClipModel, pixelValues: Tensor): Promise<Float32Array<ArrayBuffer>[]> {
  try {
    const count = pixelValues.dims[0];
    const outputs: Record<string, Tensor> = await clip.model({ pixel_values: pixelValues });
    try {
      const embeds = outputs.image_embeds;
      if (!embeds) throw new Error(`the model has no "image_embeds" output (outputs: ${Object.keys(outputs).join(", ")})`);
      const [batch, dim] = embeds.dims;
      if (embeds.dims.length !== 2 || batch !== count || dim !== CLIP_FEATURE_DIM) {
        throw new Error(`image_embeds has shape [${embeds.dims.join(",")}], expected [${count},${CLIP_FEATURE_DIM}]`);
      }
      const data = embeds.data as Float32Array<ArrayBuffer>;
      return Array.from({ length: count }, (_, row) => data.slice(row * dim, (row + 1) * dim));
    } finally {
      for (const tensor of Object.values(outputs)) tensor.dispose();
    }
  } finally {
    pixelValues.dispose();
  }
}

/**
 * Preprocesses a batch of images (clipPixelValues.ts when the processor's
 * settings allow it, else the processor after clipResize.ts's resize) and
 * returns their raw `image_embeds`, one copied Float32Array per image. The
 * browser worker and the Node tools both come through here, so they feed
 * the model the same pixels.
 */
export async function extractImageEmbeddings(clip: ClipModel, images: RawImage[]): Promise<Float32Array<ArrayBuffer>[]> {
  if (images.length === 0) return [];
  return embedPixelValues(clip, fusedPixelValues(clip, images) ?? (await processorPixelValues(clip, images)));
}

export async function disposeClipModel(clip: ClipModel): Promise<void> {
  await clip.model.dispose();
}

export { RawImage };
