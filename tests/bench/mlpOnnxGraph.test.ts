/**
 * The bench's onnxruntime reference must be the graph torch itself exports
 * for the MLP: tools/bench/mlpOnnxGraph.ts against torch.onnx.export of the
 * same nn.Sequential (torch_mlp_export.py), node for node, and against
 * torch's forward pass on random inputs.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { InferenceSession } from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mlpProbabilitiesBatch, setMlpKernel, type MlpKernel } from "../../convex/lib/mlpForward.ts";
import { benchFeatures, makeRandomBenchModel } from "../../tools/bench/benchModels.ts";
import { createOrtSession, maxAbsDifference, runOrtLogits } from "../../tools/bench/forwardStage.ts";
import { encodeMlpOnnx, referenceInputs, referenceProbabilities } from "../../tools/bench/mlpOnnxGraph.ts";
import { enableRelaxedSimd } from "../../tools/relaxedSimd.ts";
import { findTorchPython } from "../../tools/torchPython.ts";

enableRelaxedSimd();

const repoRoot = resolve(import.meta.dirname, "../..");
const exportScript = join(repoRoot, "tests/bench/torch_mlp_export.py");
const ROWS = 16;

interface GraphDescription {
  irVersion: number;
  opsets: Array<{ domain: string; version: number }>;
  nodes: unknown[];
  initializers: Array<{ name: string; dims: number[]; dataType: number }>;
  inputs: unknown[];
  outputs: unknown[];
}

interface ExportReport {
  torchVersion: string;
  torchExport: GraphDescription;
  benchGraph: GraphDescription;
  logits: number[][];
}

const { model } = makeRandomBenchModel([512, 256, 128, 12], 31);
const features = benchFeatures(ROWS, 512, 5);
const inputs = referenceInputs(model, features, ROWS);
let workDir: string;
let report: ExportReport;

beforeAll(async () => {
  const python = await findTorchPython();
  workDir = await mkdtemp(join(tmpdir(), "mlp-onnx-graph-"));
  const spec = {
    layers: model.layers.map((layer) => ({ inDim: layer.inDim, outDim: layer.outDim, weight: Array.from(layer.weight), bias: Array.from(layer.bias), activation: layer.activation })),
    inputs: Array.from({ length: ROWS }, (_, r) => Array.from(inputs.subarray(r * 512, (r + 1) * 512))),
  };
  await writeFile(join(workDir, "spec.json"), JSON.stringify(spec));
  await writeFile(join(workDir, "bench.onnx"), encodeMlpOnnx(model));
  await new Promise<void>((done, fail) => {
    execFile(python, [exportScript, join(workDir, "spec.json"), join(workDir, "bench.onnx"), workDir], { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error ? fail(new Error(`torch_mlp_export.py failed: ${stderr || error.message}`)) : done(),
    );
  });
  report = JSON.parse(await readFile(join(workDir, "report.json"), "utf8")) as ExportReport;
}, 180_000);

afterAll(async () => {
  setMlpKernel("auto");
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

describe("the bench's onnxruntime reference graph", () => {
  it("is torch.onnx.export's graph of the same nn.Sequential, node for node (Gemm alpha=1 beta=1 transB=1, Relu, opset 14)", () => {
    const { torchExport, benchGraph } = report;
    expect(benchGraph.nodes).toEqual(torchExport.nodes);
    expect(benchGraph.initializers).toEqual(torchExport.initializers);
    expect(benchGraph.inputs).toEqual(torchExport.inputs);
    expect(benchGraph.outputs).toEqual(torchExport.outputs);
    expect(benchGraph.opsets).toEqual(torchExport.opsets);
    expect(benchGraph.irVersion).toBe(torchExport.irVersion);
    // The shape of what was compared, so an empty description cannot pass.
    expect(torchExport.nodes.map((node) => (node as { opType: string }).opType)).toEqual(["Gemm", "Relu", "Gemm", "Relu", "Gemm"]);
    expect(torchExport.opsets).toEqual([{ domain: "", version: 14 }]);
  });

  it("gives torch's logits within 1e-5 on random inputs, and exactly what onnxruntime gives on torch's own file", async () => {
    const expected = report.logits.flat();
    const session = await createOrtSession(model);
    const torchFile = await InferenceSession.create(await readFile(join(workDir, "torch-export.onnx")), { executionProviders: ["cpu"], intraOpNumThreads: 1 });
    try {
      const logits = await runOrtLogits(session, inputs, ROWS, 512);
      expect(logits.length).toBe(ROWS * 12);
      expect(maxAbsDifference(logits, expected)).toBeLessThan(1e-5);
      expect(Array.from(await runOrtLogits(torchFile, inputs, ROWS, 512))).toEqual(Array.from(logits));
    } finally {
      await Promise.all([session.release(), torchFile.release()]);
    }
  });

  for (const kernel of ["wasm-relaxed", "wasm", "js"] as const satisfies MlpKernel[]) {
    it(`leaves the engine (${kernel} kernel) within 1e-5 of torch once the reference's input normalisation and output activation are applied`, () => {
      setMlpKernel(kernel);
      const expected = referenceProbabilities(report.logits.flat(), 12, model.outputActivation);
      expect(maxAbsDifference(mlpProbabilitiesBatch(model, features, ROWS), expected)).toBeLessThan(1e-5);
    });
  }
});
