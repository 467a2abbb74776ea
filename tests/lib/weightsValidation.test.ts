import { describe, expect, it } from "vitest";
import { validateCanonicalWeights, type WeightsProblem } from "../../convex/lib/weightsValidation.ts";
import { clone, makeCanonicalWeights } from "./weightsFixtures.ts";

function messages(problems: WeightsProblem[]): string[] {
  return problems.map((p) => p.message);
}

/** A 512 → 256 → 128 → 12 shaped document with tiny dims would hide nothing; small dims keep the tests fast. */
const valid = makeCanonicalWeights({ dims: [8, 6, 5, 3] });

describe("validateCanonicalWeights", () => {
  it("accepts a valid document", () => {
    expect(validateCanonicalWeights(valid)).toEqual([]);
  });

  it("reports a layer whose input does not match the previous layer's output, with both shapes", () => {
    const doc = clone(valid);
    doc.layers[1].weight = doc.layers[1].weight.map((row) => row.slice(0, 5));
    expect(validateCanonicalWeights(doc)).toEqual([{ path: "layers[1].weight", message: "layers[1].weight is 5×5 but layers[0] outputs 6" }]);
  });

  it("reports a bias whose length differs from the weight's rows", () => {
    const doc = clone(valid);
    doc.layers[0].bias.pop();
    expect(messages(validateCanonicalWeights(doc))).toEqual(["layers[0].bias has 5 values but layers[0].weight has 6 rows"]);
  });

  it("reports a ragged row by index with the expected length", () => {
    const doc = clone(valid);
    doc.layers[0].weight[4].pop();
    expect(validateCanonicalWeights(doc)).toEqual([{ path: "layers[0].weight[4]", message: "layers[0].weight[4] has 7 values, expected 8" }]);
  });

  it("takes the most common row length as the expected one, even when row 0 is the odd one", () => {
    const doc = clone(valid);
    doc.layers[0].weight[0].push(0.5);
    expect(messages(validateCanonicalWeights(doc))).toEqual(["layers[0].weight[0] has 9 values, expected 8"]);
  });

  it("reports a first layer that does not accept input.dim", () => {
    const doc = clone(valid);
    doc.input.dim = 512;
    expect(messages(validateCanonicalWeights(doc))).toEqual(["layers[0].weight is 6×8 but input.dim is 512"]);
  });

  it("reports a last layer whose output count differs from the class names", () => {
    const doc = clone(valid);
    doc.classes.push("extra");
    expect(messages(validateCanonicalWeights(doc))).toEqual(["layers[2].weight is 3×5, so the model has 3 outputs, but classes has 4 names"]);
  });

  it("reports non-finite values at their exact path: strings, null, and NaN objects", () => {
    const doc = clone(valid) as unknown as { layers: Array<{ weight: unknown[][]; bias: unknown[] }> };
    doc.layers[1].weight[2][3] = "NaN";
    doc.layers[2].bias[1] = null;
    doc.layers[0].weight[0][0] = Infinity;
    doc.layers[0].weight[0][1] = "0.5";
    expect(messages(validateCanonicalWeights(doc))).toEqual([
      "layers[0].weight[0][0] is not a finite number (found Infinity)",
      "layers[0].weight[0][1] is not a finite number (found the string \"0.5\")",
      'layers[1].weight[2][3] is not a finite number (found the string "NaN")',
      "layers[2].bias[1] is not a finite number (found null) (JSON.stringify writes NaN and Infinity as null)",
    ]);
  });

  it("reports an empty layer list", () => {
    const doc = { ...clone(valid), layers: [] };
    expect(messages(validateCanonicalWeights(doc))).toEqual(["layers is empty; expected at least one Linear layer"]);
  });

  it("reports an unknown activation, naming the allowed ones", () => {
    const doc = clone(valid) as unknown as { layers: Array<{ activation: string }> };
    doc.layers[0].activation = "tanh";
    expect(messages(validateCanonicalWeights(doc))).toEqual(['layers[0].activation is unknown activation "tanh"; expected one of "relu", "none"']);
  });

  it("reports an unknown output activation and normalisation", () => {
    const doc = clone(valid) as unknown as Record<string, unknown> & { input: Record<string, unknown> };
    doc.outputActivation = "argmax";
    doc.input.normalize = "l1";
    expect(messages(validateCanonicalWeights(doc))).toEqual([
      'input.normalize is the string "l1"; expected one of "none", "l2"',
      'outputActivation is the string "argmax"; expected one of "sigmoid-normalized", "softmax", "sigmoid"',
    ]);
  });

  it("reports duplicate class names", () => {
    const doc = clone(valid);
    doc.classes = ["cat", "dog", "cat"];
    expect(messages(validateCanonicalWeights(doc))).toEqual(['classes[2] "cat" repeats classes[0]; class names must be unique']);
  });

  it("reports wrong types and missing fields with what was found", () => {
    const doc = clone(valid) as unknown as Record<string, unknown>;
    doc.formatVersion = 2;
    doc.name = 7;
    delete doc.classes;
    (doc.layers as unknown[])[1] = "oops";
    expect(messages(validateCanonicalWeights(doc))).toEqual([
      'formatVersion is 2; expected 1',
      "name is 7; expected string",
      "classes is missing; expected array",
      "layers[1] is the string \"oops\"; expected an object with weight, bias and activation",
    ]);
  });

  it("reports a flat weight array and a non-array bias", () => {
    const doc = clone(valid) as unknown as { layers: Array<{ weight: unknown; bias: unknown }> };
    doc.layers[2].weight = [1, 2, 3];
    doc.layers[2].bias = { 0: 1 };
    expect(messages(validateCanonicalWeights(doc))).toEqual([
      "layers[2].weight is a flat array of 3 values; expected a matrix [out][in] (one array of numbers per output)",
      "layers[2].bias is an object; expected an array of out numbers",
    ]);
  });

  it("reports two independent problems together", () => {
    const doc = clone(valid);
    doc.layers[0].bias.push(0);
    doc.layers[2].weight[1][0] = Number.NaN;
    expect(messages(validateCanonicalWeights(doc))).toEqual([
      "layers[0].bias has 7 values but layers[0].weight has 6 rows",
      "layers[2].weight[1][0] is not a finite number (found NaN)",
    ]);
  });

  it("summarises instead of listing thousands of bad values", () => {
    const doc = makeCanonicalWeights({ dims: [64, 64, 3] }) as unknown as { layers: Array<{ weight: unknown[][] }> };
    doc.layers[0].weight = doc.layers[0].weight.map((row) => row.map(() => "x"));
    const problems = validateCanonicalWeights(doc);
    expect(problems).toHaveLength(11);
    expect(problems[10].message).toBe("layers[0].weight has 4086 more values that are not finite numbers (not listed)");
  });

  it("caps a very long problem list with a count of the rest", () => {
    const doc = { ...clone(valid), classes: new Array(300).fill("same") };
    const problems = validateCanonicalWeights(doc);
    expect(problems).toHaveLength(200);
    expect(problems[199].message).toBe("… and 101 more problems (not listed)");
  });

  it("refuses absurd layer counts in one problem", () => {
    expect(messages(validateCanonicalWeights({ ...clone(valid), layers: new Array(100_000).fill(0) }))).toEqual([
      "layers has 100000 entries; at most 64 layers are supported",
    ]);
  });

  it("rejects a document that is not an object", () => {
    expect(validateCanonicalWeights([1, 2])).toEqual([{ path: "", message: "the weights document is an array of 2 items; expected a JSON object" }]);
    expect(validateCanonicalWeights(null)[0].message).toBe("the weights document is null; expected a JSON object");
  });

  it("never throws on hostile JSON: __proto__ and constructor keys, deep nesting, strings for numbers", () => {
    const hostile = [
      JSON.parse('{"__proto__": {"layers": []}, "constructor": 1, "layers": {"__proto__": []}}'),
      JSON.parse('{"layers": [{"weight": [["1", "2"]], "bias": "12", "activation": {"__proto__": null}}]}'),
      { layers: [{ weight: JSON.parse("[".repeat(5000) + "]".repeat(5000)), bias: [], activation: "relu" }] },
      { format: "clip-mlp-weights", layers: new Array(60).fill(0) },
      JSON.parse('{"classes": [1, null, {}], "input": {"dim": -3, "normalize": []}, "layers": [null]}'),
    ];
    for (const value of hostile) {
      const problems = validateCanonicalWeights(value);
      expect(problems.length).toBeGreaterThan(0);
      for (const problem of problems) expect(typeof problem.message).toBe("string");
    }
    expect(messages(validateCanonicalWeights(hostile[0]))).toContain("layers is an object; expected an array of Linear layers");
  });
});
