/**
 * The models and inputs the benchmark runs on: the trained demo model
 * (512→256→128→12) as shipped, a seeded random model of any shape, and
 * seeded feature vectors, so every run measures the same work.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { toCanonicalWeights, toMlpModel } from "../../convex/lib/mlpModel.ts";
import { decodeWeights, encodeWeights } from "../../convex/lib/weightsBinary.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { makeRandomModel } from "../fixtures/randomModel.ts";
import { importWeightsJson } from "../../convex/lib/weightsImport.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";

export const DEMO_WEIGHTS_PATH = fileURLToPath(new URL("../../weights/demo/demo-mlp.json", import.meta.url));

/** A model in the three forms the benchmark compares: in memory, `.mlpw` bytes, canonical JSON text. */
export interface BenchModel {
  model: MlpModel;
  binary: Uint8Array;
  jsonText: string;
  /** "512→256→128→12". */
  shape: string;
  parameterCount: number;
}

function describe(model: MlpModel): Pick<BenchModel, "shape" | "parameterCount"> {
  return {
    shape: [model.layers[0].inDim, ...model.layers.map((layer) => layer.outDim)].join("→"),
    parameterCount: model.layers.reduce((sum, layer) => sum + layer.inDim * layer.outDim + layer.outDim, 0),
  };
}

/**
 * The canonical JSON text as the exporter writes it: each float32 in at most
 * nine significant digits (what round-trips a float32), not JSON.stringify's
 * seventeen for the widened double, which would inflate the baseline.
 */
export function canonicalJsonText(model: MlpModel): string {
  const canonical = toCanonicalWeights(model);
  const short = (value: number) => Number(value.toPrecision(9));
  for (const layer of canonical.layers) {
    layer.weight = layer.weight.map((row) => row.map(short));
    layer.bias = layer.bias.map(short);
  }
  return JSON.stringify(canonical);
}

/** The trained demo weights; `model` is decoded from the binary, as the classify action gets it. */
export async function loadDemoBenchModel(path = DEMO_WEIGHTS_PATH): Promise<BenchModel> {
  const jsonText = await readFile(path, "utf8");
  const imported = importWeightsJson(jsonText);
  if (!imported.ok) {
    throw new Error(`${path} is not valid canonical weights: ${imported.problems.map((p) => p.message).join("; ")}`);
  }
  const binary = encodeWeights(toMlpModel(imported.weights));
  const model = decodeWeights(binary);
  return { model, binary, jsonText, ...describe(model) };
}

/** A seeded random MLP: ReLU between layers, sigmoid-normalized output, L2 input like the product's. */
export function makeRandomBenchModel(dims: readonly number[], seed = 1): BenchModel {
  const binary = encodeWeights(makeRandomModel({ dims, seed, name: `bench-${dims.join("-")}` }));
  const model = decodeWeights(binary);
  return { model, binary, jsonText: canonicalJsonText(model), ...describe(model) };
}

/** `count` feature vectors of length `dim`, row-major, values in about [-1, 1] like raw CLIP projections. */
export function benchFeatures(count: number, dim: number, seed = 7): Float32Array {
  const random = seededRandom(seed * 7919 + 13);
  return Float32Array.from({ length: count * dim }, () => (random() - 0.5) * 2 + 0.001);
}
