import { describe, expect, it } from "vitest";
import { findJsonSyntaxError, parseJson } from "../../convex/lib/jsonText.ts";
import { importWeightsJson, importWeightsValue, type ImportResult } from "../../convex/lib/weightsImport.ts";
import { clone, makeCanonicalWeights, toSequentialStateDict } from "./weightsFixtures.ts";

function problemsOf(result: ImportResult): string[] {
  if (result.ok) throw new Error("expected the import to fail");
  return result.problems.map((p) => p.message);
}

function okOf(result: ImportResult) {
  if (!result.ok) throw new Error(`expected the import to succeed: ${result.problems.map((p) => p.message).join("; ")}`);
  return result;
}

const canonical = makeCanonicalWeights({ dims: [8, 6, 5, 3] });

describe("importWeightsJson: canonical documents", () => {
  it("accepts canonical JSON as is", () => {
    const result = okOf(importWeightsJson(JSON.stringify(canonical)));
    expect(result.source).toBe("canonical");
    expect(result.weights).toEqual(canonical);
    expect(result.warnings).toEqual([]);
  });

  it("applies overrides and says what changed", () => {
    const result = okOf(importWeightsJson(JSON.stringify(canonical), { name: "v2", classes: ["a", "b", "c"], normalize: "l2", outputActivation: "softmax" }));
    expect(result.weights.name).toBe("v2");
    expect(result.weights.classes).toEqual(["a", "b", "c"]);
    expect(result.weights.input.normalize).toBe("l2");
    expect(result.weights.outputActivation).toBe("softmax");
    expect(result.warnings).toContain('name overridden: "fixture" → "v2"');
    expect(result.warnings).toContain('input.normalize overridden: "none" → "l2"');
  });

  it("validates overridden classes against the model", () => {
    expect(problemsOf(importWeightsJson(JSON.stringify(canonical), { classes: ["a", "b"] }))).toEqual([
      "layers[2].weight is 3×5, so the model has 3 outputs, but classes has 2 names",
    ]);
  });

  it("warns about a ReLU on the output layer and about unknown keys", () => {
    const doc = { ...clone(canonical), trainedOn: "2026-11" };
    doc.layers[2].activation = "relu";
    const result = okOf(importWeightsValue(doc));
    expect(result.warnings).toEqual([
      'ignored unknown top-level keys: "trainedOn"',
      'layers[2].activation is "relu": the output layer\'s values are clipped at 0 before sigmoid-normalized; it is usually "none"',
    ]);
    expect(result.weights).not.toHaveProperty("trainedOn");
  });
});

describe("importWeightsJson: bare PyTorch state_dicts", () => {
  it("reads an nn.Sequential state_dict with the original design's conventions", () => {
    const dims = [512, 16, 8, 12];
    const full = makeCanonicalWeights({ dims });
    const result = okOf(importWeightsJson(JSON.stringify(toSequentialStateDict(full))));
    expect(result.source).toBe("state_dict");
    expect(result.weights.input).toEqual({ dim: 512, clipModel: "Xenova/clip-vit-base-patch32", normalize: "none" });
    expect(result.weights.outputActivation).toBe("sigmoid-normalized");
    expect(result.weights.classes).toEqual(Array.from({ length: 12 }, (_, i) => `class_${i}`));
    expect(result.weights.layers.map((l) => l.activation)).toEqual(["relu", "relu", "none"]);
    expect(result.weights.layers.map((l) => l.weight)).toEqual(full.layers.map((l) => l.weight));
    expect(result.warnings).toEqual(["no class names given; using class_0..class_11"]);
  });

  it("reads named layers (fc1, fc2) in key order and applies every option", () => {
    const dict = { "fc1.weight": canonical.layers[0].weight, "fc1.bias": canonical.layers[0].bias, "fc2.weight": canonical.layers[1].weight, "fc2.bias": canonical.layers[1].bias };
    const result = okOf(
      importWeightsJson(JSON.stringify(dict), {
        name: "named",
        classes: ["a", "b", "c", "d", "e"],
        inputDim: 8,
        clipModel: "my/clip",
        normalize: "l2",
        outputActivation: "softmax",
        hiddenActivation: "none",
      }),
    );
    expect(result.weights).toMatchObject({
      name: "named",
      classes: ["a", "b", "c", "d", "e"],
      input: { dim: 8, clipModel: "my/clip", normalize: "l2" },
      outputActivation: "softmax",
    });
    expect(result.weights.layers.map((l) => l.activation)).toEqual(["none", "none"]);
    expect(result.warnings).toEqual([]);
  });

  it("unwraps {\"state_dict\": {...}}", () => {
    const result = okOf(importWeightsValue({ state_dict: toSequentialStateDict(canonical) }, { inputDim: 8 }));
    expect(result.warnings[0]).toBe('read the state_dict inside "state_dict"');
  });

  it("names a weight without its bias, and a bias without its weight", () => {
    const dict = toSequentialStateDict(canonical);
    delete dict["net.3.bias"];
    const orphan = { ...dict, "head.bias": [1, 2, 3] };
    expect(problemsOf(importWeightsValue(orphan, { inputDim: 8 }))).toEqual([
      "net.3.weight has no matching net.3.bias; Linear layers without bias (bias=False) are not supported",
      "head.bias has no matching head.weight; every Linear layer needs both weight and bias",
    ]);
  });

  it("reports shape problems with state_dict key names", () => {
    const dict = toSequentialStateDict(canonical) as Record<string, number[][]>;
    dict["net.3.weight"] = dict["net.3.weight"].map((row) => row.slice(1));
    expect(problemsOf(importWeightsValue(dict, { inputDim: 8 }))).toEqual(["net.3.weight is 5×5 but net.0 outputs 6"]);
  });

  it("checks the first layer against the default input dim and says how to change it", () => {
    expect(problemsOf(importWeightsValue(toSequentialStateDict(canonical)))).toEqual([
      "net.0.weight is 6×8 but the input dim is 512 (the state_dict default; set inputDim / --input-dim to change it)",
    ]);
  });

  it("checks the class list given against the output layer", () => {
    expect(problemsOf(importWeightsValue(toSequentialStateDict(canonical), { inputDim: 8, classes: ["a", "b"] }))).toEqual([
      "net.6.weight is 3×5, so the model has 3 outputs, but the class list given has 2 names",
    ]);
  });

  it("refuses layers it cannot express, naming the key", () => {
    const dict = { ...toSequentialStateDict(canonical), "net.1.running_mean": [0], "net.1.weight": [1, 1, 1, 1, 1, 1] };
    expect(problemsOf(importWeightsValue(dict, { inputDim: 8 }))).toEqual([
      "net.1.running_mean belongs to a BatchNorm layer, which cannot be imported; fold it into the preceding Linear layer or export an MLP of Linear layers only",
      "net.1.weight has no matching net.1.bias; Linear layers without bias (bias=False) are not supported",
      "net.1.weight is a flat array of 6 values; expected a Linear weight [out][in] (a 1-D weight belongs to a norm layer, which cannot be imported)",
    ]);
  });

  it("reports duplicate class names from the options", () => {
    expect(problemsOf(importWeightsValue(toSequentialStateDict(canonical), { inputDim: 8, classes: ["a", "b", "a"] }))).toEqual([
      'classes[2] "a" repeats classes[0]; class names must be unique',
    ]);
  });

  it("says what it found when a document is neither form", () => {
    expect(problemsOf(importWeightsValue({ hello: 1, world: 2 }))).toEqual([
      'the document is neither canonical weights (no "format" or "layers") nor a PyTorch state_dict (no keys ending in ".weight" or ".bias"); found keys: "hello", "world"',
    ]);
  });
});

describe("importWeightsJson: text problems", () => {
  it("gives the line and column of a syntax error", () => {
    const text = '{\n  "format": "clip-mlp-weights",\n  "name": "x"\n  "classes": []\n}';
    expect(problemsOf(importWeightsJson(text))).toEqual(["invalid JSON at line 4, column 3: unexpected '\"'; expected ',' or '}' after a property value"]);
  });

  it("points at trailing commas, single quotes and truncation", () => {
    expect(problemsOf(importWeightsJson('{"a": [1, 2,]}'))).toEqual(["invalid JSON at line 1, column 13: unexpected ']' after ','; trailing commas are not allowed in JSON"]);
    expect(problemsOf(importWeightsJson("{'a': 1}"))).toEqual(["invalid JSON at line 1, column 2: unexpected '''; expected a property name in double quotes"]);
    expect(problemsOf(importWeightsJson('{"layers": [[1, 2'))).toEqual(["invalid JSON at line 1, column 18: unexpected end of input; expected ',' or ']' (3 unclosed brackets)"]);
    expect(problemsOf(importWeightsJson("   "))).toEqual(["the file is empty; expected weights as JSON"]);
  });

  it("reports bare NaN and Infinity (as Python writes them) at their paths", () => {
    const text = JSON.stringify(toSequentialStateDict(canonical)).replace(/^(\{"net\.0\.weight":\[\[)[^,]+/, "$1NaN").replace(/("net\.0\.bias":\[)[^,]+/, "$1-Infinity");
    expect(problemsOf(importWeightsJson(text, { inputDim: 8 }))).toEqual([
      "net.0.weight[0][0] is not a finite number (found NaN)",
      "net.0.bias[0] is not a finite number (found -Infinity)",
    ]);
  });

  it("reports NaN written as strings at their paths", () => {
    const doc = clone(canonical) as unknown as { layers: Array<{ weight: unknown[][] }> };
    doc.layers[1].weight[0][2] = "Infinity";
    expect(problemsOf(importWeightsJson(JSON.stringify(doc)))).toEqual(['layers[1].weight[0][2] is not a finite number (found the string "Infinity")']);
  });

  it("strips a byte-order mark", () => {
    expect(importWeightsJson("\ufeff" + JSON.stringify(canonical)).ok).toBe(true);
  });
});

describe("findJsonSyntaxError", () => {
  it("agrees with JSON.parse on what is valid", () => {
    const samples = ['{"a":[1,-2.5e3,true,false,null,"x\\u00e9\\n"]}', "[]", "0", '""', "[1,]", "{,}", "01", "1.", "-", '"\\x"', '"a\nb"', "[1 2]", "{\"a\" 1}", "nul", "[[[]]", "{}}", "tru"];
    for (const text of samples) {
      let valid = true;
      try {
        JSON.parse(text);
      } catch {
        valid = false;
      }
      expect(findJsonSyntaxError(text) === null, text).toBe(valid);
    }
  });

  it("handles very deep nesting without overflowing", () => {
    const deep = "[".repeat(20_000) + "]".repeat(19_999);
    expect(findJsonSyntaxError(deep)?.message).toBe("line 1, column 40000: unexpected end of input; expected ',' or ']' (1 unclosed bracket)");
    expect(parseJson(deep).ok).toBe(false);
  });
});
