/**
 * The benchmark's measurement functions with tiny iteration counts: they must
 * produce well-formed figures and a correct reference. No timing is asserted.
 */
import { describe, expect, it } from "vitest";
import { InferenceSession } from "onnxruntime-node";
import { mlpProbabilitiesBatch } from "../../convex/lib/mlpForward.ts";
import type { OutputActivation } from "../../convex/lib/weightsFormat.ts";
import sharp from "sharp";
import { measureClassificationAction } from "../../tools/bench/actionStage.ts";
import { browserFigures, makeBenchImage, ORIGINAL_DESIGN_MS } from "../../tools/bench/browserStage.ts";
import { quickSettings, runBench, runBenchCli } from "../../tools/bench/bench.ts";
import { benchFeatures, canonicalJsonText, makeRandomBenchModel } from "../../tools/bench/benchModels.ts";
import { measureColdStart } from "../../tools/bench/coldStage.ts";
import { measureDecode } from "../../tools/bench/decodeStage.ts";
import { evaluateTarget, formatReads, readsPerItem, type BenchFigure } from "../../tools/bench/figures.ts";
import { createOrtSession, maxAbsDifference, measureForward, measureScaling, runOrtProbabilities } from "../../tools/bench/forwardStage.ts";
import { measureReplay, timeEndToEndReplay } from "../../tools/bench/replayStage.ts";
import { formatReport } from "../../tools/bench/report.ts";
import { measureScale } from "../../tools/bench/scaleStage.ts";
import { comparePaired, median } from "../../tools/bench/timing.ts";
import { enableRelaxedSimd } from "../../tools/relaxedSimd.ts";
import { capturedIo } from "../lib/capturedIo.ts";

// As `npm run bench` does, so every kernel's figures are produced on Node 20 too.
enableRelaxedSimd();

const tiny = { trials: 2, minTrialMs: 1, warmupMs: 0 };

function expectWellFormed(figure: BenchFigure) {
  expect(figure.id).toMatch(/^[a-z]+\.[a-zA-Z0-9]+$/);
  for (const side of [figure.subject, figure.reference]) {
    expect(side.name.length).toBeGreaterThan(0);
    expect(Number.isFinite(side.ms) && side.ms > 0, `${figure.id} ${side.name}: ${side.ms}`).toBe(true);
  }
  expect(Number.isFinite(figure.ratio) && figure.ratio > 0).toBe(true);
  for (const [key, value] of Object.entries(figure.values)) expect(Number.isFinite(value), `${figure.id}.${key}`).toBe(true);
}

describe("timing", () => {
  it("times a slow and a fast call in paired trials and reports the slow one as slower", async () => {
    const spin = (n: number) => {
      let x = 0;
      for (let i = 0; i < n; i++) x += Math.sqrt(i);
      return x;
    };
    // 200× more work: far beyond any noise, so the direction of the ratio can be checked.
    const paired = await comparePaired(() => spin(200_000), () => spin(1_000), { trials: 3, minTrialMs: 2, warmupMs: 0 });
    expect(paired.subject.trials).toBe(3);
    expect(paired.subject.callsPerTrial).toBeGreaterThanOrEqual(1);
    expect(paired.ratio).toBeGreaterThan(1);
    expect(paired.subject.minMs).toBeLessThanOrEqual(paired.subject.medianMs);
    expect(paired.subject.maxMs).toBeGreaterThanOrEqual(paired.subject.medianMs);
  });

  it("awaits asynchronous calls", async () => {
    let finished = 0;
    await comparePaired(async () => {
      await Promise.resolve();
      finished += 1;
    }, () => 1, tiny);
    expect(finished).toBeGreaterThan(2);
  });

  it("takes medians of odd and even lists and refuses an empty one", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(() => median([])).toThrow(/empty/);
  });
});

describe("targets", () => {
  it("judges ratio, speedup and absolute targets and says by how much one is missed", () => {
    expect(evaluateTarget({ kind: "maxRatio", value: 2 }, 1, 1.5)).toMatchObject({ met: true, verdict: "met" });
    expect(evaluateTarget({ kind: "maxRatio", value: 2 }, 1, 6)).toMatchObject({ met: false, verdict: expect.stringMatching(/6\.00× vs ≤ 2× \(3\.00× too slow\)/) });
    expect(evaluateTarget({ kind: "minSpeedup", value: 10 }, 1, 0.05)).toMatchObject({ met: true });
    expect(evaluateTarget({ kind: "minSpeedup", value: 10 }, 1, 0.25)).toMatchObject({ met: false, verdict: expect.stringMatching(/4\.00× faster vs ≥ 10× \(2\.50× short\)/) });
    expect(evaluateTarget({ kind: "maxMs", value: 0.5 }, 0.01, 0.001)).toMatchObject({ met: true });
    expect(evaluateTarget({ kind: "maxMs", value: 0.5 }, 2, 0.001)).toMatchObject({ met: false });
  });

  it("judges a read budget on the largest transaction, not the total", () => {
    const reads = readsPerItem({ transactions: [{ documentsRead: 101, bytesRead: 42_000 }, { documentsRead: 3, bytesRead: 90_000, documentsWritten: 4, bytesWritten: 1_000 }] }, "page", 2);
    expect(reads).toEqual({
      item: "page",
      items: 2,
      perItem: { documents: 52, bytes: 66_000 },
      writtenPerItem: { documents: 2, bytes: 500 },
      largestTransaction: { documents: 3, bytes: 90_000 },
      transactions: 2,
    });
    expect(formatReads(reads)).toBe("52 docs, 66.0 KB per page");
    expect(evaluateTarget({ kind: "maxBytesRead", value: 100_000 }, 1, 1, reads)).toMatchObject({ met: true });
    expect(evaluateTarget({ kind: "maxBytesRead", value: 80_000 }, 1, 1, reads)).toMatchObject({ met: false, verdict: "missed: the largest transaction read 90.0 KB vs ≤ 80.0 KB" });
    expect(evaluateTarget({ kind: "maxBytesRead", value: 80_000 }, 1, 1)).toMatchObject({ met: false });
    expect(() => readsPerItem({ transactions: [] }, "page", 0)).toThrow(/positive item count/);
  });
});

describe("ONNX reference graph", () => {
  const activations: OutputActivation[] = ["sigmoid-normalized", "softmax", "sigmoid"];
  for (const outputActivation of activations) {
    it(`computes what the project engine computes (${outputActivation}, L2 input)`, async () => {
      const bench = makeRandomBenchModel([24, 10, 7, 5], 3);
      const model = { ...bench.model, outputActivation };
      const session: InferenceSession = await createOrtSession(model);
      try {
        const features = benchFeatures(6, 24, 4);
        const reference = await runOrtProbabilities(session, model, features, 6);
        expect(maxAbsDifference(mlpProbabilitiesBatch(model, features, 6), reference)).toBeLessThan(1e-6);
      } finally {
        await session.release();
      }
    });
  }

  it("refuses to compare outputs of different lengths", () => {
    expect(() => maxAbsDifference([1, 2], [1])).toThrow(/different lengths \(2 vs 1\)/);
  });
});

describe("stages", () => {
  const bench = makeRandomBenchModel([32, 16, 8, 6], 5);

  it("writes canonical JSON that parses back to the same float32 weights", () => {
    const parsed = JSON.parse(canonicalJsonText(bench.model)) as { layers: Array<{ weight: number[][] }> };
    expect(Math.fround(parsed.layers[0].weight[0][3])).toBe(bench.model.layers[0].weight[3]);
  });

  it("measures the forward pass with an agreeing reference", async () => {
    const figures = await measureForward({ bench, batchSize: 8, timing: tiny });
    expect(figures.map((f) => f.id)).toEqual(["forward.singleRelaxed", "forward.batchRelaxed", "forward.single", "forward.batch", "forward.singleJs", "forward.batchJs"]);
    figures.forEach(expectWellFormed);
    for (const figure of figures) {
      expect(figure.values.maxAbsDifference).toBeLessThan(1e-5);
      expect(figure.target?.text).toMatch(/reference/);
    }
  });

  it("measures cost per vector for each model and batch size", async () => {
    const other = makeRandomBenchModel([32, 24, 6], 6);
    const figures = await measureScaling({ models: [{ key: "a", bench }, { key: "b", bench: other }], batchSizes: [1, 5], timing: tiny });
    expect(figures.map((f) => f.id)).toEqual([
      ...["scaling.aB1Relaxed", "scaling.aB5Relaxed", "scaling.aB1", "scaling.aB5", "scaling.aB1Js", "scaling.aB5Js"],
      ...["scaling.bB1Relaxed", "scaling.bB5Relaxed", "scaling.bB1", "scaling.bB5", "scaling.bB1Js", "scaling.bB5Js"],
    ]);
    figures.forEach(expectWellFormed);
    expect(figures[1].values).toMatchObject({ batchSize: 5, parameters: bench.parameterCount });
    expect(figures[5].subject.name).toBe("mlpProbabilitiesBatch (js)");
  });

  it("measures decoding against JSON.parse", async () => {
    const figures = await measureDecode({ models: [{ key: "small", bench, target: { kind: "maxMs", value: 0.5 } }], timing: tiny });
    expect(figures).toHaveLength(1);
    expectWellFormed(figures[0]);
    expect(figures[0].values.binaryBytes).toBe(bench.binary.byteLength);
    expect(figures[0].target).toBeDefined();
  });

  it("decodes and runs the bundled engine in fresh contexts", async () => {
    const figures = await measureColdStart({ bench, contexts: 2 });
    expect(figures.map((f) => f.id)).toEqual(["cold.decode", "cold.forwardRelaxed", "cold.forward", "cold.forwardJs"]);
    figures.forEach(expectWellFormed);
    expect(figures[1].values.kernelCompileMs).toBeGreaterThan(0);
    expect(figures[2].values.kernelCompileMs).toBeGreaterThan(0);
    expect(figures[0].target?.text).toBe("≤ 500 µs");
  });

  it("runs the classification action both ways under convex-test", async () => {
    const figures = await measureClassificationAction({ bench, timing: tiny });
    expect(figures).toHaveLength(1);
    expectWellFormed(figures[0]);
    expect(figures[0].values.binaryWeightStepsMs).toBeGreaterThan(0);
    expect(figures[0].values.jsonWeightStepsMs).toBeGreaterThan(0);
    // A classification reads the version, the user, its picture and the weights: a handful of documents.
    expect(figures[0].reads).toMatchObject({ item: "classification", items: 1 });
    expect(figures[0].reads!.perItem.documents).toBeGreaterThan(3);
    expect(figures[0].reads!.perItem.documents).toBeLessThan(30);
  });

  it("measures replay scoring and a whole replay", async () => {
    const figures = await measureReplay({ bench, timing: tiny, endToEndCount: 7, endToEndRuns: 1 });
    expect(figures.map((f) => f.id)).toEqual(["replay.scoring", "replay.endToEnd"]);
    figures.forEach(expectWellFormed);
    expect(figures[1].values.vectorsPerSecond).toBeGreaterThan(0);
    // At least the classification and its features document per vector.
    expect(figures[1].reads).toMatchObject({ item: "vector", items: 7 });
    expect(figures[1].reads!.perItem.documents).toBeGreaterThanOrEqual(2);
    await expect(timeEndToEndReplay(bench, 3, 1)).resolves.toMatchObject({ processed: 3 });
  });

  it("compares on a labelled set and reads History pages within the list budget", async () => {
    const figures = await measureScale({ bench, labelledItems: 60, pictures: 130, runs: 1 });
    expect(figures.map((f) => f.id)).toEqual(["scale.compare", "scale.historyPage", "scale.historyResidualPage"]);
    figures.forEach(expectWellFormed);
    expect(figures[0].values.items).toBe(60);
    // Each labelled item is read once, with its features document.
    expect(figures[0].reads!.perItem.documents).toBeGreaterThanOrEqual(2);
    expect(figures[1].values.pictures).toBe(100);
    expect(figures[1].reads!.largestTransaction.documents).toBeGreaterThanOrEqual(100);
    expect(figures[1].target).toMatchObject({ met: true });
    // No seeded picture is labelled: the residual page is empty but says so.
    expect(figures[2].values.pictures).toBe(0);
  });
});

describe("browser stage figures", () => {
  const result = {
    crossOriginIsolated: true,
    hardwareConcurrency: 2,
    pipelineThreads: 2,
    bareThreads: 2,
    pipelineMs: [120, 110, 130],
    bareMs: [100, 100, 100],
    pipelineLoadMs: 900,
    bareLoadMs: 800,
    decodeMs: [8, 9, 10],
    preprocessMs: [5, 6, 7],
  };

  it("pairs each pipeline run with the bare run after it and judges threaded q8 against both targets", () => {
    const figures = browserFigures({ dtype: "q8", isolated: true, result });
    expect(figures.map((f) => f.id)).toEqual(["browser.q8Threaded", "browser.q8VsDesign"]);
    figures.forEach(expectWellFormed);
    expect(figures[0].ratio).toBeCloseTo(1.2);
    expect(figures[0].target).toMatchObject({ met: false, text: "≤ 1.15× reference" });
    expect(figures[0].values.decodeMs).toBe(9);
    expect(figures[0].values.preprocessMs).toBe(6);
    // Paired per round: 120-8-5-100, 110-9-6-100, 130-10-7-100.
    expect(figures[0].values.messagingMs).toBe(7);
    expect(figures[1].reference.ms).toBe(ORIGINAL_DESIGN_MS);
    expect(figures[1].target).toMatchObject({ met: true });
  });

  it("reports the single-threaded configuration without a target", () => {
    const figures = browserFigures({ dtype: "fp32", isolated: false, result: { ...result, crossOriginIsolated: false, pipelineThreads: 1, bareThreads: 1 } });
    expect(figures.map((f) => f.id)).toEqual(["browser.fp32Single"]);
    expect(figures[0].target).toBeUndefined();
  });

  it("makes a 1024×768 JPEG to extract from", async () => {
    const metadata = await sharp(await makeBenchImage()).metadata();
    expect(metadata).toMatchObject({ format: "jpeg", width: 1024, height: 768 });
  });
});

describe("runBench and its CLI", () => {
  it("assembles a report whose table names every figure and target status", async () => {
    const progress: string[] = [];
    const report = await runBench({ stages: ["forward"], settings: quickSettings, onProgress: (line) => progress.push(line) });
    expect(report.stages.map((s) => s.stage)).toEqual(["forward"]);
    expect(report.machine.cpus).toBeGreaterThan(0);
    expect(report.machine.relaxedSimd).toMatch(/^(built in|--experimental-wasm-relaxed-simd)$/);
    expect(progress[0]).toMatch(/\[1\/1\] MLP forward/);
    const table = formatReport(report);
    expect(report.quick).toBe(true);
    expect(table).toMatch(/--quick: .* mean nothing/);
    for (const figure of report.stages[0].figures) {
      expect(table).toContain(figure.label);
      expect(table).toMatch(figure.target?.met ? /\bmet\b/ : /NOT MET/);
    }
  });

  it("refuses an unknown stage with the list of known ones", async () => {
    const { io } = capturedIo();
    await expect(runBenchCli(["--only", "forward,gpu"], io)).rejects.toThrow(/--only expects a comma-separated list of forward, scaling, decode, cold, action, replay, scale, browser; got "forward,gpu"/);
  });

  it("refuses unknown browser dtypes and run counts", async () => {
    const { io } = capturedIo();
    await expect(runBenchCli(["--only", "forward", "--browser-dtypes", "int4"], io)).rejects.toThrow(/--browser-dtypes expects .*q8, fp32; got "int4"/);
    await expect(runBenchCli(["--only", "forward", "--browser-runs", "0"], io)).rejects.toThrow(/--browser-runs expects a whole number from 1 to 1000; got "0"/);
  });

  it("prints help", async () => {
    const { io, stdout } = capturedIo();
    await expect(runBenchCli(["--help"], io)).resolves.toBe(0);
    expect(stdout.join("\n")).toMatch(/usage: npm run bench/);
  });
});
