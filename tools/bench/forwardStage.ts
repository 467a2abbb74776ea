/**
 * Stage 1: the project's MLP engine against onnxruntime-node (CPU, one
 * thread) on the same weights, for one vector and for a batch, with each of
 * the engine's kernels this runtime can run: WebAssembly with relaxed SIMD
 * (fused multiply-add), WebAssembly SIMD, and the JavaScript fallback.
 *
 * The reference runs torch.onnx.export's graph of the MLP (mlpOnnxGraph.ts)
 * on inputs already prepared as the model's input spec says, and returns
 * logits: the engine's timed call also normalises its raw inputs and turns
 * logits into probabilities, so every ratio here is conservative.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { mlpForward, mlpProbabilitiesBatch, setMlpKernel, type MlpKernel } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { makeFigure, type BenchFigure } from "./figures.ts";
import { encodeMlpOnnx, MLP_ONNX_INPUT, MLP_ONNX_OUTPUT, referenceInputs, referenceProbabilities } from "./mlpOnnxGraph.ts";
import { comparePaired, type TimingOptions } from "./timing.ts";

export const ORT_REFERENCE_NAME = "onnxruntime-node (CPU, 1 thread)";

/**
 * One intra-op and one inter-op thread, because a Convex action gets one
 * core and a fair fight is one core each; sequential execution (the graph is
 * a chain); every graph optimisation. No other option changed the time
 * measurably (docs/performance.md).
 */
export const ORT_SESSION_OPTIONS: InferenceSession.SessionOptions = {
  executionProviders: ["cpu"],
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: "sequential",
  graphOptimizationLevel: "all",
};

export async function createOrtSession(model: MlpModel): Promise<InferenceSession> {
  return InferenceSession.create(encodeMlpOnnx(model), ORT_SESSION_OPTIONS);
}

/** The reference's logits for `count` prepared input rows. */
export async function runOrtLogits(session: InferenceSession, inputs: Float32Array, count: number, dim: number): Promise<Float32Array> {
  const outputs = await session.run({ [MLP_ONNX_INPUT]: new Tensor("float32", inputs, [count, dim]) });
  return outputs[MLP_ONNX_OUTPUT].data as Float32Array;
}

/** The reference's probabilities for `count` raw feature rows: prepared, run, and the output activation applied. */
export async function runOrtProbabilities(session: InferenceSession, model: MlpModel, features: ArrayLike<number>, count: number): Promise<Float64Array> {
  const dim = model.layers[0].inDim;
  const logits = await runOrtLogits(session, referenceInputs(model, features, count), count, dim);
  return referenceProbabilities(logits, model.layers[model.layers.length - 1].outDim, model.outputActivation);
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cannot compare outputs of different lengths (${a.length} vs ${b.length})`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** The kernels measurable here, fastest first: each WebAssembly build the runtime accepts, then JavaScript. */
export function measurableKernels(): MlpKernel[] {
  const kernels: MlpKernel[] = [];
  for (const kernel of ["wasm-relaxed", "wasm"] as const) {
    try {
      setMlpKernel(kernel);
      kernels.push(kernel);
    } catch {
      // Not available in this runtime; the figures say which kernels ran.
    }
  }
  setMlpKernel("auto");
  return [...kernels, "js"];
}

/** Figure ids keep their historical names for the plain SIMD kernel; the others get a suffix. */
export function kernelIdSuffix(kernel: MlpKernel): string {
  return { "wasm-relaxed": "Relaxed", wasm: "", js: "Js" }[kernel];
}

export function kernelName(kernel: MlpKernel): string {
  return { "wasm-relaxed": "WebAssembly relaxed SIMD", wasm: "WebAssembly SIMD", js: "JavaScript" }[kernel];
}

const kernelNotes: Record<MlpKernel, string> = {
  "wasm-relaxed": "the engine's default where the runtime has relaxed SIMD (V8 11.4 and later: Node 22+, and the V8 of Convex's open-source backend)",
  wasm: "the engine's default where WebAssembly has SIMD but not relaxed SIMD (Node 20 without --experimental-wasm-relaxed-simd)",
  js: "the engine's fallback where WebAssembly is not allowed",
};

/** Runs `measure` with the engine forced onto `kernel`, restoring the automatic choice afterwards. */
async function withKernel<T>(kernel: MlpKernel, measure: () => Promise<T>): Promise<T> {
  setMlpKernel(kernel);
  try {
    return await measure();
  } finally {
    setMlpKernel("auto");
  }
}

export interface ForwardStageOptions {
  bench: BenchModel;
  batchSize: number;
  timing: TimingOptions;
}

export async function measureForward({ bench, batchSize, timing }: ForwardStageOptions): Promise<BenchFigure[]> {
  const { model } = bench;
  const dim = model.layers[0].inDim;
  const session = await createOrtSession(model);
  try {
    const one = benchFeatures(1, dim, 1);
    const batch = benchFeatures(batchSize, dim, 2);
    const oneTensor = new Tensor("float32", referenceInputs(model, one, 1), [1, dim]);
    const batchTensor = new Tensor("float32", referenceInputs(model, batch, batchSize), [batchSize, dim]);
    const referenceOne = await runOrtProbabilities(session, model, one, 1);
    const referenceBatch = await runOrtProbabilities(session, model, batch, batchSize);
    const shapeNote = `${bench.shape} (${bench.parameterCount.toLocaleString("en-US")} parameters)`;
    const figures: BenchFigure[] = [];
    const kernels = measurableKernels();
    for (const kernel of kernels) {
      await withKernel(kernel, async () => {
        const differenceOne = maxAbsDifference(mlpForward(model, one).probabilities, referenceOne);
        const differenceBatch = maxAbsDifference(mlpProbabilitiesBatch(model, batch, batchSize), referenceBatch);
        const single = await comparePaired(
          () => mlpForward(model, one),
          () => session.run({ [MLP_ONNX_INPUT]: oneTensor }),
          timing,
        );
        const batched = await comparePaired(
          () => mlpProbabilitiesBatch(model, batch, batchSize),
          () => session.run({ [MLP_ONNX_INPUT]: batchTensor }),
          timing,
        );
        figures.push(
          makeFigure({
            id: `forward.single${kernelIdSuffix(kernel)}`,
            label: `MLP forward, 1 vector, ${bench.shape}, ${kernelName(kernel)} kernel`,
            subject: { name: `mlpForward (${kernel})`, ms: single.subject.medianMs },
            reference: { name: ORT_REFERENCE_NAME, ms: single.reference.medianMs },
            ratio: single.ratio,
            target: { kind: "maxRatio", value: 2 },
            values: { maxAbsDifference: differenceOne, callsPerTrial: single.subject.callsPerTrial, trials: single.subject.trials },
            notes: [
              `model ${shapeNote}; ${kernelName(kernel)} kernel, ${kernelNotes[kernel]}; the reference's time includes session.run's per-call overhead, as a caller would pay it`,
            ],
          }),
          makeFigure({
            id: `forward.batch${kernelIdSuffix(kernel)}`,
            label: `MLP forward, batch of ${batchSize}, per vector, ${kernelName(kernel)} kernel`,
            subject: { name: `mlpProbabilitiesBatch (${kernel})`, ms: batched.subject.medianMs / batchSize },
            reference: { name: ORT_REFERENCE_NAME, ms: batched.reference.medianMs / batchSize },
            ratio: batched.ratio,
            target: { kind: "maxRatio", value: 3 },
            values: {
              maxAbsDifference: differenceBatch,
              batchMs: batched.subject.medianMs,
              referenceBatchMs: batched.reference.medianMs,
              trials: batched.subject.trials,
            },
            notes: [`max abs difference over all ${batchSize}×${model.classes.length} probabilities`],
          }),
        );
      });
    }
    figures[0].notes.push(
      `reference: torch.onnx.export's graph (Gemm transB=1 + Relu, opset 14) on prepared inputs, returning logits; the engine's time also covers ${model.input.normalize === "l2" ? "L2 normalisation and " : ""}the ${model.outputActivation} output`,
    );
    if (!kernels.some((kernel) => kernel !== "js")) figures[0].notes.push("WebAssembly is not available in this runtime, so only the JavaScript kernel was measured");
    return figures;
  } finally {
    await session.release();
  }
}

export interface ScalingStageOptions {
  models: Array<{ key: string; bench: BenchModel }>;
  batchSizes: readonly number[];
  timing: TimingOptions;
}

/**
 * Cost per vector as the batch and the model grow, engine against
 * onnxruntime-node at each point: the table docs/performance.md shows.
 * Batch 1 goes through mlpForward (the classify path), larger batches
 * through mlpProbabilitiesBatch (the replay path).
 */
export async function measureScaling({ models, batchSizes, timing }: ScalingStageOptions): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  const kernels = measurableKernels();
  for (const { key, bench } of models) {
    const { model } = bench;
    const dim = model.layers[0].inDim;
    const session = await createOrtSession(model);
    try {
      for (const kernel of kernels) {
        await withKernel(kernel, async () => {
          for (const batchSize of batchSizes) {
            const features = benchFeatures(batchSize, dim, 9);
            const tensor = new Tensor("float32", referenceInputs(model, features, batchSize), [batchSize, dim]);
            const engine = batchSize === 1 ? () => mlpForward(model, features) : () => mlpProbabilitiesBatch(model, features, batchSize);
            const paired = await comparePaired(engine, () => session.run({ [MLP_ONNX_INPUT]: tensor }), timing);
            figures.push(
              makeFigure({
                id: `scaling.${key}B${batchSize}${kernelIdSuffix(kernel)}`,
                label: `${bench.shape}, batch ${batchSize}, per vector, ${kernelName(kernel)} kernel`,
                subject: { name: `${batchSize === 1 ? "mlpForward" : "mlpProbabilitiesBatch"} (${kernel})`, ms: paired.subject.medianMs / batchSize },
                reference: { name: ORT_REFERENCE_NAME, ms: paired.reference.medianMs / batchSize },
                ratio: paired.ratio,
                values: { batchSize, parameters: bench.parameterCount, callMs: paired.subject.medianMs, referenceCallMs: paired.reference.medianMs },
              }),
            );
          }
        });
      }
    } finally {
      await session.release();
    }
  }
  return figures;
}
