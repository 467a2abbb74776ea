/**
 * The reference side of the forward benchmark: the MlpModel's dense layers
 * written, with the project's own protobuf writer, exactly as torch 1.13's
 * torch.onnx.export writes an nn.Sequential(Linear, ReLU, …, Linear):
 * Gemm(alpha=1, beta=1, transB=1) per Linear with its [out, in] weight and
 * bias as initializers, Relu between them, opset 14, features [batch, in] →
 * logits [batch, classes]. tests/bench/mlpOnnxGraph.test.ts checks it node
 * for node against torch's own export and against torch's outputs.
 *
 * That plain graph is the fastest onnxruntime runs for the MLP (the bench's
 * earlier graph, with LpNormalization and the Sigmoid/ReduceSum/Div head
 * inside it, was slower; docs/performance.md). The input normalisation and
 * output activation, which the engine's timed call includes, happen outside
 * the reference's timed call (`referenceInputs`, `referenceProbabilities`),
 * so the reference does strictly less work than the engine.
 */
import { encodeOnnxModel, type OnnxInitializer, type OnnxModel, type OnnxNode } from "../onnxProto.ts";
import type { MlpModel, OutputActivation } from "../../convex/lib/weightsFormat.ts";

export const MLP_ONNX_INPUT = "features";
export const MLP_ONNX_OUTPUT = "logits";
/** The opset torch 1.13's exporter writes by default. */
export const TORCH_EXPORT_OPSET = 14;

function floatBytes(values: Float32Array): Uint8Array {
  // A copy, so a view into a larger decoded buffer does not drag the rest along.
  return new Uint8Array(Float32Array.from(values).buffer);
}

/**
 * features → Gemm (+ Relu) per layer → logits, with torch's names: module
 * index k of the Sequential (Linear at even k, ReLU after it) names the
 * initializers `k.weight` / `k.bias`, the nodes `/k/Gemm` / `/k/Relu` and
 * their outputs `/k/Gemm_output_0` / `/k/Relu_output_0`.
 */
export function mlpOnnxGraph(model: MlpModel): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  let current = MLP_ONNX_INPUT;
  let moduleIndex = 0;
  model.layers.forEach((layer, i) => {
    const last = i === model.layers.length - 1;
    const k = moduleIndex;
    initializers.push(
      { name: `${k}.weight`, dataType: "float", dims: [layer.outDim, layer.inDim], data: floatBytes(layer.weight) },
      { name: `${k}.bias`, dataType: "float", dims: [layer.outDim], data: floatBytes(layer.bias) },
    );
    const gemmOutput = last && layer.activation !== "relu" ? MLP_ONNX_OUTPUT : `/${k}/Gemm_output_0`;
    nodes.push({
      opType: "Gemm",
      name: `/${k}/Gemm`,
      inputs: [current, `${k}.weight`, `${k}.bias`],
      outputs: [gemmOutput],
      attributes: [{ name: "alpha", float: 1 }, { name: "beta", float: 1 }, { name: "transB", int: 1 }],
    });
    current = gemmOutput;
    moduleIndex += 1;
    if (layer.activation === "relu") {
      const r = moduleIndex;
      const reluOutput = last ? MLP_ONNX_OUTPUT : `/${r}/Relu_output_0`;
      nodes.push({ opType: "Relu", name: `/${r}/Relu`, inputs: [current], outputs: [reluOutput] });
      current = reluOutput;
      moduleIndex += 1;
    }
  });
  const classCount = model.layers[model.layers.length - 1].outDim;
  return {
    irVersion: 7,
    opsetVersion: TORCH_EXPORT_OPSET,
    producerName: "clip-mlp-dashboard bench (torch.onnx.export layout)",
    graphName: `${model.name}-mlp`,
    nodes,
    initializers,
    inputs: [{ name: MLP_ONNX_INPUT, elemType: "float", shape: ["batch", model.layers[0].inDim] }],
    outputs: [{ name: MLP_ONNX_OUTPUT, elemType: "float", shape: ["batch", classCount] }],
  };
}

export function encodeMlpOnnx(model: MlpModel): Uint8Array {
  return encodeOnnxModel(mlpOnnxGraph(model));
}

/** What the reference is fed: `count` feature rows prepared as the model's input spec says (L2-normalised in float64, or as they are), in float32. */
export function referenceInputs(model: MlpModel, features: ArrayLike<number>, count: number): Float32Array {
  const dim = model.layers[0].inDim;
  const prepared = Float32Array.from({ length: count * dim }, (_, i) => features[i]);
  if (model.input.normalize !== "l2") return prepared;
  for (let r = 0; r < count; r++) {
    let sumSquares = 0;
    for (let i = r * dim; i < (r + 1) * dim; i++) sumSquares += features[i] * features[i];
    const scale = sumSquares > 0 ? 1 / Math.sqrt(sumSquares) : 1;
    for (let i = r * dim; i < (r + 1) * dim; i++) prepared[i] = features[i] * scale;
  }
  return prepared;
}

/** Probabilities from the reference's logits (row-major count × classes), computed plainly in float64. */
export function referenceProbabilities(logits: ArrayLike<number>, classCount: number, activation: OutputActivation): Float64Array {
  const out = new Float64Array(logits.length);
  for (let start = 0; start < logits.length; start += classCount) {
    const row = Array.from({ length: classCount }, (_, k) => logits[start + k]);
    let values: number[];
    if (activation === "softmax") {
      const max = Math.max(...row);
      values = row.map((z) => Math.exp(z - max));
    } else {
      values = row.map((z) => 1 / (1 + Math.exp(-z)));
    }
    const total = activation === "sigmoid" ? 1 : values.reduce((a, b) => a + b, 0);
    values.forEach((v, k) => (out[start + k] = v / total));
  }
  return out;
}
