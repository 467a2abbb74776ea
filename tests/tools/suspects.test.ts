import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { parseSuspectsSet, suspectsByFolds, suspectsByVersions, suspectsJson } from "../../tools/commands/suspects.ts";
import { loadWeightsFile } from "../../tools/weightsFile.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { demoFeatureSet } from "../lib/demoFeatureSet.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const demo = (name: string) => join(repoRoot, "weights/demo", name);
/** Rows of the generated set (30 demo scenes per class, seed 404) whose labels are flipped, and the class each gets. */
const flips = new Map([
  [17, 3],
  [140, 0],
  [222, 11],
  [301, 5],
]);
/** 1-based line numbers of the flipped rows. */
const flippedLines = [...flips.keys()].map((row) => row + 1);
let dir: string;
let flippedSetFile: string;
let flippedText: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlp-suspects-"));
  const set = await demoFeatureSet(30, 404);
  const lines: string[] = [];
  for (let row = 0; row < set.labels.length; row++) {
    const label = set.classes[flips.get(row) ?? set.labels[row]];
    lines.push(JSON.stringify({ features: Array.from(set.features.subarray(row * set.dim, (row + 1) * set.dim)), label, file: `${set.names[row]}.png` }));
  }
  flippedText = lines.join("\n") + "\n";
  flippedSetFile = join(dir, "flipped.jsonl");
  await writeFile(flippedSetFile, flippedText);
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("parseSuspectsSet", () => {
  it("takes the dimension from the first line and keeps files and line numbers", () => {
    const set = parseSuspectsSet('\n{"features":[1,2],"label":"a","file":"x.png"}\n{"features":[3,4],"label":"b"}\n', null, "set.jsonl");
    expect(set).toMatchObject({ dim: 2, count: 2, labels: ["a", "b"], files: ["x.png", null], lineNumbers: [2, 3] });
    expect(Array.from(set.features)).toEqual([1, 2, 3, 4]);
  });

  it("lists every bad line", () => {
    expect(() => parseSuspectsSet('{"features":[1,2],"label":"a"}\n{"features":[1],"label":"a"}\n{"features":[1,2],"label":"","file":3}\n', null, "set.jsonl")).toThrow(
      'set.jsonl: 3 bad lines:\n  line 2: Expected 2 CLIP features, got 1\n  line 3: "label" must be a class name, got ""\n  line 3: "file" must be a string when given, got 3',
    );
  });
});

describe("suspects", () => {
  it("k-fold: the four flipped lines are the most suspicious, each pointing back at its true class", () => {
    const set = parseSuspectsSet(flippedText, null, "flipped.jsonl");
    const progress: number[] = [];
    const result = suspectsByFolds(set, { folds: 5, seed: 1, l2: 1e-3, maxIterations: 100, onProgress: (done) => progress.push(done) });
    const json = suspectsJson("flipped.jsonl", set, result);
    expect(json.source).toBe("out-of-fold");
    expect(json.suspects.slice(0, 4).map((s) => s.line).sort((a, b) => a - b)).toEqual(flippedLines);
    for (const suspect of json.suspects.slice(0, 4)) expect(suspect.file?.startsWith(`${suspect.suspected}-`)).toBe(true);
    // 5% of the 356 clean items would be 17; confident learning should flag far fewer.
    expect(json.suspects.length).toBeLessThanOrEqual(4 + 5);
    expect(progress.at(-1)).toBe(500);
  });

  it("versions: every line the demo model's probabilities flag is a flipped one, and at least three of the four are", async () => {
    const set = parseSuspectsSet(flippedText, 512, "flipped.jsonl");
    const { model } = await loadWeightsFile(demo("demo-mlp.json"));
    const json = suspectsJson("flipped.jsonl", set, suspectsByVersions(set, [{ file: "demo-mlp.json", model }]));
    expect(json.source).toBe("version-average");
    expect(json.method).toEqual({ kind: "versions", versions: ["demo-mlp.json"] });
    const lines = json.suspects.map((s) => s.line);
    expect(lines.every((line) => flippedLines.includes(line)), `flagged ${lines.join(", ")}`).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(3);
  });

  it("versions that do not share the classes are refused, naming both", async () => {
    const set = parseSuspectsSet(flippedText, 512, "flipped.jsonl");
    const { model } = await loadWeightsFile(demo("demo-mlp.json"));
    const renamed = { ...model, classes: model.classes.map((name) => (name === "fog" ? "mist" : name)) };
    expect(() => suspectsByVersions(set, [{ file: "a.json", model }, { file: "b.json", model: renamed }])).toThrow("b.json does not share the classes (lacks fog; has extra mist)");
  });
});

describe("mlp suspects", () => {
  it("prints the flagged lines with their files, as a real process", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "tools/cli.ts", "suspects", "--set", flippedSetFile], { cwd: repoRoot });
    for (const line of flippedLines) expect(stdout).toMatch(new RegExp(`^${line}\\s+[a-z]+-\\d+\\.png\\s+[a-z]+\\s+[a-z]+\\s+\\d\\.\\d{3}`, "m"));
    expect(stdout).toMatch(/^class\s+labelled\s+threshold\s+flagged\s+suspected as$/m);
  });

  it("prints JSON with --weights, and refuses --folds with it", async () => {
    const json = capturedIo();
    expect(await runCli(["suspects", "--set", flippedSetFile, "--weights", demo("demo-mlp.json"), "--json"], json.io)).toBe(0);
    const report = JSON.parse(json.stdout.join("\n"));
    expect(report.suspects.length).toBeGreaterThanOrEqual(3);
    expect(report.source).toBe("version-average");
    const refused = capturedIo();
    expect(await runCli(["suspects", "--set", flippedSetFile, "--weights", demo("demo-mlp.json"), "--folds", "3"], refused.io)).toBe(1);
    expect(refused.stderr).toEqual(["mlp suspects: --folds applies to the trained head; with --weights the versions' own probabilities are used"]);
  });

  it("names an unknown label and a bad --folds", async () => {
    const unknown = capturedIo();
    await writeFile(join(dir, "unknown.jsonl"), flippedText.replace('"label":"lava"', '"label":"hamster"'));
    expect(await runCli(["suspects", "--set", join(dir, "unknown.jsonl"), "--weights", demo("demo-mlp.json")], unknown.io)).toBe(1);
    expect(unknown.stderr[0]).toMatch(/^mlp suspects: the set: label "hamster" is not a class of the versions \(sunset, forest/);
    const folds = capturedIo();
    expect(await runCli(["suspects", "--set", flippedSetFile, "--folds", "1"], folds.io)).toBe(1);
    expect(folds.stderr).toEqual(['mlp suspects: --folds must be a whole number ≥ 2, got "1"']);
  });
});
