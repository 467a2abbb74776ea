/**
 * Stage 1: the project's MLP engine against onnxruntime-node (CPU, one
 * thread) on the same weights, for one vector and for a batch, with each of
 * the engine's kernels: WebAssembly SIMD (what runs wherever WebAssembly is
 * allowed) and the JavaScript fallback.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { activeMlpKernel, mlpForward, mlpProbabilitiesBatch, setMlpKernel } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { makeFigure, type BenchFigure } from "./figures.ts";
import { encodeMlpOnnx, MLP_ONNX_INPUT, MLP_ONNX_OUTPUT } from "./mlpOnnxGraph.ts";
import { comparePaired, type TimingOptions } from "./timing.ts";

export const ORT_REFERENCE_NAME = "onnxruntime-node (CPU, 1 thread)";

/** One intra-op and one inter-op thread: a Convex action gets one core, and a fair fight is one core each. */
export async function createOrtSession(model: MlpModel): Promise<InferenceSession> {
  return InferenceSession.create(encodeMlpOnnx(model), {
    executionProviders: ["cpu"],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
  });
}

export async function runOrt(session: InferenceSession, features: Float32Array, count: number, dim: number): Promise<Float32Array> {
  const outputs = await session.run({ [MLP_ONNX_INPUT]: new Tensor("float32", features, [count, dim]) });
  return outputs[MLP_ONNX_OUTPUT].data as Float32Array;
}

export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cannot compare outputs of different lengths (${a.length} vs ${b.length})`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

export type EngineKernel = "wasm" | "js";

/** The kernels measurable here: both where WebAssembly works, else only JavaScript. */
export function measurableKernels(): EngineKernel[] {
  setMlpKernel("auto");
  return activeMlpKernel() === "wasm" ? ["wasm", "js"] : ["js"];
}

/** Figure ids keep their historical names for the WebAssembly kernel; the JavaScript kernel's get a "Js" suffix. */
function kernelIdSuffix(kernel: EngineKernel): string {
  return kernel === "wasm" ? "" : "Js";
}

function kernelName(kernel: EngineKernel): string {
  return kernel === "wasm" ? "WebAssembly SIMD" : "JavaScript";
}

/** Runs `measure` with the engine forced onto `kernel`, restoring the automatic choice afterwards. */
async function withKernel<T>(kernel: EngineKernel, measure: () => Promise<T>): Promise<T> {
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
    const oneTensor = new Tensor("float32", one, [1, dim]);
    const batchTensor = new Tensor("float32", batch, [batchSize, dim]);
    const referenceOne = await runOrt(session, one, 1, dim);
    const referenceBatch = await runOrt(session, batch, batchSize, dim);
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
        const kernelNote = kernel === "wasm" ? "the engine's default wherever WebAssembly is allowed" : "the engine's fallback where WebAssembly is not allowed";
        figures.push(
          makeFigure({
            id: `forward.single${kernelIdSuffix(kernel)}`,
            label: `MLP forward, 1 vector, ${bench.shape}, ${kernelName(kernel)} kernel`,
            subject: { name: `mlpForward (${kernel})`, ms: single.subject.medianMs },
            reference: { name: ORT_REFERENCE_NAME, ms: single.reference.medianMs },
            ratio: single.ratio,
            target: { kind: "maxRatio", value: 2 },
            values: { maxAbsDifference: differenceOne, callsPerTrial: single.subject.callsPerTrial, trials: single.subject.trials },
            notes: [`model ${shapeNote}; ${kernelName(kernel)} kernel, ${kernelNote}; the reference's time includes session.run's per-call overhead, as a caller would pay it`],
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
    if (!kernels.includes("wasm")) figures[0].notes.push("WebAssembly is not available in this runtime, so only the JavaScript kernel was measured");
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
            const tensor = new Tensor("float32", features, [batchSize, dim]);
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
