/**
 * The reference side of the forward benchmark: the same MlpModel written as
 * an ONNX graph with the project's own protobuf writer, so onnxruntime-node
 * runs exactly the weights the project engine runs (Float32 tensors, same
 * input normalisation and output activation).
 */
import { encodeOnnxModel, type OnnxInitializer, type OnnxModel, type OnnxNode } from "../onnxProto.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";

export const MLP_ONNX_INPUT = "features";
export const MLP_ONNX_OUTPUT = "probabilities";

function floatBytes(values: Float32Array): Uint8Array {
  // A copy, so a view into a larger decoded buffer does not drag the rest along.
  return new Uint8Array(Float32Array.from(values).buffer);
}

function int64Bytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(v))).buffer);
}

/**
 * features [batch, dim] → (LpNormalization) → Gemm(transB) (+ Relu) per layer
 * → Sigmoid/ReduceSum/Div, Softmax or Sigmoid → probabilities [batch, classes].
 */
export function mlpOnnxGraph(model: MlpModel): OnnxModel {
  const nodes: OnnxNode[] = [];
  const initializers: OnnxInitializer[] = [];
  let current = MLP_ONNX_INPUT;
  const next = (name: string) => {
    current = name;
    return name;
  };
  if (model.input.normalize === "l2") {
    nodes.push({ opType: "LpNormalization", name: "l2", inputs: [current], outputs: [next("normalized")], attributes: [{ name: "axis", int: -1 }, { name: "p", int: 2 }] });
  }
  model.layers.forEach((layer, i) => {
    initializers.push(
      { name: `layer${i}.weight`, dataType: "float", dims: [layer.outDim, layer.inDim], data: floatBytes(layer.weight) },
      { name: `layer${i}.bias`, dataType: "float", dims: [layer.outDim], data: floatBytes(layer.bias) },
    );
    nodes.push({
      opType: "Gemm",
      name: `gemm${i}`,
      inputs: [current, `layer${i}.weight`, `layer${i}.bias`],
      outputs: [next(`linear${i}`)],
      attributes: [{ name: "transB", int: 1 }],
    });
    if (layer.activation === "relu") nodes.push({ opType: "Relu", name: `relu${i}`, inputs: [current], outputs: [next(`hidden${i}`)] });
  });
  const logits = current;
  switch (model.outputActivation) {
    case "sigmoid":
      nodes.push({ opType: "Sigmoid", name: "sigmoid", inputs: [logits], outputs: [MLP_ONNX_OUTPUT] });
      break;
    case "softmax":
      nodes.push({ opType: "Softmax", name: "softmax", inputs: [logits], outputs: [MLP_ONNX_OUTPUT], attributes: [{ name: "axis", int: -1 }] });
      break;
    case "sigmoid-normalized":
      initializers.push({ name: "class_axis", dataType: "int64", dims: [1], data: int64Bytes([1]) });
      nodes.push(
        { opType: "Sigmoid", name: "sigmoid", inputs: [logits], outputs: ["sigmoids"] },
        { opType: "ReduceSum", name: "sigmoid_sum", inputs: ["sigmoids", "class_axis"], outputs: ["sigmoid_total"], attributes: [{ name: "keepdims", int: 1 }] },
        { opType: "Div", name: "normalize_sum", inputs: ["sigmoids", "sigmoid_total"], outputs: [MLP_ONNX_OUTPUT] },
      );
      break;
  }
  const classCount = model.layers[model.layers.length - 1].outDim;
  return {
    irVersion: 8,
    opsetVersion: 17,
    producerName: "clip-mlp-dashboard bench",
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
