import {
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  type CanonicalWeights,
  type ManifestSummary,
  type MlpLayer,
  type MlpModel,
} from "./weightsFormat.ts";

/**
 * Conversions between the canonical JSON form (nested number arrays, as
 * PyTorch exports) and the in-memory MlpModel (flat Float32 tensors).
 * toMlpModel expects weights that passed validateCanonicalWeights.
 */

export function toMlpModel(weights: CanonicalWeights): MlpModel {
  const layers: MlpLayer[] = weights.layers.map((layer) => {
    const outDim = layer.weight.length;
    const inDim = layer.weight[0].length;
    const weight = new Float32Array(outDim * inDim);
    for (let o = 0; o < outDim; o++) weight.set(layer.weight[o], o * inDim);
    return { inDim, outDim, weight, bias: Float32Array.from(layer.bias), activation: layer.activation };
  });
  return {
    name: weights.name,
    classes: [...weights.classes],
    input: { ...weights.input },
    outputActivation: weights.outputActivation,
    layers,
  };
}

export function toCanonicalWeights(model: MlpModel): CanonicalWeights {
  return {
    format: WEIGHTS_FORMAT,
    formatVersion: WEIGHTS_FORMAT_VERSION,
    name: model.name,
    classes: [...model.classes],
    input: { ...model.input },
    layers: model.layers.map((layer) => ({
      weight: Array.from({ length: layer.outDim }, (_, o) => Array.from(layer.weight.subarray(o * layer.inDim, (o + 1) * layer.inDim))),
      bias: Array.from(layer.bias),
      activation: layer.activation,
    })),
    outputActivation: model.outputActivation,
  };
}

export function parameterCount(model: MlpModel): number {
  return model.layers.reduce((sum, layer) => sum + layer.outDim * layer.inDim + layer.outDim, 0);
}

export function summarizeModel(model: MlpModel): ManifestSummary {
  return {
    name: model.name,
    classes: [...model.classes],
    input: { ...model.input },
    outputActivation: model.outputActivation,
    layerShapes: model.layers.map(({ inDim, outDim, activation }) => ({ inDim, outDim, activation })),
    parameterCount: parameterCount(model),
  };
}

/** "512→256→128→12", the shape at a glance. */
export function describeLayerShapes(model: { layers: ReadonlyArray<{ inDim: number; outDim: number }> }): string {
  if (model.layers.length === 0) return "(no layers)";
  return [model.layers[0].inDim, ...model.layers.map((layer) => layer.outDim)].join("→");
}
