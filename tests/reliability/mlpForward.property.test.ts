/**
 * Property-based checks of the MLP engine: for any finite input — including
 * magnitudes up to Number.MAX_VALUE — and any weights float32 can hold, the
 * sigmoid-normalized and softmax outputs are a probability distribution:
 * finite, non-negative, summing to 1 (within 1e-6), on both the one-vector
 * and the batch path, with each WebAssembly kernel (relaxed SIMD and plain
 * SIMD) and with the JavaScript one.
 */
import { afterAll, beforeEach, describe, expect, test } from "vitest";
import fc from "fast-check";
import { mlpForward, mlpProbabilitiesBatch, normalizeFeatures, setMlpKernel } from "../../convex/lib/mlpForward.ts";
import type { MlpModel, OutputActivation } from "../../convex/lib/weightsFormat.ts";
import { enableRelaxedSimd } from "../../tools/relaxedSimd.ts";

enableRelaxedSimd();

const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });
const hugeMagnitude = fc.constantFrom(1e30, -1e30, 1e150, -1e150, 1e300, -1e300, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, 0);
const inputValue = fc.oneof(finiteDouble, hugeMagnitude, fc.double({ min: -10, max: 10, noNaN: true }));
const float32Value = fc.oneof(
  fc.float({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(3.4028234663852886e38, -3.4028234663852886e38, 1e-45, 0),
  fc.float({ min: -2, max: 2, noNaN: true }),
);

interface ModelRecipe {
  widths: number[];
  outputActivation: OutputActivation;
  normalize: "none" | "l2";
  values: number[];
}

const modelRecipe: fc.Arbitrary<ModelRecipe> = fc.record({
  widths: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 2, maxLength: 4 }),
  outputActivation: fc.constantFrom<OutputActivation>("sigmoid-normalized", "softmax"),
  normalize: fc.constantFrom<"none" | "l2">("none", "l2"),
  values: fc.array(float32Value, { minLength: 1, maxLength: 64 }),
});

/** Builds a model whose tensors cycle through `values` (all representable in float32). */
function buildModel({ widths, outputActivation, normalize, values }: ModelRecipe): MlpModel {
  let next = 0;
  const take = () => values[next++ % values.length];
  const layers = widths.slice(1).map((outDim, i) => ({
    inDim: widths[i],
    outDim,
    weight: Float32Array.from({ length: outDim * widths[i] }, take),
    bias: Float32Array.from({ length: outDim }, take),
    activation: (i === widths.length - 2 ? "none" : "relu") as "none" | "relu",
  }));
  return {
    name: "property",
    classes: Array.from({ length: widths[widths.length - 1] }, (_, i) => `c${i}`),
    input: { dim: widths[0], clipModel: "test", normalize },
    outputActivation,
    layers,
  };
}

function expectDistribution(probabilities: ArrayLike<number>): void {
  let sum = 0;
  for (let i = 0; i < probabilities.length; i++) {
    const p = probabilities[i];
    expect(Number.isFinite(p), `probability ${i} is ${p}`).toBe(true);
    expect(p).toBeGreaterThanOrEqual(0);
    sum += p;
  }
  expect(Math.abs(sum - 1)).toBeLessThanOrEqual(1e-6);
}

const caseOf = modelRecipe.chain((recipe) =>
  fc.record({
    recipe: fc.constant(recipe),
    rows: fc.array(fc.array(inputValue, { minLength: recipe.widths[0], maxLength: recipe.widths[0] }), { minLength: 1, maxLength: 6 }),
  }),
);

afterAll(() => setMlpKernel("auto"));

for (const kernel of ["js", "wasm", "wasm-relaxed"] as const) {
  describe(`mlpForward (${kernel} kernel): any finite input gives a distribution`, () => {
    beforeEach(() => setMlpKernel(kernel));

    test("finite, non-negative, sums to 1 for sigmoid-normalized and softmax, on the one-vector and the batch path", () => {
      fc.assert(
        fc.property(caseOf, ({ recipe, rows }) => {
          const model = buildModel(recipe);
          const batch = mlpProbabilitiesBatch(model, rows.flat(), rows.length);
          const classes = model.classes.length;
          rows.forEach((features, r) => {
            const single = mlpForward(model, features);
            expectDistribution(single.probabilities);
            expect(single.confidence).toBe(single.probabilities[single.labelIndex]);
            // The kernels sum in different orders, so at extreme magnitudes they may round apart; both must still be distributions.
            expectDistribution(batch.subarray(r * classes, (r + 1) * classes));
          });
        }),
        { numRuns: 400 },
      );
    });

    test("the real shape (512 → 256 → 128 → 12) stays a distribution at ±1e30 and at ±Number.MAX_VALUE", () => {
      const random = (() => {
        let state = 7;
        return () => ((state = (state * 48271) % 2147483647) / 2147483647) - 0.5;
      })();
      const widths = [512, 256, 128, 12];
      for (const outputActivation of ["sigmoid-normalized", "softmax"] as const) {
        for (const normalize of ["none", "l2"] as const) {
          const model = buildModel({ widths, outputActivation, normalize, values: Array.from({ length: 997 }, () => Math.fround(random())) });
          for (const magnitude of [1e30, 1e150, 1e300, Number.MAX_VALUE]) {
            const features = Array.from({ length: 512 }, (_, i) => (i % 3 === 0 ? -magnitude : magnitude) * (1 - (i % 5) / 10));
            expectDistribution(mlpForward(model, features).probabilities);
            expectDistribution(mlpProbabilitiesBatch(model, [...features, ...features, ...features, ...features, ...features], 5).subarray(48, 60));
          }
        }
      }
    });
  });
}

describe.each(["wasm", "wasm-relaxed"] as const)("the WebAssembly kernel's float32 range (%s)", (kernel) => {
  test("an input beyond float32's safe range gets exactly the JavaScript kernel's answer (its ±1e200 cap), on both paths", () => {
    fc.assert(
      fc.property(
        caseOf.filter(({ recipe, rows }) => recipe.normalize === "none" && rows.some((row) => row.some((v) => Math.abs(v) > 1e30))),
        ({ recipe, rows }) => {
          const model = buildModel(recipe);
          const huge = rows.filter((row) => row.some((v) => Math.abs(v) > 1e30));
          setMlpKernel("js");
          const expected = huge.map((row) => mlpForward(model, row).probabilities);
          const expectedBatch = mlpProbabilitiesBatch(model, huge.flat(), huge.length);
          setMlpKernel(kernel);
          huge.forEach((row, r) => expect(mlpForward(model, row).probabilities).toEqual(expected[r]));
          expect(mlpProbabilitiesBatch(model, huge.flat(), huge.length)).toEqual(expectedBatch);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("normalizeFeatures", () => {
  test("l2 normalisation is scale-free, even where squaring would overflow or underflow", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 1, maxLength: 16 }).filter((v) => v.some((x) => Math.abs(x) > 1e-3)),
        fc.constantFrom(1e-200, 1e-160, 1, 1e160, 1e300),
        (direction, scale) => {
          const reference = normalizeFeatures(direction, "l2");
          const scaled = normalizeFeatures(direction.map((x) => x * scale), "l2");
          reference.forEach((x, i) => expect(Math.abs(x - scaled[i])).toBeLessThanOrEqual(1e-6));
        },
      ),
      { numRuns: 200 },
    );
  });
});
