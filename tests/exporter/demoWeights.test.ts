/**
 * The committed demo files in weights/demo/ are what the demo, the version
 * comparison and e2e rely on: check they still validate, still describe the
 * tiny-clip feature space, and still match the generators that made them.
 */
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { mlpForward } from "../../convex/lib/mlpForward.ts";
import { importWeightsJson } from "../../convex/lib/weightsImport.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";
import { DEMO_LABELLED_SEED, DEMO_V2_TRAINED_CLASSES, brokenShapesWeights, float32Text, labelledAccuracy, type LabelledFeatures } from "../../tools/buildDemoData.ts";
import { createNodeClipExtractor } from "../../tools/clipNode.ts";
import { demoClasses, generateDemoImages } from "../../tools/demoImages.ts";

const demoDir = resolve(import.meta.dirname, "../../weights/demo");

async function readDemoWeights(file: string): Promise<CanonicalWeights> {
  const result = importWeightsJson(await readFile(join(demoDir, file), "utf8"));
  if (!result.ok) throw new Error(`${file}: ${result.problems.map((p) => p.message).join("; ")}`);
  return result.weights;
}

async function readLabelledSet(): Promise<LabelledFeatures[]> {
  const text = await readFile(join(demoDir, "labelled-set.jsonl"), "utf8");
  return text.trim().split("\n").map((line) => JSON.parse(line) as LabelledFeatures);
}

describe("weights/demo", () => {
  it("demo-mlp.json is a 512→256→128→12 tiny-clip model over the 12 demo classes", async () => {
    const weights = await readDemoWeights("demo-mlp.json");
    const classes = JSON.parse(await readFile(join(demoDir, "classes.json"), "utf8")) as string[];
    expect(classes).toEqual(["sunset", "forest", "ocean", "snow", "desert", "night", "meadow", "lava", "sky", "roses", "autumn", "fog"]);
    expect(weights.classes).toEqual(classes);
    expect(weights.input).toEqual({ dim: 512, clipModel: "tiny-clip", normalize: "l2" });
    expect(weights.outputActivation).toBe("sigmoid-normalized");
    expect(weights.layers.map((l) => [l.weight.length, l.weight[0].length, l.activation])).toEqual([
      [256, 512, "relu"],
      [128, 256, "relu"],
      [12, 128, "none"],
    ]);
  });

  it("the labelled set holds 10 examples of every class, and demo-mlp classifies at least 90% of it correctly", async () => {
    const examples = await readLabelledSet();
    for (const className of demoClasses) expect(examples.filter((e) => e.label === className), className).toHaveLength(10);
    expect(examples.every((e) => e.features.length === 512)).toBe(true);
    expect(labelledAccuracy(await readDemoWeights("demo-mlp.json"), examples)).toBeGreaterThanOrEqual(0.9);
  });

  it("demo-mlp-v2.json is a clearly weaker version that never learned four of the classes", async () => {
    const [v1, v2, examples] = await Promise.all([readDemoWeights("demo-mlp.json"), readDemoWeights("demo-mlp-v2.json"), readLabelledSet()]);
    expect(v2.name).toBe("demo-mlp-v2");
    expect(v2.input).toEqual(v1.input);
    expect(labelledAccuracy(v2, examples)).toBeLessThan(labelledAccuracy(v1, examples) - 0.2);
    const model = toMlpModel(v2);
    const untrained = examples.filter((e) => !DEMO_V2_TRAINED_CLASSES.includes(e.label));
    expect(untrained).toHaveLength(40);
    expect(untrained.filter((e) => mlpForward(model, e.features).label === e.label).length).toBeLessThan(untrained.length / 2);
  });

  it("broken-shapes.json reports each of its three independent shape problems", async () => {
    const text = await readFile(join(demoDir, "broken-shapes.json"), "utf8");
    expect(JSON.parse(text)).toEqual(brokenShapesWeights());
    const result = importWeightsJson(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => p.message).sort()).toEqual([
      "layers[0].weight is 16×500 but input.dim is 512",
      "layers[1].weight is 8×15 but layers[0] outputs 16",
      "layers[2].bias has 11 values but layers[2].weight has 12 rows",
    ]);
  });

  it("the labelled set's features are still what tiny-clip gives for the demo images (else rerun npm run demo:data)", async () => {
    const examples = await readLabelledSet();
    const images = await generateDemoImages({ perClass: 1, seed: DEMO_LABELLED_SEED });
    const clip = await createNodeClipExtractor({ modelDir: resolve(import.meta.dirname, "../../models/tiny-clip"), dtype: "fp32" });
    try {
      const features = await clip.extractBatch(images.map((image) => ({ name: image.path, bytes: image.png })));
      images.forEach((image, i) => {
        const committed = examples.find((e) => e.label === image.className)!;
        const worst = Math.max(...committed.features.map((value, k) => Math.abs(value - features[i][k])));
        expect(worst, image.path).toBeLessThan(1e-4);
      });
    } finally {
      await clip.dispose();
    }
  });
});

describe("float32Text", () => {
  it("prints the shortest decimal that reads back to the same float32", () => {
    expect(float32Text(0.1)).toBe("0.1");
    expect(float32Text(Math.fround(0.1))).toBe("0.1");
    expect(float32Text(-1.5)).toBe("-1.5");
    expect(float32Text(0)).toBe("0");
    expect(float32Text(Math.fround(1e-30))).toBe("1e-30");
    let state = 12345;
    for (let i = 0; i < 2000; i++) {
      state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
      const value = Math.fround((state / 2 ** 32 - 0.5) * 10 ** ((i % 20) - 10));
      const text = float32Text(value);
      expect(Math.fround(Number(text)), text).toBe(value);
      expect(text.replace(/^-|e.*$|\./g, "").replace(/^0+/, "").length).toBeLessThanOrEqual(9);
    }
  });
});
