/**
 * torch model → tools/export_mlp_weights.py → importer/validator → TS forward
 * pass, compared with torch's own forward on the same random inputs.
 * One Python helper (torch_fixtures.py) does all the torch work in a single
 * interpreter; only the cases that need a fresh process spawn the exporter.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpForward } from "../../convex/lib/mlpForward.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { importWeightsJson } from "../../convex/lib/weightsImport.ts";
import { outputActivations, type CanonicalWeights, type OutputActivation } from "../../convex/lib/weightsFormat.ts";
import { findTorchPython } from "../../tools/torchPython.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const exporterPath = join(repoRoot, "tools/export_mlp_weights.py");
const fixturesPath = join(repoRoot, "tests/exporter/torch_fixtures.py");
const TOLERANCE = 1e-5;

interface ExporterRun {
  exitCode: number;
  stderr: string;
  wroteOutput?: boolean;
}

interface FixtureReport {
  inputs: number[][];
  models: Record<string, Record<OutputActivation, number[][]>>;
  tensorDigests: Record<string, string>;
  exports: Record<string, ExporterRun>;
  refusals: Record<string, ExporterRun>;
}

interface ProcessResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[]): Promise<ProcessResult> {
  return new Promise((done) => {
    execFile(command, args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const exitCode = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      done({ exitCode, stdout, stderr });
    });
  });
}

let workDir: string;
let python: string;
let report: FixtureReport;
let namedModuleExport: ProcessResult;
let missingModuleFile: ProcessResult;

beforeAll(async () => {
  python = await findTorchPython();
  workDir = await mkdtemp(join(tmpdir(), "exporter-test-"));
  const fixtures = await run(python, [fixturesPath, workDir, exporterPath]);
  if (fixtures.exitCode !== 0) throw new Error(`torch_fixtures.py failed (exit ${fixtures.exitCode}): ${fixtures.stderr}`);
  report = JSON.parse(await readFile(join(workDir, "report.json"), "utf8")) as FixtureReport;
  // The helper pickled NamedMlp as `__main__.NamedMlp`: only a fresh exporter
  // process shows whether --module-file makes that loadable, or its absence is explained.
  [namedModuleExport, missingModuleFile] = await Promise.all([
    run(python, [exporterPath, "--checkpoint", join(workDir, "named.module.pt"), "--out", join(workDir, "named.module.json"),
      "--module-file", fixturesPath, "--clip-model", "tiny-clip", "--output-activation", "softmax"]),
    run(python, [exporterPath, "--checkpoint", join(workDir, "named.module.pt"), "--out", join(workDir, "unused.json")]),
  ]);
}, 180_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

async function importExport(file: string): Promise<CanonicalWeights> {
  const result = importWeightsJson(await readFile(join(workDir, file), "utf8"));
  if (!result.ok) throw new Error(`${file} did not import: ${result.problems.map((p) => p.message).join("; ")}`);
  expect(result.source).toBe("canonical");
  return result.weights;
}

function maxAbsDifference(weights: CanonicalWeights, activation: OutputActivation, expected: number[][]): number {
  const model = { ...toMlpModel(weights), outputActivation: activation };
  let worst = 0;
  report.inputs.forEach((input, row) => {
    const { probabilities } = mlpForward(model, input);
    expect(probabilities).toHaveLength(expected[row].length);
    probabilities.forEach((p, k) => (worst = Math.max(worst, Math.abs(p - expected[row][k]))));
  });
  return worst;
}

/** sha256 of all parameters as little-endian float32, layer by layer: weight then bias, as in a state_dict. */
function parameterDigest(weights: CanonicalWeights): string {
  const hash = createHash("sha256");
  for (const layer of weights.layers) {
    hash.update(new Uint8Array(Float32Array.from(layer.weight.flat()).buffer));
    hash.update(new Uint8Array(Float32Array.from(layer.bias).buffer));
  }
  return hash.digest("hex");
}

const parityCases = [
  { file: "sequential.state_dict.json", model: "sequential", outputActivation: "softmax" },
  { file: "sequential.module.json", model: "sequential", outputActivation: "sigmoid" },
  { file: "named.state_dict.json", model: "named", outputActivation: "sigmoid-normalized" },
  { file: "named.module.json", model: "named", outputActivation: "softmax" },
  { file: "untraceable.module.json", model: "untraceable", outputActivation: "sigmoid-normalized" },
] as const;

describe("export_mlp_weights.py → importWeightsJson → mlpForward matches torch", () => {
  it("exports every parity case without errors", () => {
    for (const name of ["sequential.state_dict", "sequential.module", "named.state_dict", "untraceable.module"]) {
      expect(report.exports[name], name).toMatchObject({ exitCode: 0 });
    }
    expect(namedModuleExport.exitCode, namedModuleExport.stderr).toBe(0);
    expect(namedModuleExport.stderr).toBe("");
  });

  for (const { file, model, outputActivation } of parityCases) {
    it(`${file}: records ${outputActivation}, is lossless, and agrees with torch to 1e-5 for every output activation`, async () => {
      const weights = await importExport(file);
      expect(weights.outputActivation).toBe(outputActivation);
      expect(parameterDigest(weights)).toBe(report.tensorDigests[model]);
      for (const activation of outputActivations) {
        expect(maxAbsDifference(weights, activation, report.models[model][activation]), activation).toBeLessThan(TOLERANCE);
      }
    });
  }

  it("reads a nested named-layer module with functional ReLU and Dropout as three Linear layers", async () => {
    const weights = await importExport("named.module.json");
    expect(weights.layers.map((l) => [l.weight.length, l.weight[0].length, l.activation])).toEqual([
      [48, 512, "relu"],
      [24, 48, "relu"],
      [12, 24, "none"],
    ]);
    expect(weights.input).toEqual({ dim: 512, clipModel: "tiny-clip", normalize: "none" });
  });

  it("gives a state_dict and a whole module of the same model the same layers", async () => {
    const [fromStateDict, fromModule] = await Promise.all([importExport("sequential.state_dict.json"), importExport("sequential.module.json")]);
    expect(fromModule.layers).toEqual(fromStateDict.layers);
    expect(fromModule.name).toBe("sequential whole module");
  });

  it("writes the header from the options, with class names from a one-per-line file", async () => {
    const weights = await importExport("sequential.state_dict.json");
    expect(weights).toMatchObject({
      format: "clip-mlp-weights",
      formatVersion: 1,
      name: "sequential.state_dict",
      classes: Array.from({ length: 12 }, (_, i) => `scene ${i}`),
      input: { dim: 512, clipModel: "Xenova/clip-vit-base-patch32", normalize: "none" },
    });
    const defaults = await importExport("named.state_dict.json");
    expect(defaults.classes).toEqual(Array.from({ length: 12 }, (_, i) => `class_${i}`));
  });

  it("takes the output activation from a final Softmax module, and records --normalize", async () => {
    expect(report.exports["softmax-headed"].exitCode).toBe(0);
    const weights = await importExport("softmax-headed.json");
    expect(weights.outputActivation).toBe("softmax");
    expect(weights.input.normalize).toBe("l2");
    expect(weights.layers.at(-1)?.activation).toBe("none");
  });

  it("says so when it assumes ReLU for a forward pass it cannot trace", () => {
    expect(report.exports["untraceable.module"].stderr).toMatch(/UntraceableMlp\.forward could not be traced .*assumed ReLU/);
  });
});

describe("export_mlp_weights.py refuses what the format cannot express", () => {
  const expectations: Record<string, RegExp> = {
    "conv module": /^export_mlp_weights: error: module 0: Conv1d cannot be expressed/,
    "conv state_dict": /^export_mlp_weights: error: state_dict 0: weight is 2×1×3, a convolution \(Conv\) kernel/,
    "batchnorm module": /^export_mlp_weights: error: module 1: BatchNorm1d cannot be expressed/,
    "batchnorm state_dict": /^export_mlp_weights: error: state_dict 1: BatchNorm \(running statistics in the state_dict\) cannot be expressed/,
    "layernorm module": /^export_mlp_weights: error: module 1: LayerNorm cannot be expressed/,
    "gelu module": /^export_mlp_weights: error: module 1: GELU cannot be expressed/,
    "no-bias module": /^export_mlp_weights: error: module 2: Linear without bias \(12×16 weight, bias=False\)/,
    "no-bias state_dict": /^export_mlp_weights: error: state_dict 2: Linear without bias/,
    "non-consecutive module": /^export_mlp_weights: error: module 2: weight is 12×15 but module 0 outputs 16; shapes are not consecutive/,
    "relu-last module": /^export_mlp_weights: error: module 2: ReLU after the last Linear cannot be expressed/,
    "nan state_dict": /^export_mlp_weights: error: state_dict 2\.weight\[3\]\[7\] is nan; weights must be finite$/,
    "classes length mismatch": /^export_mlp_weights: error: --classes file .*classes-short\.json lists 11 classes but the last Linear outputs 12$/,
    "input dim mismatch": /^export_mlp_weights: error: state_dict encoder\.fc1: first Linear takes 512 inputs but --input-dim is 768$/,
    "softmax head with sigmoid output": /^export_mlp_weights: error: module 3: the model ends in Softmax but --output-activation is sigmoid; use softmax$/,
  };

  it("covers every refusal case the helper ran", () => {
    expect(Object.keys(report.refusals).sort()).toEqual(Object.keys(expectations).sort());
  });

  for (const [name, message] of Object.entries(expectations)) {
    it(`${name}: one line naming the module, exit 1, no output file`, () => {
      const refusal = report.refusals[name];
      expect(refusal.exitCode).toBe(1);
      expect(refusal.wroteOutput).toBe(false);
      expect(refusal.stderr.trimEnd().split("\n")).toHaveLength(1);
      expect(refusal.stderr.trimEnd()).toMatch(message);
    });
  }

  it("exits 1 with one line asking for --module-file when a pickled class cannot be found", () => {
    expect(missingModuleFile.exitCode).toBe(1);
    expect(missingModuleFile.stdout).toBe("");
    const lines = missingModuleFile.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/named\.module\.pt holds a pickled module whose class cannot be found .*'NamedMlp'.*pass --module-file FILE/);
  });
});

describe("npm run mlp -- predict agrees with torch", () => {
  it("prints one prediction per input line, within 1e-5 of torch's forward pass", async () => {
    const featuresFile = join(workDir, "features.jsonl");
    // Both accepted line forms: a bare array and an object with `features`.
    const lines = report.inputs.map((input, row) => JSON.stringify(row % 2 === 0 ? input : { features: input }));
    await writeFile(featuresFile, lines.join("\n") + "\n");
    const predict = await run("npm", ["run", "--silent", "mlp", "--", "predict", "--weights", join(workDir, "named.state_dict.json"), "--features", featuresFile]);
    expect(predict.exitCode, predict.stderr).toBe(0);
    const predictions = predict.stdout.trim().split("\n").map((line) => JSON.parse(line) as { probabilities: number[]; label: string; confidence: number });
    const expected = report.models.named["sigmoid-normalized"];
    expect(predictions).toHaveLength(expected.length);
    predictions.forEach((prediction, row) => {
      const torchProbabilities = expected[row];
      prediction.probabilities.forEach((p, k) => expect(Math.abs(p - torchProbabilities[k])).toBeLessThan(TOLERANCE));
      const torchTop = torchProbabilities.indexOf(Math.max(...torchProbabilities));
      expect(prediction.label).toBe(`class_${torchTop}`);
      expect(Math.abs(prediction.confidence - torchProbabilities[torchTop])).toBeLessThan(TOLERANCE);
    });
  });
});

describe("findTorchPython", () => {
  it("returns an interpreter that imports torch", () => {
    expect(["python3", "/usr/bin/python3"]).toContain(python);
  });

  it("names the Debian package when no candidate can import torch", async () => {
    await expect(findTorchPython(["/nonexistent/python3"])).rejects.toThrow(
      /^PyTorch not found: install Debian's python3-torch \(apt-get install -y python3-torch\); tried \/nonexistent\/python3/,
    );
  });
});
