import { describe, expect, it } from "vitest";
import { checkDecodedModel, checkText, describeInputMismatch, hexToBase64 } from "../../convex/lib/versionChecks.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";

function tinyModel(): MlpModel {
  return {
    name: "tiny",
    classes: ["a", "b"],
    input: { dim: 3, clipModel: "clip", normalize: "none" },
    outputActivation: "softmax",
    layers: [
      { inDim: 3, outDim: 2, weight: new Float32Array([1, 2, 3, 4, 5, 6]), bias: new Float32Array([0, 0]), activation: "none" },
    ],
  };
}

describe("checkText", () => {
  it("states the limit and what was found", () => {
    expect(checkText("name", "x".repeat(101), 100, true)).toEqual(["name is 101 characters; the limit is 100"]);
    expect(checkText("name", "", 100, true)).toEqual(["name is required"]);
    expect(checkText("notes", "", 100, false)).toEqual([]);
    expect(checkText("notes", "x".repeat(100), 100, false)).toEqual([]);
  });
});

describe("checkDecodedModel", () => {
  it("accepts a sound model", () => {
    expect(checkDecodedModel(tinyModel())).toEqual([]);
  });

  it("locates non-finite tensor values by row and column, and counts them", () => {
    const model = tinyModel();
    model.layers[0].weight[5] = Number.POSITIVE_INFINITY;
    model.layers[0].weight[4] = Number.NaN;
    model.layers[0].bias[1] = Number.NaN;
    expect(checkDecodedModel(model)).toEqual([
      "layers[0].weight has 2 non-finite value(s), the first at [1][1] (NaN)",
      "layers[0].bias has 1 non-finite value(s), the first at [1] (NaN)",
    ]);
  });

  it("refuses empty, overlong and repeated class names", () => {
    const model = tinyModel();
    model.classes = [" ", "b", "b", "c".repeat(101)];
    expect(checkDecodedModel(model)).toEqual([
      "classes[0] is empty",
      'classes[2] "b" repeats classes[1]',
      "classes[3] is 101 characters; the limit is 100",
    ]);
  });
});

describe("describeInputMismatch", () => {
  const input = { dim: 512, clipModel: "Xenova/clip-vit-base-patch32", normalize: "l2" as const };
  it("is null when the version takes what clients produce", () => {
    expect(describeInputMismatch("version 1 'a'", input, { featureDim: 512, clipModelId: "Xenova/clip-vit-base-patch32" })).toBeNull();
  });
  it("names both differences and what to do", () => {
    const message = describeInputMismatch("version 1 'a'", input, { featureDim: 768, clipModelId: "openai/clip-vit-large-patch14" });
    expect(message).toBe(
      "version 1 'a' does not match the clients' features: it takes 512 features but clients produce 768, and it was trained on features from \"Xenova/clip-vit-base-patch32\" but clients use \"openai/clip-vit-large-patch14\". Import a version trained on the clients' CLIP model, or change \"Clients' CLIP model\" in Settings (only after every browser runs that model).",
    );
  });
});

describe("hexToBase64", () => {
  it("converts a sha256 digest to the form storage reports", () => {
    expect(hexToBase64("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).toBe("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  });
});
