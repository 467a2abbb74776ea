/**
 * Decode + forward as a Convex action really runs them: every action gets a
 * fresh context, so the engine's functions start without type feedback or
 * optimised code, and the warm figures of the other stages flatter them.
 *
 * The engine (convex/lib/weightsBinary.ts + mlpForward.ts) is bundled the
 * way Convex bundles functions (esbuild, one script) and evaluated in a new
 * `node:vm` context per trial; the compiled script is shared between
 * contexts, as a deployment shares its module code between requests.
 */
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import { Script, createContext } from "node:vm";
import type { MlpPrediction } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { makeFigure, type BenchFigure } from "./figures.ts";
import { median } from "./timing.ts";

interface BundledEngine {
  decodeWeights(bytes: Uint8Array): MlpModel;
  mlpForward(model: MlpModel, features: ArrayLike<number>): MlpPrediction;
}

const ENTRY = `export { decodeWeights } from ${JSON.stringify(fileURLToPath(new URL("../../convex/lib/weightsBinary.ts", import.meta.url)))};
export { mlpForward } from ${JSON.stringify(fileURLToPath(new URL("../../convex/lib/mlpForward.ts", import.meta.url)))};`;

export async function bundleEngine(): Promise<Script> {
  const result = await build({
    stdin: { contents: ENTRY, loader: "ts", resolveDir: fileURLToPath(new URL(".", import.meta.url)) },
    bundle: true,
    format: "iife",
    globalName: "benchEngine",
    platform: "neutral",
    mainFields: ["module", "main"],
    write: false,
    logLevel: "silent",
  });
  return new Script(result.outputFiles[0].text, { filename: "bench-engine.js" });
}

export interface ColdStageOptions {
  bench: BenchModel;
  /** Fresh contexts to time; the figure is their median. */
  contexts: number;
}

interface ColdSample {
  loadMs: number;
  decodeMs: number;
  forwardMs: number;
  warmDecodeMs: number;
  warmForwardMs: number;
}

function timeInFreshContext(script: Script, bytes: Uint8Array, features: Float32Array, warmCalls: number): ColdSample {
  const context = createContext({ TextDecoder, TextEncoder, crypto });
  const loadStarted = performance.now();
  script.runInContext(context);
  const engine = (context as { benchEngine: BundledEngine }).benchEngine;
  const loadMs = performance.now() - loadStarted;
  let started = performance.now();
  const model = engine.decodeWeights(bytes);
  const decodeMs = performance.now() - started;
  started = performance.now();
  engine.mlpForward(model, features);
  const forwardMs = performance.now() - started;
  // The same context after many calls: what a long-lived process would see.
  for (let i = 0; i < warmCalls; i++) engine.mlpForward(engine.decodeWeights(bytes), features);
  started = performance.now();
  const warmModel = engine.decodeWeights(bytes);
  const warmDecodeMs = performance.now() - started;
  started = performance.now();
  engine.mlpForward(warmModel, features);
  return { loadMs, decodeMs, forwardMs, warmDecodeMs, warmForwardMs: performance.now() - started };
}

export async function measureColdStart({ bench, contexts }: ColdStageOptions): Promise<BenchFigure[]> {
  const script = await bundleEngine();
  const features = benchFeatures(1, bench.model.layers[0].inDim, 1);
  const samples: ColdSample[] = [];
  for (let i = 0; i < contexts; i++) samples.push(timeInFreshContext(script, bench.binary, features, i === 0 ? 5 : 300));
  const pick = (key: keyof ColdSample) => median(samples.map((sample) => sample[key]));
  const notes = [`medians over ${contexts} fresh node:vm contexts sharing one compiled bundle; evaluating the bundle takes ${pick("loadMs").toFixed(2)} ms per context`];
  return [
    makeFigure({
      id: "cold.decode",
      label: `Weight decode in a fresh context (as each Convex action), ${bench.shape}`,
      subject: { name: "decodeWeights, first call", ms: pick("decodeMs") },
      reference: { name: "decodeWeights, warm", ms: pick("warmDecodeMs") },
      target: { kind: "maxMs", value: 0.5 },
      notes,
    }),
    makeFigure({
      id: "cold.forward",
      label: `MLP forward in a fresh context, 1 vector, ${bench.shape}`,
      subject: { name: "mlpForward, first call", ms: pick("forwardMs") },
      reference: { name: "mlpForward, warm", ms: pick("warmForwardMs") },
    }),
  ];
}
