import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { chartFormatOf, predictedDistribution } from "../../tools/commands/chart.ts";
import { compareModelsOnSet, parseLabelledSetLines } from "../../tools/commands/compare.ts";
import { parseFeatureLines } from "../../tools/commands/predict.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
let dir: string;
const file = (name: string) => join(dir, name);

/** A one-layer softmax model over 2 features: `swap` decides which feature votes for which class. */
function twoFeatureModel(name: string, swap: boolean): CanonicalWeights {
  return {
    format: "clip-mlp-weights",
    formatVersion: 1,
    name,
    classes: ["a", "b"],
    input: { dim: 2, clipModel: "Xenova/clip-vit-base-patch32", normalize: "none" },
    layers: [{ weight: swap ? [[0, 1], [1, 0]] : [[1, 0], [0, 1]], bias: [0, 0], activation: "none" }],
    outputActivation: "softmax",
  };
}

// "straight" gets lines 1–3 right and line 4 wrong; "swapped" only line 4.
const setLines = [
  { features: [2, 0], label: "a" },
  { features: [0, 2], label: "b" },
  { features: [2, 0], label: "a" },
  { features: [0, 2], label: "a" },
];
const setText = setLines.map((line) => JSON.stringify(line)).join("\n") + "\n";
// softmax([2, 0]) = (e²/(e²+1), 1/(e²+1))
const confident = Math.exp(2) / (Math.exp(2) + 1);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlp-compare-"));
  await writeFile(file("straight.json"), JSON.stringify(twoFeatureModel("straight", false)));
  await writeFile(file("swapped.json"), JSON.stringify(twoFeatureModel("swapped", true)));
  await writeFile(file("set.jsonl"), setText);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseLabelledSetLines", () => {
  it("reads features, labels and line numbers, skipping blank lines", () => {
    const rows = parseLabelledSetLines(`\n${setText}`, 2, ["a", "b"], "set.jsonl");
    expect(rows.count).toBe(4);
    expect(rows.labels).toEqual(["a", "b", "a", "a"]);
    expect(rows.lineNumbers).toEqual([2, 3, 4, 5]);
    expect([...rows.features]).toEqual([2, 0, 0, 2, 2, 0, 0, 2]);
  });

  it("names the line of an unknown label", () => {
    expect(() => parseLabelledSetLines('{"features":[1,0],"label":"a"}\n{"features":[1,0],"label":"hamster"}\n', 2, ["a", "b"], "set.jsonl")).toThrow(
      'set.jsonl line 2: label "hamster" is not a class of either version (known: a, b)',
    );
  });

  it("lists every bad line", () => {
    const text = ['{"features":[1,0]}', "not json", '{"features":[1],"label":"a"}', "[1, 2]"].join("\n");
    let message = "";
    try {
      parseLabelledSetLines(text, 2, ["a"], "set.jsonl");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n")).toEqual([
      "set.jsonl: 4 bad lines:",
      '  line 1: "label" must be a class name, got nothing',
      expect.stringMatching(/^ {2}line 2: not valid JSON/),
      "  line 3: Expected 2 CLIP features, got 1",
      '  line 4: expected an object {"features": [2 numbers], "label": "class name"}',
    ]);
  });
});

describe("compareModelsOnSet", () => {
  it("computes both versions' metrics, the disagreements and McNemar", () => {
    const set = parseLabelledSetLines(setText, 2, ["a", "b"], "set.jsonl");
    const comparison = compareModelsOnSet(toMlpModel(twoFeatureModel("straight", false)), toMlpModel(twoFeatureModel("swapped", true)), set, 10);
    expect(comparison.baseline.accuracy).toBe(0.75);
    expect(comparison.candidate.accuracy).toBe(0.25);
    expect(comparison.baseline.perClass[0].f1).toBeCloseTo(0.8, 12);
    expect(comparison.candidate.perClass[0].f1).toBeCloseTo(0.4, 12);
    expect(comparison.agreementRate).toBe(0);
    expect(comparison.mcnemar).toEqual({ baselineOnlyCorrect: 3, candidateOnlyCorrect: 1, pValue: 0.625 });
    expect(comparison.disagreements.map((item) => item.pictureId)).toEqual([1, 2, 3, 4]);
    expect(comparison.disagreements[0].margin).toBeCloseTo(2 * (2 * confident - 1), 9);
    expect(comparison.gate.allowed).toBe(false);
  });
});

describe("compareModelsOnSet with different class lists", () => {
  it("judges both versions on the items whose label both know, and counts the rest apart", () => {
    const renamed = { ...twoFeatureModel("renamed", false), classes: ["a", "c"] };
    const text = setText + JSON.stringify({ features: [0, 2], label: "c" }) + "\n";
    const set = parseLabelledSetLines(text, 2, ["a", "b", "c"], "set.jsonl");
    const comparison = compareModelsOnSet(toMlpModel(twoFeatureModel("straight", false)), toMlpModel(renamed), set, 10);
    expect(comparison.classes).toEqual(["a", "b", "c"]);
    // Only the three "a" lines count: "b" is unknown to the candidate, "c" to the baseline.
    expect(comparison.itemCount).toBe(3);
    expect(comparison.excluded).toEqual({ itemCount: 2, labels: [{ label: "b", count: 1 }, { label: "c", count: 1 }] });
    expect(comparison.baseline.accuracy).toBeCloseTo(2 / 3, 12);
    expect(comparison.candidate.accuracy).toBeCloseTo(2 / 3, 12);
    expect(comparison.disagreements.map((item) => [item.trueLabel, item.baselineLabel, item.candidateLabel])).toEqual([["a", "b", "c"]]);
  });
});

describe("mlp compare", () => {
  it("prints a side-by-side report", async () => {
    const { io, stdout, stderr } = capturedIo();
    expect(await runCli(["compare", "--set", file("set.jsonl"), file("straight.json"), file("swapped.json")], io)).toBe(0);
    expect(stderr).toEqual([]);
    const text = stdout.join("\n");
    expect(text).toContain("4 items, 2 classes");
    expect(text).toMatch(/^name\s+straight\s+swapped$/m);
    expect(text).toMatch(/^accuracy\s+0\.750\s+0\.250$/m);
    expect(text).toMatch(/^a\s+3\s+1\.00 \/ 0\.67 \/ 0\.80\s+0\.50 \/ 0\.33 \/ 0\.40$/m);
    expect(text).toContain("agreement: 0.000 (4 of 4 items disagree)");
    expect(text).toContain("McNemar exact test: only A right 3, only B right 1, p = 0.6250");
    expect(text).toContain("accuracy 0.25 is 0.5 below the baseline's 0.75 (allowed drop 0.01)");
    expect(text).toMatch(/^4\s+a\s+b \(0\.88\)\s+a \(0\.88\)\s+1\.52\s+B$/m);
  });

  it("prints JSON with line numbers on request", async () => {
    const { io, stdout } = capturedIo();
    expect(await runCli(["compare", "--set", file("set.jsonl"), file("straight.json"), file("swapped.json"), "--json", "--top", "2"], io)).toBe(0);
    const report = JSON.parse(stdout.join("\n"));
    expect(report.a).toMatchObject({ name: "straight", sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(report.baseline.accuracy).toBe(0.75);
    expect(report.disagreementCount).toBe(4);
    expect(report.disagreements.map((item: { line: number }) => item.line)).toEqual([1, 2]);
  });

  it("fails with a clear message when a label is unknown or a version is missing", async () => {
    await writeFile(file("bad-set.jsonl"), '{"features":[1,0],"label":"a"}\n{"features":[1,0],"label":"c"}\n');
    const bad = capturedIo();
    expect(await runCli(["compare", "--set", file("bad-set.jsonl"), file("straight.json"), file("swapped.json")], bad.io)).toBe(1);
    expect(bad.stderr).toEqual([`mlp compare: ${file("bad-set.jsonl")} line 2: label "c" is not a class of either version (known: a, b)`]);
    const missing = capturedIo();
    expect(await runCli(["compare", "--set", file("set.jsonl"), file("straight.json")], missing.io)).toBe(1);
    expect(missing.stderr[0]).toContain("expected two weights files A and B, got 1");
  });

  it("prints both versions' metrics and the disagreements for the demo labelled set", async () => {
    const { io, stdout } = capturedIo();
    const demo = (name: string) => join(repoRoot, "weights/demo", name);
    expect(await runCli(["compare", "--set", demo("labelled-set.jsonl"), demo("demo-mlp.json"), demo("demo-mlp-v2.json")], io)).toBe(0);
    const text = stdout.join("\n");
    expect(text).toMatch(/^name\s+demo-mlp\s+demo-mlp-v2$/m);
    expect(text).toMatch(/^accuracy\s+\d\.\d{3}\s+\d\.\d{3}$/m);
    expect(text).toMatch(/^McNemar exact test: only A right \d+, only B right \d+, p = /m);
    expect(text).toMatch(/top \d+ disagreements, largest margin first/);
  });

  it("exits 0 as a real process", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "tools/cli.ts", "compare", "--set", file("set.jsonl"), file("straight.json"), file("swapped.json")], {
      cwd: repoRoot,
    });
    expect(stdout).toMatch(/^accuracy\s+0\.750\s+0\.250$/m);
  });
});

describe("mlp chart", () => {
  it("counts each version's predictions per class", () => {
    const rows = parseFeatureLines(setText, 2, "set.jsonl");
    const distribution = predictedDistribution(
      [
        { file: "straight.json", model: toMlpModel(twoFeatureModel("straight", false)) },
        { file: "swapped.json", model: toMlpModel(twoFeatureModel("straight", true)) },
      ],
      rows,
    );
    expect(distribution).toEqual({
      classes: ["a", "b"],
      series: [
        { name: "straight (straight.json)", counts: [2, 2] },
        { name: "straight (swapped.json)", counts: [2, 2] },
      ],
    });
  });

  it("writes an SVG with both versions and the class names", async () => {
    const { io, stdout } = capturedIo();
    const out = file("chart.svg");
    expect(await runCli(["chart", "--set", file("set.jsonl"), "--weights", file("straight.json"), "--weights", file("swapped.json"), "--out", out, "--width", "500", "--height", "300"], io)).toBe(0);
    expect(stdout).toEqual([`wrote ${out} (SVG, 500×300, 2 versions, 4 items)`]);
    const svg = await readFile(out, "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain('width="500"');
    for (const text of ["straight", "swapped", ">a<", ">b<"]) expect(svg).toContain(text);
  });

  it("writes a PNG", async () => {
    const out = file("chart.png");
    expect(await runCli(["chart", "--set", file("set.jsonl"), "--weights", file("straight.json"), "--out", out], capturedIo().io)).toBe(0);
    expect([...(await readFile(out)).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it("refuses an unknown output extension before doing any work", async () => {
    expect(() => chartFormatOf("chart.jpeg")).toThrow('--out "chart.jpeg" must end in .svg or .png (got ".jpeg")');
    const { io, stderr } = capturedIo();
    expect(await runCli(["chart", "--set", file("set.jsonl"), "--weights", file("missing.json"), "--out", file("chart")], io)).toBe(1);
    expect(stderr).toEqual([`mlp chart: --out "${file("chart")}" must end in .svg or .png (got no extension)`]);
  });
});
