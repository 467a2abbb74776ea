import { afterAll, beforeEach, describe, expect, it, vi } from "vitest";
import {
  activeMlpKernel,
  mlpForward,
  mlpForwardBatch,
  mlpProbabilitiesBatch,
  normalizeFeatures,
  setMlpKernel,
  type MlpKernelChoice,
} from "../../convex/lib/mlpForward.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import type { CanonicalWeights, OutputActivation } from "../../convex/lib/weightsFormat.ts";
import { makeCanonicalWeights, randomVector } from "./weightsFixtures.ts";
import { enableRelaxedSimd } from "../../tools/relaxedSimd.ts";
import { mlpKernelRelaxedSimd } from "../../convex/lib/mlpKernelBytes.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";

enableRelaxedSimd();

/** The forward pass written as plainly as possible, straight from the nested canonical arrays. */
function referenceForward(weights: CanonicalWeights, features: number[]): number[] {
  let x = features;
  if (weights.input.normalize === "l2") {
    const norm = Math.sqrt(x.reduce((s, v) => s + v * v, 0));
    x = x.map((v) => v / norm);
  }
  for (const layer of weights.layers) {
    x = layer.weight.map((row, o) => {
      const z = row.reduce((s, w, i) => s + w * x[i], layer.bias[o]);
      return layer.activation === "relu" ? Math.max(0, z) : z;
    });
  }
  const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
  switch (weights.outputActivation) {
    case "sigmoid":
      return x.map(sigmoid);
    case "sigmoid-normalized": {
      const s = x.map(sigmoid);
      const total = s.reduce((a, b) => a + b, 0);
      return s.map((v) => v / total);
    }
    case "softmax": {
      const max = Math.max(...x);
      const e = x.map((v) => Math.exp(v - max));
      const total = e.reduce((a, b) => a + b, 0);
      return e.map((v) => v / total);
    }
  }
}

function expectClose(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6) {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i]), `index ${i}: ${actual[i]} vs ${expected[i]}`).toBeLessThan(tolerance);
}

const activations: OutputActivation[] = ["sigmoid-normalized", "softmax", "sigmoid"];

afterAll(() => setMlpKernel("auto"));

const wasmKernels = ["wasm-relaxed", "wasm"] as const satisfies MlpKernelChoice[];

for (const kernel of ["js", ...wasmKernels] as const satisfies MlpKernelChoice[]) {
  // The WebAssembly kernels compute in float32, as PyTorch does; 1e-5 is the engine's agreed tolerance against it.
  const tolerance = kernel === "js" ? 1e-6 : 1e-5;

  describe(`mlpForward (${kernel} kernel)`, () => {
    beforeEach(() => setMlpKernel(kernel));

    for (const outputActivation of activations) {
      for (const normalize of ["none", "l2"] as const) {
        it(`matches the reference for ${outputActivation}, normalize ${normalize}, odd layer widths`, () => {
          // Widths not divisible by 8 or 4 exercise the unrolled loops' tails.
          const weights = makeCanonicalWeights({ dims: [67, 33, 9, 5], outputActivation, normalize, seed: 7 });
          const model = toMlpModel(weights);
          const random = seededRandom(3);
          for (let n = 0; n < 5; n++) {
            const features = randomVector(67, random, 2);
            const prediction = mlpForward(model, features);
            const expected = referenceForward(weights, features);
            expectClose(prediction.probabilities, expected, tolerance);
            const top = expected.indexOf(Math.max(...expected));
            expect(prediction.labelIndex).toBe(top);
            expect(prediction.label).toBe(weights.classes[top]);
            expect(prediction.confidence).toBe(prediction.probabilities[top]);
          }
        });
      }
    }

    it("matches the reference on the product's 512 → 256 → 128 → 12 shape", () => {
      const weights = makeCanonicalWeights({ dims: [512, 256, 128, 12], seed: 11 });
      const model = toMlpModel(weights);
      const features = randomVector(512, seededRandom(5), 3);
      expectClose(mlpForward(model, features).probabilities, referenceForward(weights, features), tolerance);
      expectClose(mlpForward(model, Float32Array.from(features)).probabilities, referenceForward(weights, features), tolerance);
    });

    it("gives a proper distribution when every sigmoid underflows", () => {
      const weights = makeCanonicalWeights({ dims: [2, 3] });
      weights.layers[0].weight = [[0, 0], [0, 0], [0, 0]];
      weights.layers[0].bias = [-1000, -1001, -2000];
      const { probabilities, labelIndex } = mlpForward(toMlpModel(weights), [1, 1]);
      expect(probabilities.every(Number.isFinite)).toBe(true);
      expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      expect(labelIndex).toBe(0);
      expectClose(probabilities, [1 / (1 + Math.exp(-1)), Math.exp(-1) / (1 + Math.exp(-1)), 0], 1e-12);
    });

    it("normalises sigmoids the same on both sides of the -700 logit below which it switches to log space", () => {
      for (const bias of [[-690, -691.5, -692], [-699, -700.5, -702], [3, -699.75, -701]]) {
        const weights = makeCanonicalWeights({ dims: [2, 3] });
        weights.layers[0].weight = [[0, 0], [0, 0], [0, 0]];
        weights.layers[0].bias = bias;
        const probabilities = mlpForward(toMlpModel(weights), [1, 1]).probabilities;
        const sigmoids = bias.map((z) => 1 / (1 + Math.exp(-z)));
        const total = sigmoids.reduce((a, b) => a + b, 0);
        sigmoids.forEach((s, k) => expect(Math.abs(probabilities[k] - s / total)).toBeLessThanOrEqual(1e-15));
      }
    });

    it("keeps softmax finite for huge logits", () => {
      const weights = makeCanonicalWeights({ dims: [1, 2], outputActivation: "softmax" });
      weights.layers[0].weight = [[1], [1]];
      weights.layers[0].bias = [1000, 999];
      expectClose(mlpForward(toMlpModel(weights), [0]).probabilities, [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1))], 1e-12);
    });

    it("refuses a vector of the wrong length", () => {
      const model = toMlpModel(makeCanonicalWeights({ dims: [8, 3] }));
      expect(() => mlpForward(model, [1, 2, 3])).toThrow("mlpForward: expected 8 features, got 3");
    });

    it("gives the same answer when called repeatedly (scratch buffers are reused, not leaked between calls)", () => {
      const model = toMlpModel(makeCanonicalWeights({ dims: [16, 12, 4] }));
      const random = seededRandom(9);
      const a = randomVector(16, random);
      const b = randomVector(16, random);
      const first = mlpForward(model, a).probabilities;
      mlpForward(model, b);
      expect(mlpForward(model, a).probabilities).toEqual(first);
    });
  });

  describe(`mlpForwardBatch (${kernel} kernel)`, () => {
    beforeEach(() => setMlpKernel(kernel));

    for (const count of [0, 1, 3, 4, 9, 100]) {
      it(`matches mlpForward row by row for ${count} rows`, () => {
        const weights = makeCanonicalWeights({ dims: [37, 21, 7], seed: count + 1, normalize: count % 2 ? "l2" : "none" });
        const model = toMlpModel(weights);
        const random = seededRandom(count);
        const rows = Array.from({ length: count }, () => randomVector(37, random, 2));
        const packed = new Float32Array(rows.flat());
        const predictions = mlpForwardBatch(model, packed, count);
        expect(predictions).toHaveLength(count);
        predictions.forEach((prediction, r) => {
          const expected = referenceForward(weights, Array.from(packed.subarray(r * 37, (r + 1) * 37)));
          expectClose(prediction.probabilities, expected, tolerance);
          expect(prediction.label).toBe(weights.classes[prediction.labelIndex]);
        });
        const raw = mlpProbabilitiesBatch(model, packed, count);
        expect(raw.length).toBe(count * 7);
        if (count > 0) expect(Array.from(raw.subarray(0, 7))).toEqual(predictions[0].probabilities);
      });
    }

    it("agrees with mlpForward within float32 rounding (1e-6) on the product's shape, pairs and the odd row alike", () => {
      const weights = makeCanonicalWeights({ dims: [512, 256, 128, 12], seed: 21, normalize: "l2" });
      const model = toMlpModel(weights);
      const random = seededRandom(22);
      const rows = Array.from({ length: 9 }, () => randomVector(512, random, 3));
      const batch = mlpProbabilitiesBatch(model, new Float32Array(rows.flat()), rows.length);
      rows.forEach((features, r) => expectClose(batch.subarray(r * 12, (r + 1) * 12), mlpForward(model, features).probabilities, 1e-6));
    });

    it("refuses a buffer that is not count × dim", () => {
      const model = toMlpModel(makeCanonicalWeights({ dims: [8, 3] }));
      expect(() => mlpForwardBatch(model, new Float32Array(20), 2)).toThrow("mlpForwardBatch (features.length / count): expected 8 features, got 10");
    });
  });
}

describe("normalizeFeatures", () => {
  it("scales to unit length for l2 and copies for none", () => {
    expect(Array.from(normalizeFeatures([3, 4], "l2"))).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(Array.from(normalizeFeatures([3, 4], "none"))).toEqual([3, 4]);
    expect(Array.from(normalizeFeatures([0, 0], "l2"))).toEqual([0, 0]);
  });
});

describe("kernel choice", () => {
  afterAll(() => setMlpKernel("auto"));

  it("uses the relaxed-SIMD kernel by default where the runtime offers it, and each other kernel when forced", () => {
    setMlpKernel("auto");
    expect(activeMlpKernel()).toBe("wasm-relaxed");
    setMlpKernel("wasm");
    expect(activeMlpKernel()).toBe("wasm");
    setMlpKernel("js");
    expect(activeMlpKernel()).toBe("js");
  });

  for (const kernel of wasmKernels) {
    it(`really runs the WebAssembly kernel (${kernel}): it sums in float32, the JavaScript kernel in float64`, () => {
      // Inputs 0, 8 and 16 land in the same SIMD lane and accumulator: 1e8 + 1 rounds back to 1e8 in float32.
      const weights = makeCanonicalWeights({ dims: [24, 2], outputActivation: "softmax" });
      weights.layers[0].weight = [Array.from({ length: 24 }, () => 1), Array.from({ length: 24 }, () => 0)];
      weights.layers[0].bias = [0, 0];
      const model = toMlpModel(weights);
      const features = Array.from({ length: 24 }, (_, i) => (i === 0 ? 1e8 : i === 8 ? 1 : i === 16 ? -1e8 : 0));
      setMlpKernel("js");
      expectClose(mlpForward(model, features).probabilities, [1 / (1 + Math.exp(-1)), 1 / (1 + Math.exp(1))], 1e-12);
      setMlpKernel(kernel);
      expect(mlpForward(model, features).probabilities).toEqual([0.5, 0.5]);
      expect(Array.from(mlpProbabilitiesBatch(model, [...features, ...features, ...features], 3))).toEqual([0.5, 0.5, 0.5, 0.5, 0.5, 0.5]);
    });
  }

  it("runs a fused multiply-add where the CPU has one: the relaxed kernel keeps a product's low bits that the plain one rounds away", () => {
    // Inputs 0 and 8 share an accumulator. (1 + 2⁻¹²)² = 1 + 2⁻¹¹ + 2⁻²⁴, which float32 rounds to 1 + 2⁻¹¹:
    // added to −(1 + 2⁻¹¹) it leaves 0 unfused and exactly 2⁻²⁴ fused.
    const a = 1 + 2 ** -12;
    const weights = makeCanonicalWeights({ dims: [16, 2], outputActivation: "sigmoid" });
    weights.layers[0].weight = [Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : i === 8 ? a : 0)), Array.from({ length: 16 }, () => 0)];
    weights.layers[0].bias = [0, 0];
    const model = toMlpModel(weights);
    const features = Array.from({ length: 16 }, (_, i) => (i === 0 ? -(1 + 2 ** -11) : i === 8 ? a : 0));
    const fused = 1 / (1 + Math.exp(-(2 ** -24)));
    setMlpKernel("wasm");
    expect(mlpForward(model, features).probabilities).toEqual([0.5, 0.5]);
    expect(Array.from(mlpProbabilitiesBatch(model, [...features, ...features], 2))).toEqual([0.5, 0.5, 0.5, 0.5]);
    setMlpKernel("wasm-relaxed");
    // relaxed_madd may also be unfused on a CPU without FMA; x86-64 with FMA3 (this machine) and arm64 fuse.
    expect(mlpForward(model, features).probabilities).toEqual([fused, 0.5]);
    expect(Array.from(mlpProbabilitiesBatch(model, [...features, ...features], 2))).toEqual([fused, 0.5, fused, 0.5]);
  });

  it("uses plain SIMD where the runtime refuses the relaxed-SIMD probe, and refuses to force relaxed SIMD there", async () => {
    vi.resetModules();
    const validate = vi.spyOn(WebAssembly, "validate").mockReturnValue(false);
    try {
      const fresh = await import("../../convex/lib/mlpForward.ts");
      expect(fresh.activeMlpKernel()).toBe("wasm");
      expect(validate).toHaveBeenCalled();
      expect(() => fresh.setMlpKernel("wasm-relaxed")).toThrow(
        'setMlpKernel("wasm-relaxed"): the WebAssembly relaxed-SIMD kernel cannot run here: the runtime does not offer relaxed SIMD (WebAssembly.validate refused a module using f32x4.relaxed_madd)',
      );
      const weights = makeCanonicalWeights({ dims: [67, 33, 9, 5], seed: 7 });
      const features = randomVector(67, seededRandom(2), 2);
      expectClose(fresh.mlpForward(toMlpModel(weights), features).probabilities, referenceForward(weights, features), 1e-5);
    } finally {
      validate.mockRestore();
      vi.resetModules();
    }
  });

  it("falls back to plain SIMD when the relaxed module will not compile, and to JavaScript when neither will", async () => {
    const OriginalModule = WebAssembly.Module;
    for (const refuse of ["relaxed", "both"] as const) {
      vi.resetModules();
      const compile = vi.spyOn(WebAssembly, "Module").mockImplementation(function (this: unknown, bytes: BufferSource) {
        // A fresh import has its own copy of the bytes, so compare contents.
        const isRelaxed = bytes instanceof Uint8Array && bytes.length === mlpKernelRelaxedSimd.length && bytes.every((b, i) => b === mlpKernelRelaxedSimd[i]);
        if (refuse === "both" || isRelaxed) throw new WebAssembly.CompileError("refused by the test");
        return new OriginalModule(bytes);
      } as unknown as typeof WebAssembly.Module);
      try {
        const fresh = await import("../../convex/lib/mlpForward.ts");
        expect(fresh.activeMlpKernel()).toBe(refuse === "relaxed" ? "wasm" : "js");
        expect(() => fresh.setMlpKernel("wasm-relaxed")).toThrow("compiling the relaxed-SIMD module failed: refused by the test");
        if (refuse === "both") expect(() => fresh.setMlpKernel("wasm")).toThrow("compiling the SIMD module failed: refused by the test");
        const weights = makeCanonicalWeights({ dims: [67, 33, 9, 5], seed: 7 });
        const features = randomVector(67, seededRandom(2), 2);
        expectClose(fresh.mlpForward(toMlpModel(weights), features).probabilities, referenceForward(weights, features), 1e-5);
      } finally {
        compile.mockRestore();
        vi.resetModules();
      }
    }
  });

  for (const kernel of wasmKernels) {
    it(`hands magnitudes float32 cannot hold to the JavaScript kernel (${kernel}), so the ±1e200 activation cap gives the same answers`, () => {
      const weights = makeCanonicalWeights({ dims: [9, 6, 3], outputActivation: "sigmoid-normalized", seed: 4 });
      const model = toMlpModel(weights);
      const hugeInputs = [1e31, 1e200, 1e300, Number.MAX_VALUE].map((magnitude) => Array.from({ length: 9 }, (_, i) => (i % 2 ? magnitude : -magnitude / 3)));
      // Moderate inputs whose first layer overflows float32 through a huge weight.
      const overflowing = toMlpModel({ ...weights, layers: [{ ...weights.layers[0], weight: weights.layers[0].weight.map((row) => row.map((w) => w * 3e38)) }, weights.layers[1]] });
      // Same-signed huge inputs: float32 would make every logit +Infinity and softmax NaN; capped at 1e200 they stay ordered.
      // (Eight classes, so no zero-padded output row turns Infinity × 0 into a NaN that would trigger the fallback anyway.)
      const saturating = makeCanonicalWeights({ dims: [4, 8], outputActivation: "softmax" });
      saturating.layers[0].weight = Array.from({ length: 8 }, (_, o) => [1, 1, 1, 1].map((w) => w / (o + 1)));
      // +Infinity and −Infinity in two lanes of one sum: only their total, a NaN, reaches the output.
      const cancelling = makeCanonicalWeights({ dims: [8, 2], outputActivation: "softmax" });
      cancelling.layers[0].weight = [[3e38, -3e38, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0, 0]];
      cancelling.layers[0].bias = [0, 0];
      const cases: Array<[typeof model, number[]]> = [
        ...hugeInputs.map((features): [typeof model, number[]] => [model, features]),
        [overflowing, Array.from({ length: 9 }, () => 2)],
        [toMlpModel(saturating), [1e300, 1e300, 1e300, 1e300]],
        [toMlpModel(cancelling), [2, 2, 0, 0, 0, 0, 0, 0]],
      ];
      for (const [subject, features] of cases) {
        setMlpKernel("js");
        const single = mlpForward(subject, features).probabilities;
        const batch = mlpProbabilitiesBatch(subject, [...features, ...features, ...features], 3);
        expect(single.every(Number.isFinite)).toBe(true);
        setMlpKernel(kernel);
        expect(mlpForward(subject, features).probabilities).toEqual(single);
        expect(mlpProbabilitiesBatch(subject, [...features, ...features, ...features], 3)).toEqual(batch);
      }
    });

    it(`L2-normalises inputs whose squares overflow or underflow before the WebAssembly kernel (${kernel}) sees them`, () => {
      const weights = makeCanonicalWeights({ dims: [20, 7, 4], normalize: "l2", seed: 12 });
      const model = toMlpModel(weights);
      const direction = randomVector(20, seededRandom(8), 1);
      setMlpKernel(kernel);
      const expected = mlpForward(model, direction).probabilities;
      expectClose(expected, referenceForward(weights, direction), 1e-5);
      for (const scale of [1e-200, 1e200, 1e300]) {
        const scaled = direction.map((v) => v * scale);
        expectClose(mlpForward(model, scaled).probabilities, expected, 1e-6);
        const batch = mlpProbabilitiesBatch(model, [...scaled, ...direction, ...scaled], 3);
        for (let r = 0; r < 3; r++) expectClose(batch.subarray(r * 4, r * 4 + 4), expected, 1e-6);
      }
    });
  }

  it("falls back to JavaScript where WebAssembly is missing, and refuses to force it there", async () => {
    vi.resetModules();
    vi.stubGlobal("WebAssembly", undefined);
    try {
      const fresh = await import("../../convex/lib/mlpForward.ts");
      expect(fresh.activeMlpKernel()).toBe("js");
      expect(() => fresh.setMlpKernel("wasm")).toThrow('setMlpKernel("wasm"): the WebAssembly SIMD kernel cannot run here: there is no WebAssembly global');
      expect(() => fresh.setMlpKernel("wasm-relaxed")).toThrow('setMlpKernel("wasm-relaxed"): the WebAssembly relaxed-SIMD kernel cannot run here: there is no WebAssembly global');
      const weights = makeCanonicalWeights({ dims: [67, 33, 9, 5], seed: 7 });
      const features = randomVector(67, seededRandom(2), 2);
      expectClose(fresh.mlpForward(toMlpModel(weights), features).probabilities, referenceForward(weights, features));
    } finally {
      vi.unstubAllGlobals();
      vi.resetModules();
    }
  });
});
