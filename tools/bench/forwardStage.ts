/**
 * Stage 1: the project's MLP engine against onnxruntime-node (CPU, one
 * thread) on the same weights, for one vector and for a batch.
 */
import { InferenceSession, Tensor } from "onnxruntime-node";
import { mlpForward, mlpProbabilitiesBatch } from "../../convex/lib/mlpForward.ts";
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

    const engineOne = mlpForward(model, one).probabilities;
    const engineBatch = mlpProbabilitiesBatch(model, batch, batchSize);
    const differenceOne = maxAbsDifference(engineOne, await runOrt(session, one, 1, dim));
    const differenceBatch = maxAbsDifference(engineBatch, await runOrt(session, batch, batchSize, dim));

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
    const shapeNote = `${bench.shape} (${bench.parameterCount.toLocaleString("en-US")} parameters)`;
    return [
      makeFigure({
        id: "forward.single",
        label: `MLP forward, 1 vector, ${bench.shape}`,
        subject: { name: "mlpForward", ms: single.subject.medianMs },
        reference: { name: ORT_REFERENCE_NAME, ms: single.reference.medianMs },
        ratio: single.ratio,
        target: { kind: "maxRatio", value: 2 },
        values: { maxAbsDifference: differenceOne, callsPerTrial: single.subject.callsPerTrial, trials: single.subject.trials },
        notes: [`model ${shapeNote}; the reference's time includes session.run's per-call overhead, as a caller would pay it`],
      }),
      makeFigure({
        id: "forward.batch",
        label: `MLP forward, batch of ${batchSize}, per vector`,
        subject: { name: "mlpProbabilitiesBatch", ms: batched.subject.medianMs / batchSize },
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
    ];
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
  for (const { key, bench } of models) {
    const { model } = bench;
    const dim = model.layers[0].inDim;
    const session = await createOrtSession(model);
    try {
      for (const batchSize of batchSizes) {
        const features = benchFeatures(batchSize, dim, 9);
        const tensor = new Tensor("float32", features, [batchSize, dim]);
        const engine = batchSize === 1 ? () => mlpForward(model, features) : () => mlpProbabilitiesBatch(model, features, batchSize);
        const paired = await comparePaired(engine, () => session.run({ [MLP_ONNX_INPUT]: tensor }), timing);
        figures.push(
          makeFigure({
            id: `scaling.${key}B${batchSize}`,
            label: `${bench.shape}, batch ${batchSize}, per vector`,
            subject: { name: batchSize === 1 ? "mlpForward" : "mlpProbabilitiesBatch", ms: paired.subject.medianMs / batchSize },
            reference: { name: ORT_REFERENCE_NAME, ms: paired.reference.medianMs / batchSize },
            ratio: paired.ratio,
            values: { batchSize, parameters: bench.parameterCount, callMs: paired.subject.medianMs, referenceCallMs: paired.reference.medianMs },
          }),
        );
      }
    } finally {
      await session.release();
    }
  }
  return figures;
}
