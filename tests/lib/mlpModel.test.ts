import { describe, expect, it } from "vitest";
import { mlpForward } from "../../convex/lib/mlpForward.ts";
import { describeLayerShapes, parameterCount, summarizeModel, toCanonicalWeights, toMlpModel } from "../../convex/lib/mlpModel.ts";
import { decodeWeights, encodeWeights } from "../../convex/lib/weightsBinary.ts";
import { makeCanonicalWeights, randomVector } from "./weightsFixtures.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";

const weights = makeCanonicalWeights({ dims: [6, 4, 3], outputActivation: "softmax" });

describe("MlpModel conversions", () => {
  it("flattens [out][in] rows row-major and converts back unchanged", () => {
    const model = toMlpModel(weights);
    expect(model.layers[0]).toMatchObject({ inDim: 6, outDim: 4, activation: "relu" });
    expect(model.layers[0].weight[1 * 6 + 2]).toBe(weights.layers[0].weight[1][2]);
    expect(Array.from(model.layers[1].bias)).toEqual(weights.layers[1].bias);
    expect(toCanonicalWeights(model)).toEqual(weights);
  });

  it("does not share arrays with the document it came from", () => {
    const model = toMlpModel(weights);
    model.classes.push("x");
    model.input.dim = 99;
    expect(weights.classes).toHaveLength(3);
    expect(weights.input.dim).toBe(6);
  });

  it("summarises shapes and counts parameters (weights plus biases)", () => {
    const model = toMlpModel(weights);
    expect(parameterCount(model)).toBe(6 * 4 + 4 + 4 * 3 + 3);
    expect(summarizeModel(model)).toEqual({
      name: "fixture",
      classes: ["label_0", "label_1", "label_2"],
      input: weights.input,
      outputActivation: "softmax",
      layerShapes: [
        { inDim: 6, outDim: 4, activation: "relu" },
        { inDim: 4, outDim: 3, activation: "none" },
      ],
      parameterCount: 43,
    });
    expect(describeLayerShapes(model)).toBe("6→4→3");
  });

  it("predicts the same from a decoded binary (views or copies) as from the canonical form", () => {
    const model = toMlpModel(makeCanonicalWeights({ dims: [512, 256, 128, 12], seed: 21 }));
    const bytes = encodeWeights(model);
    const shifted = new Uint8Array(bytes.length + 2);
    shifted.set(bytes, 2);
    const features = randomVector(512, seededRandom(1), 2);
    const expected = mlpForward(model, features).probabilities;
    expect(mlpForward(decodeWeights(bytes), features).probabilities).toEqual(expected);
    expect(mlpForward(decodeWeights(shifted.subarray(2)), features).probabilities).toEqual(expected);
  });
});
