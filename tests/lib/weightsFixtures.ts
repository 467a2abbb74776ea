/** Small, seeded weight documents for tests: generated, never committed. */
import type { CanonicalWeights, OutputActivation } from "../../convex/lib/weightsFormat.ts";
import { toCanonicalWeights } from "../../convex/lib/mlpModel.ts";
import { makeRandomModel } from "../../tools/fixtures/randomModel.ts";

/** Values exactly representable in float32, so JSON ↔ Float32Array comparisons are exact. */
export function randomMatrix(rows: number, cols: number, random: () => number, scale = 0.5): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: cols }, () => Math.fround((random() * 2 - 1) * scale)));
}

export function randomVector(length: number, random: () => number, scale = 0.5): number[] {
  return Array.from({ length }, () => Math.fround((random() * 2 - 1) * scale));
}

export interface FixtureOptions {
  dims?: number[];
  seed?: number;
  outputActivation?: OutputActivation;
  normalize?: "none" | "l2";
}

/** A valid canonical document; dims [in, hidden..., classes], weights in ±0.5 and biases in ±0.1 (exact float32 values). */
export function makeCanonicalWeights(options: FixtureOptions = {}): CanonicalWeights {
  const dims = options.dims ?? [8, 6, 5, 3];
  const model = makeRandomModel({
    dims,
    seed: options.seed ?? 1,
    name: "fixture",
    classes: Array.from({ length: dims[dims.length - 1] }, (_, i) => `label_${i}`),
    normalize: options.normalize ?? "none",
    outputActivation: options.outputActivation ?? "sigmoid-normalized",
    weightScale: () => 1,
  });
  return toCanonicalWeights(model);
}

/** The same layers as a bare PyTorch state_dict with nn.Sequential keys (Linear, ReLU, Dropout, Linear, ...). */
export function toSequentialStateDict(weights: CanonicalWeights): Record<string, unknown> {
  const dict: Record<string, unknown> = {};
  weights.layers.forEach((layer, i) => {
    dict[`net.${i * 3}.weight`] = layer.weight;
    dict[`net.${i * 3}.bias`] = layer.bias;
  });
  return dict;
}

/** Deep copy so a test can break one thing without touching the fixture. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}
