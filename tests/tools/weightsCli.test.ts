import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { convertWeightsFile, formatFloat32 } from "../../tools/commands/convert.ts";
import { describeWeightsFile } from "../../tools/commands/info.ts";
import { formatPredictionLine, parseFeatureLines, predictFeatureRows } from "../../tools/commands/predict.ts";
import { validateWeightsFile } from "../../tools/commands/validate.ts";
import { importOptionsFrom, loadWeightsFile } from "../../tools/weightsFile.ts";
import { mlpForward } from "../../convex/lib/mlpForward.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { decodeWeights, encodeWeights, sha256Hex } from "../../convex/lib/weightsBinary.ts";
import { clone, makeCanonicalWeights, randomVector, toSequentialStateDict } from "../lib/weightsFixtures.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";

// The WebAssembly kernel accumulates in float32, in a different order for a
// batch than for one vector: the two agree to float32 rounding, not exactly.
const BATCH_VS_SINGLE_TOLERANCE = 1e-6;

const repoRoot = resolve(import.meta.dirname, "../..");
let dir: string;
const canonical = makeCanonicalWeights({ dims: [16, 10, 4], normalize: "l2" });
const file = (name: string) => join(dir, name);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mlp-cli-"));
  await writeFile(file("canonical.json"), JSON.stringify(canonical));
  await writeFile(file("state_dict.json"), JSON.stringify(toSequentialStateDict(canonical)));
  await writeFile(file("model.mlpw"), encodeWeights(toMlpModel(canonical)));
  const broken = clone(canonical);
  broken.layers[0].weight[3].push(0.25);
  broken.classes.push("extra");
  await writeFile(file("broken.json"), JSON.stringify(broken));
  await writeFile(file("syntax.json"), '{\n  "layers": [1, 2,\n}');
  await writeFile(file("classes.txt"), "a\nb\n\nc\nd\n");
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("validate", () => {
  it("accepts each form: canonical JSON, state_dict JSON and binary", async () => {
    expect(await validateWeightsFile(file("canonical.json"))).toMatchObject({ valid: true, source: "canonical", problems: [] });
    expect(await validateWeightsFile(file("state_dict.json"), { inputDim: 16 })).toMatchObject({ valid: true, source: "state_dict" });
    expect(await validateWeightsFile(file("model.mlpw"))).toMatchObject({ valid: true, source: "binary" });
  });

  it("prints two independent problems, one per line, and exits 1", async () => {
    const { io, stdout, stderr } = capturedIo();
    expect(await runCli(["validate", file("broken.json")], io)).toBe(1);
    expect(stdout).toEqual(["layers[0].weight[3] has 17 values, expected 16", "layers[1].weight is 4×10, so the model has 4 outputs, but classes has 5 names"]);
    expect(stderr).toEqual([`${file("broken.json")}: 2 problems (read as JSON)`]);
  });

  it("reports a JSON syntax error with its line and column, also as --json", async () => {
    const { io, stdout } = capturedIo();
    expect(await runCli(["validate", file("syntax.json"), "--json"], io)).toBe(1);
    const report = JSON.parse(stdout[0]);
    expect(report.valid).toBe(false);
    expect(report.problems).toEqual([{ path: "", message: "invalid JSON at line 3, column 1: unexpected '}' after ','; trailing commas are not allowed in JSON" }]);
  });

  it("reports a damaged binary", async () => {
    const bytes = await readFile(file("model.mlpw"));
    await writeFile(file("truncated.mlpw"), bytes.subarray(0, bytes.length - 4));
    const report = await validateWeightsFile(file("truncated.mlpw"));
    expect(report.source).toBe("binary");
    expect(report.problems[0].message).toMatch(/^expected \d+ bytes of tensors, found \d+/);
  });

  it("reads import options, including a class list file", async () => {
    const options = await importOptionsFrom({ classes: file("classes.txt"), "input-dim": "16", normalize: "l2" });
    expect(options).toMatchObject({ classes: ["a", "b", "c", "d"], inputDim: 16, normalize: "l2" });
    const report = await validateWeightsFile(file("state_dict.json"), options);
    expect(report.summary?.classes).toEqual(["a", "b", "c", "d"]);
    await expect(importOptionsFrom({ normalize: "L2" })).rejects.toThrow('--normalize must be one of none, l2; got "L2"');
    await expect(importOptionsFrom({ classes: file("nope.txt") })).rejects.toThrow(`class list "${file("nope.txt")}" does not exist`);
    await expect(importOptionsFrom({ "input-dim": "12.5" })).rejects.toThrow('--input-dim must be a positive integer; got "12.5"');
  });
});

describe("loadWeightsFile", () => {
  it("gives one line for a missing file or bad weights", async () => {
    await expect(loadWeightsFile(file("missing.json"))).rejects.toThrow(`weights file "${file("missing.json")}" does not exist`);
    await expect(loadWeightsFile(dir)).rejects.toThrow(`weights file "${dir}" is a directory, not a file`);
    const error = (await loadWeightsFile(file("broken.json")).then(
      () => new Error("expected loadWeightsFile to fail"),
      (e: Error) => e,
    )) as Error;
    expect(error.message).toBe(
      `${file("broken.json")}: 2 problems, the first: layers[0].weight[3] has 17 values, expected 16 (run \`npm run mlp -- validate ${file("broken.json")}\` to list them all)`,
    );
    expect(error.message).not.toContain("\n");
  });

  it("identifies a version by the sha256 of its binary encoding, whatever the source form", async () => {
    const fromJson = await loadWeightsFile(file("canonical.json"));
    const fromBinary = await loadWeightsFile(file("model.mlpw"));
    expect(fromJson.sha256).toBe(await sha256Hex(await readFile(file("model.mlpw"))));
    expect(fromBinary.sha256).toBe(fromJson.sha256);
    expect(fromBinary.model).toEqual(fromJson.model);
  });
});

describe("info", () => {
  it("describes layers, parameters, classes, input and sha256", async () => {
    const info = await describeWeightsFile(file("canonical.json"));
    expect(info.summary.layerShapes).toEqual([
      { inDim: 16, outDim: 10, activation: "relu" },
      { inDim: 10, outDim: 4, activation: "none" },
    ]);
    expect(info.summary.parameterCount).toBe(16 * 10 + 10 + 10 * 4 + 4);
    expect(info.summary.input).toEqual(canonical.input);
    const { io, stdout } = capturedIo();
    expect(await runCli(["info", file("canonical.json")], io)).toBe(0);
    const text = stdout.join("\n");
    expect(text).toContain(`sha256      ${info.sha256}`);
    expect(text).toContain("parameters  214");
    expect(text).toContain("classes     4: label_0, label_1, label_2, label_3");
    expect(text).toContain("input       16 features from Xenova/clip-vit-base-patch32, normalize l2");
  });
});

describe("convert", () => {
  it("turns a state_dict into canonical JSON that validates and computes the same", async () => {
    const result = await convertWeightsFile(file("state_dict.json"), file("out/converted.json"), { inputDim: 16, normalize: "l2", classes: canonical.classes, name: "fixture" });
    expect(result).toMatchObject({ from: "state_dict", format: "canonical-json" });
    const converted = await loadWeightsFile(file("out/converted.json"));
    expect(converted.source).toBe("canonical");
    expect(converted.model).toEqual(toMlpModel(canonical));
    expect(result.sha256).toBe(converted.sha256);
  });

  it("writes the binary encoding for .mlpw and round-trips back to identical JSON", async () => {
    await convertWeightsFile(file("canonical.json"), file("a.mlpw"));
    expect(decodeWeights(new Uint8Array(await readFile(file("a.mlpw"))))).toEqual(toMlpModel(canonical));
    await convertWeightsFile(file("a.mlpw"), file("b.json"));
    await convertWeightsFile(file("b.json"), file("c.json"));
    expect(await readFile(file("c.json"), "utf8")).toBe(await readFile(file("b.json"), "utf8"));
  });

  it("refuses an unknown output extension and overwriting its input", async () => {
    await expect(convertWeightsFile(file("canonical.json"), file("x.bin"))).rejects.toThrow(`--out must end in .json (canonical JSON) or .mlpw (binary); got "${file("x.bin")}"`);
    await expect(convertWeightsFile(file("canonical.json"), file("canonical.json"))).rejects.toThrow("is the input file");
  });

  it("prints floats as the shortest decimal that reads back to the same float32", () => {
    expect(formatFloat32(Math.fround(0.1))).toBe("0.1");
    expect(formatFloat32(-0.5)).toBe("-0.5");
    const random = seededRandom(4);
    for (let i = 0; i < 2000; i++) {
      const value = Math.fround((random() - 0.5) * 10 ** Math.floor(random() * 20 - 10));
      expect(Math.fround(Number(formatFloat32(value)))).toBe(value);
    }
  });
});

describe("predict", () => {
  const model = toMlpModel(canonical);
  const random = seededRandom(8);
  const a = randomVector(16, random);
  const b = randomVector(16, random);

  it("reads arrays and {features} objects in order, skipping blank lines, and matches mlpForward", () => {
    const rows = parseFeatureLines(`${JSON.stringify(a)}\n\n${JSON.stringify({ features: b, label: "x" })}\n`, 16, "f.jsonl");
    expect(rows.count).toBe(2);
    expect(rows.lineNumbers).toEqual([1, 3]);
    const predictions = predictFeatureRows(model, rows);
    // The batch kernel sums in a different order than the single-vector one: equal up to rounding.
    const single = mlpForward(model, Float32Array.from(a)).probabilities;
    predictions[0].probabilities.forEach((p, k) => expect(Math.abs(p - single[k])).toBeLessThan(BATCH_VS_SINGLE_TOLERANCE));
    expect(predictions[1].label).toBe(mlpForward(model, Float32Array.from(b)).label);
    const line = JSON.parse(formatPredictionLine(predictions[0]));
    expect(Object.keys(line)).toEqual(["probabilities", "label", "confidence"]);
  });

  it("names the line of each bad input", () => {
    expect(() => parseFeatureLines(`${JSON.stringify(a)}\n${JSON.stringify(a.slice(1))}`, 16, "f.jsonl")).toThrow("f.jsonl line 2: Expected 16 CLIP features, got 15");
    let message = "";
    try {
      parseFeatureLines(`[1,2\n${JSON.stringify(a)}\n{"x":1}\n${JSON.stringify(new Array(16).fill(0))}`, 16, "f.jsonl");
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split("\n")).toEqual([
      "f.jsonl: 3 bad lines:",
      "  line 1: not valid JSON (column 5: unexpected end of input; expected ',' or ']' (1 unclosed bracket))",
      '  line 3: expected a JSON array of 16 numbers or an object with a "features" array',
      "  line 4: features are all zeros: CLIP extraction failed",
    ]);
    expect(() => parseFeatureLines("\n\n", 16, "f.jsonl")).toThrow("f.jsonl has no feature lines");
  });
});

describe("the mlp executable", () => {
  const execFileAsync = promisify(execFile);
  const tsx = join(repoRoot, "node_modules/.bin/tsx");
  async function mlp(...args: string[]) {
    try {
      const { stdout, stderr } = await execFileAsync(tsx, ["tools/cli.ts", ...args], { cwd: repoRoot });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  it("exits non-zero with one line for a missing file", async () => {
    const result = await mlp("info", file("missing.json"));
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`mlp info: weights file "${file("missing.json")}" does not exist\n`);
  });

  it("predicts from a state_dict, one JSON line per input line", async () => {
    const random = seededRandom(12);
    const rows = [randomVector(16, random), randomVector(16, random), randomVector(16, random)];
    await writeFile(file("features.jsonl"), rows.map((row) => JSON.stringify({ features: row })).join("\n"));
    const result = await mlp("predict", "--weights", file("state_dict.json"), "--features", file("features.jsonl"), "--input-dim", "16", "--normalize", "l2");
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(3);
    lines.forEach((line, i) => {
      const expected = mlpForward(toMlpModel(canonical), Float32Array.from(rows[i]));
      line.probabilities.forEach((p: number, k: number) => expect(Math.abs(p - expected.probabilities[k])).toBeLessThan(BATCH_VS_SINGLE_TOLERANCE));
      expect(line.confidence).toBe(Math.max(...line.probabilities));
    });
  });

  it("prints --help for every weights command", async () => {
    const result = await mlp("validate", "--help");
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("usage: npm run mlp -- validate FILE");
  });
});
