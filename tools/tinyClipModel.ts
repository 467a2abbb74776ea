/**
 * A tiny CLIP-compatible vision model for tests and offline demos.
 *
 * It loads through exactly the same code as Xenova/clip-vit-base-patch32
 * (AutoProcessor + CLIPVisionModelWithProjection), with the same
 * preprocessing, but its graph is
 *   pixel_values [batch,3,224,224] → AveragePool 56×56 → Flatten [batch,48]
 *   → MatMul [48,512] → Add bias [512] → image_embeds [batch,512],
 * i.e. its 512 features are a fixed linear map of the image's 4×4 grid of
 * average colours. They are NOT CLIP ViT-B/32 features: weights trained on
 * them must record `clipModel: "tiny-clip"`.
 *
 * The q8 file (`vision_model_quantized.onnx`) stores the projection as int8
 * plus one scale and dequantizes it in the graph (Cast → Mul → MatMul); the
 * fp32 file stores the same dequantized values as float32, so both dtypes
 * give the same features. DequantizeLinear is avoided on purpose: ONNX
 * Runtime fuses DequantizeLinear → MatMul into an integer matmul that also
 * quantizes the activations, differently in onnxruntime-node and -web
 * (measured: 9e-3 apart), which would hide real Node/browser differences.
 */
import { encodeOnnxModel, onnxDataType, type OnnxModel } from "./onnxProto.ts";
import { seededRandom } from "../convex/lib/seededRandom.ts";

export const TINY_CLIP_MODEL_ID = "tiny-clip";
export const TINY_CLIP_EMBEDDING_DIM = 512;
const IMAGE_SIZE = 224;
const POOL_SIZE = 56;
const GRID = IMAGE_SIZE / POOL_SIZE;
const POOLED_DIM = 3 * GRID * GRID;
const WEIGHT_SEED = 0x5eed_c11b;
const QUANT_SCALE = 0.25 / 127;

export interface ModelFile {
  /** Path inside the model folder, with forward slashes. */
  path: string;
  bytes: Uint8Array;
}

interface TinyWeights {
  quantized: Int8Array;
  dequantized: Float32Array;
  bias: Float32Array;
}

function tinyWeights(): TinyWeights {
  const random = seededRandom(WEIGHT_SEED);
  const quantized = new Int8Array(POOLED_DIM * TINY_CLIP_EMBEDDING_DIM);
  const dequantized = new Float32Array(quantized.length);
  for (let i = 0; i < quantized.length; i++) {
    quantized[i] = Math.round(random() * 254) - 127;
    dequantized[i] = quantized[i] * Math.fround(QUANT_SCALE);
  }
  const bias = new Float32Array(TINY_CLIP_EMBEDDING_DIM);
  for (let i = 0; i < bias.length; i++) bias[i] = (random() - 0.5) * 0.1;
  return { quantized, dequantized, bias };
}

function bytesOf(array: Float32Array | Int8Array): Uint8Array {
  // Typed arrays are little-endian on every platform Node and browsers run on,
  // which is what ONNX raw_data requires.
  return new Uint8Array(array.buffer.slice(array.byteOffset, array.byteOffset + array.byteLength));
}

function visionGraph(weights: TinyWeights, quantized: boolean): OnnxModel {
  const projection = quantized ? "projection_dequantized" : "projection";
  const dequantize = quantized
    ? [
        { opType: "Cast", name: "widen_projection", inputs: ["projection_int8"], outputs: ["projection_float"], attributes: [{ name: "to", int: onnxDataType.float }] },
        { opType: "Mul", name: "scale_projection", inputs: ["projection_float", "projection_scale"], outputs: [projection] },
      ]
    : [];
  const projectionInitializers = quantized
    ? [
        { name: "projection_int8", dataType: "int8" as const, dims: [POOLED_DIM, TINY_CLIP_EMBEDDING_DIM], data: bytesOf(weights.quantized) },
        { name: "projection_scale", dataType: "float" as const, dims: [], data: bytesOf(Float32Array.of(QUANT_SCALE)) },
      ]
    : [{ name: "projection", dataType: "float" as const, dims: [POOLED_DIM, TINY_CLIP_EMBEDDING_DIM], data: bytesOf(weights.dequantized) }];
  return {
    irVersion: 8,
    opsetVersion: 17,
    producerName: "clip-mlp-dashboard tools/tinyClipModel.ts",
    graphName: quantized ? "tiny_clip_vision_q8" : "tiny_clip_vision_fp32",
    docString: "Tiny CLIP-compatible test model: 4x4 average colour grid, linearly projected to 512 features. Not CLIP ViT-B/32.",
    nodes: [
      { opType: "AveragePool", name: "pool_grid", inputs: ["pixel_values"], outputs: ["pooled"], attributes: [{ name: "kernel_shape", ints: [POOL_SIZE, POOL_SIZE] }, { name: "strides", ints: [POOL_SIZE, POOL_SIZE] }] },
      { opType: "Flatten", name: "flatten_grid", inputs: ["pooled"], outputs: ["grid_features"], attributes: [{ name: "axis", int: 1 }] },
      ...dequantize,
      { opType: "MatMul", name: "project", inputs: ["grid_features", projection], outputs: ["projected"] },
      { opType: "Add", name: "add_bias", inputs: ["projected", "projection_bias"], outputs: ["image_embeds"] },
    ],
    initializers: [
      ...projectionInitializers,
      { name: "projection_bias", dataType: "float", dims: [TINY_CLIP_EMBEDDING_DIM], data: bytesOf(weights.bias) },
    ],
    inputs: [{ name: "pixel_values", elemType: "float", shape: ["batch_size", 3, IMAGE_SIZE, IMAGE_SIZE] }],
    outputs: [{ name: "image_embeds", elemType: "float", shape: ["batch_size", TINY_CLIP_EMBEDDING_DIM] }],
  };
}

const config = {
  model_type: "clip",
  architectures: ["CLIPVisionModelWithProjection"],
  projection_dim: TINY_CLIP_EMBEDDING_DIM,
  vision_config: {
    model_type: "clip_vision_model",
    image_size: IMAGE_SIZE,
    patch_size: POOL_SIZE,
    num_channels: 3,
    hidden_size: POOLED_DIM,
    projection_dim: TINY_CLIP_EMBEDDING_DIM,
  },
  tiny_clip_note: "Test model generated by tools/tinyClipModel.ts (npm run models:tiny). Its features are not CLIP ViT-B/32 features.",
};

/** The CLIP ViT-B/32 processor settings, with every do_* flag explicit (the benchmark's ViT-B/32 folder uses them too). */
export const clipPreprocessorConfig = {
  image_processor_type: "CLIPImageProcessor",
  feature_extractor_type: "CLIPFeatureExtractor",
  do_convert_rgb: true,
  do_resize: true,
  size: { shortest_edge: IMAGE_SIZE },
  resample: 3,
  do_center_crop: true,
  crop_size: { height: IMAGE_SIZE, width: IMAGE_SIZE },
  do_rescale: true,
  rescale_factor: 1 / 255,
  do_normalize: true,
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  do_pad: false,
  do_thumbnail: false,
  do_crop_margin: false,
  do_flip_channel_order: false,
};

function jsonFile(path: string, value: unknown): ModelFile {
  return { path, bytes: new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n") };
}

/** Every file of the `tiny-clip` model folder, byte-for-byte deterministic. */
export function generateTinyClipModel(): ModelFile[] {
  const weights = tinyWeights();
  return [
    jsonFile("config.json", config),
    jsonFile("preprocessor_config.json", clipPreprocessorConfig),
    { path: "onnx/vision_model.onnx", bytes: encodeOnnxModel(visionGraph(weights, false)) },
    { path: "onnx/vision_model_quantized.onnx", bytes: encodeOnnxModel(visionGraph(weights, true)) },
  ];
}
