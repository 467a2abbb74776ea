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
import type { MlpKernel, MlpKernelChoice, MlpPrediction } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { makeFigure, type BenchFigure } from "./figures.ts";
import { median } from "./timing.ts";

interface BundledEngine {
  decodeWeights(bytes: Uint8Array): MlpModel;
  mlpForward(model: MlpModel, features: ArrayLike<number>): MlpPrediction;
  setMlpKernel(choice: MlpKernelChoice): void;
  activeMlpKernel(): MlpKernel;
}

const ENTRY = `export { decodeWeights } from ${JSON.stringify(fileURLToPath(new URL("../../convex/lib/weightsBinary.ts", import.meta.url)))};
export { activeMlpKernel, mlpForward, setMlpKernel } from ${JSON.stringify(fileURLToPath(new URL("../../convex/lib/mlpForward.ts", import.meta.url)))};`;

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
  /** Compiling the WebAssembly kernel (0 for the JavaScript kernel): part of the first call's cost in production. */
  compileMs: number;
  decodeMs: number;
  forwardMs: number;
  warmDecodeMs: number;
  /** A warm context's first call on a freshly decoded model: for the WebAssembly kernel, instantiating and copying the weights in. */
  warmFirstCallMs: number;
  warmForwardMs: number;
}

function timeInFreshContext(script: Script, bytes: Uint8Array, features: Float32Array, warmCalls: number, kernel: MlpKernel): ColdSample {
  const context = createContext({ TextDecoder, TextEncoder, crypto });
  const loadStarted = performance.now();
  script.runInContext(context);
  const engine = (context as { benchEngine: BundledEngine }).benchEngine;
  const loadMs = performance.now() - loadStarted;
  // setMlpKernel("wasm" | "wasm-relaxed") compiles the module (or throws saying why it cannot); "auto" would do the same on the first call.
  let started = performance.now();
  engine.setMlpKernel(kernel);
  const compileMs = kernel === "js" ? 0 : performance.now() - started;
  started = performance.now();
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
  const warmFirstCallMs = performance.now() - started;
  started = performance.now();
  engine.mlpForward(warmModel, features);
  return { loadMs, compileMs, decodeMs, forwardMs, warmDecodeMs, warmFirstCallMs, warmForwardMs: performance.now() - started };
}

/** The kernels the bundled engine can use in a fresh node:vm context, WebAssembly builds first. */
function kernelsInFreshContext(script: Script): MlpKernel[] {
  const context = createContext({ TextDecoder, TextEncoder, crypto });
  script.runInContext(context);
  const engine = (context as { benchEngine: BundledEngine }).benchEngine;
  const kernels: MlpKernel[] = [];
  for (const kernel of ["wasm-relaxed", "wasm"] as const) {
    try {
      engine.setMlpKernel(kernel);
      kernels.push(kernel);
    } catch {
      // Refused in this runtime: not measured.
    }
  }
  return [...kernels, "js"];
}

export async function measureColdStart({ bench, contexts }: ColdStageOptions): Promise<BenchFigure[]> {
  const script = await bundleEngine();
  const features = benchFeatures(1, bench.model.layers[0].inDim, 1);
  const kernels = kernelsInFreshContext(script);
  const samples = new Map<MlpKernel, ColdSample[]>(kernels.map((kernel) => [kernel, []]));
  // Alternate the kernels so a burst of load elsewhere on the machine hits all of them.
  for (let i = 0; i < contexts; i++) {
    for (const kernel of kernels) samples.get(kernel)!.push(timeInFreshContext(script, bench.binary, features, i === 0 ? 5 : 300, kernel));
  }
  const pick = (kernel: MlpKernel, key: keyof ColdSample) => median(samples.get(kernel)!.map((sample) => sample[key]));
  const notes = [`medians over ${contexts} fresh node:vm contexts per kernel, sharing one compiled bundle; evaluating the bundle takes ${pick(kernels[0], "loadMs").toFixed(2)} ms per context`];
  const figures: BenchFigure[] = [
    makeFigure({
      id: "cold.decode",
      label: `Weight decode in a fresh context (as each Convex action), ${bench.shape}`,
      subject: { name: "decodeWeights, first call", ms: pick(kernels[0], "decodeMs") },
      reference: { name: "decodeWeights, warm", ms: pick(kernels[0], "warmDecodeMs") },
      target: { kind: "maxMs", value: 0.5 },
      notes,
    }),
  ];
  for (const kernel of ["wasm-relaxed", "wasm"] as const) {
    if (!kernels.includes(kernel)) continue;
    const compileMs = pick(kernel, "compileMs");
    const firstCallMs = pick(kernel, "forwardMs");
    const name = kernel === "wasm" ? "WebAssembly SIMD" : "WebAssembly relaxed SIMD";
    figures.push(
      makeFigure({
        id: kernel === "wasm" ? "cold.forward" : "cold.forwardRelaxed",
        label: `MLP forward in a fresh context, 1 vector, ${bench.shape}, ${name} kernel`,
        subject: { name: "compile kernel + mlpForward first call", ms: compileMs + firstCallMs },
        reference: { name: `mlpForward (${kernel}), warm`, ms: pick(kernel, "warmForwardMs") },
        values: { kernelCompileMs: compileMs, firstCallMs, warmFirstCallMs: pick(kernel, "warmFirstCallMs") },
        notes: [
          `compiling the WebAssembly module takes ${(compileMs * 1000).toFixed(0)} µs; the first call (instantiate, copy the weights into linear memory, run) ${(firstCallMs * 1000).toFixed(0)} µs`,
          `a model's first call costs ${(pick(kernel, "warmFirstCallMs") * 1000).toFixed(0)} µs even in a warm context: instantiating and copying the weights in happens once per decoded model, so once per action`,
        ],
      }),
    );
  }
  if (kernels.length === 1) notes.push("WebAssembly is not available in a fresh node:vm context here, so only the JavaScript kernel was measured");
  figures.push(
    makeFigure({
      id: "cold.forwardJs",
      label: `MLP forward in a fresh context, 1 vector, ${bench.shape}, JavaScript kernel`,
      subject: { name: "mlpForward (js), first call", ms: pick("js", "forwardMs") },
      reference: { name: "mlpForward (js), warm", ms: pick("js", "warmForwardMs") },
    }),
  );
  return figures;
}
