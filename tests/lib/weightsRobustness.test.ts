import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { WeightsDecodeError, decodeWeights, encodeWeights } from "../../convex/lib/weightsBinary.ts";
import { importWeightsJson, importWeightsValue } from "../../convex/lib/weightsImport.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { validateCanonicalWeights } from "../../convex/lib/weightsValidation.ts";
import { makeCanonicalWeights, toSequentialStateDict } from "./weightsFixtures.ts";

/** Arbitrary JSON biased towards the shapes the importer looks at, so the property reaches deep code paths. */
const weightsLike = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constantFrom<unknown>(0, -1.5, 512, "NaN", "relu", "tanh", "", null, true, "__proto__"),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.array(fc.array(fc.oneof(fc.double(), fc.string({ maxLength: 3 })), { maxLength: 5 }), { maxLength: 5 }),
    fc.dictionary(
      fc.constantFrom("format", "formatVersion", "name", "classes", "input", "dim", "normalize", "layers", "weight", "bias", "activation", "net.0.weight", "net.0.bias", "fc2.weight", "__proto__", "constructor"),
      tie("value"),
      { maxKeys: 6 },
    ),
  ),
})).value;

describe("robustness on arbitrary input", () => {
  it("validation and import never throw, and every problem names a path and says something", () => {
    fc.assert(
      fc.property(weightsLike, (value) => {
        const problems = validateCanonicalWeights(value);
        for (const problem of problems) {
          expect(typeof problem.path).toBe("string");
          expect(problem.message.length).toBeGreaterThan(0);
        }
        const result = importWeightsValue(value);
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it("importWeightsJson never throws on arbitrary text", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 4 })), (text) => {
        const result = importWeightsJson(text);
        if (!result.ok) expect(result.problems[0].message.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });

  it("every truncation of a valid document gives a positioned syntax error, never a throw", () => {
    const text = JSON.stringify(toSequentialStateDict(makeCanonicalWeights({ dims: [3, 2] })));
    for (let end = 1; end < text.length; end++) {
      const result = importWeightsJson(text.slice(0, end));
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.problems[0].message).toMatch(/^invalid JSON at line 1, column \d+: /);
    }
  });

  it("decoding damaged bytes either succeeds or throws WeightsDecodeError", () => {
    const bytes = encodeWeights(toMlpModel(makeCanonicalWeights({ dims: [4, 3, 2] })));
    fc.assert(
      fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: bytes.length }), (index, byte, length) => {
        const damaged = bytes.slice(0, Math.max(length, index + 1));
        damaged[index] = byte;
        try {
          const model = decodeWeights(damaged);
          expect(model.layers.length).toBeGreaterThan(0);
        } catch (error) {
          expect(error).toBeInstanceOf(WeightsDecodeError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
