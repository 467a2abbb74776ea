/**
 * Stage 4: replay throughput. First the replay's batch scoring step
 * (`replaySteps.score` on one chunk) against onnxruntime-node on the same
 * chunk; then a whole replay through `replays.start` under convex-test
 * (paging stored classifications, decoding once per chunk, scoring, storing
 * shadow results, scheduling the next chunk) against that scoring alone.
 */
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { REPLAY_CHUNK_SIZE, replaySteps } from "../../convex/replays.ts";
import { storeFeatures } from "../../convex/model/features.ts";
import { createBenchBackend, storeBenchVersion, type BenchBackend } from "./benchBackend.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { readsOf, summarizeTransactions, type CallReads } from "../convexTest/transactionReads.ts";
import { makeFigure, readsPerItem, type BenchFigure } from "./figures.ts";
import { createOrtSession, ORT_REFERENCE_NAME } from "./forwardStage.ts";
import { MLP_ONNX_INPUT } from "./mlpOnnxGraph.ts";
import { comparePaired, median, type TimingOptions } from "./timing.ts";
import { Tensor } from "onnxruntime-node";

export interface ReplayStageOptions {
  bench: BenchModel;
  timing: TimingOptions;
  /** Classifications re-scored per end-to-end replay; 0 skips the end-to-end figure. */
  endToEndCount: number;
  endToEndRuns: number;
}

/**
 * Live classifications written straight into the tables, as storeResult
 * leaves them (minus counters, which replays and History do not read); the
 * predicted class cycles through the model's classes.
 */
export async function seedLiveClassifications(backend: BenchBackend, versionId: Id<"modelVersions">, bench: BenchModel, count: number): Promise<void> {
  const dim = bench.model.layers[0].inDim;
  const classCount = bench.model.classes.length;
  const features = benchFeatures(count, dim, 11);
  const uploaderId = backend.callerIds[0];
  const perTransaction = 250;
  for (let start = 0; start < count; start += perTransaction) {
    await backend.t.run(async (ctx) => {
      for (let i = start; i < Math.min(count, start + perTransaction); i++) {
        const row = Array.from(features.subarray(i * dim, (i + 1) * dim));
        const pictureId = await ctx.db.insert("pictures", {
          uploaderId, fileName: `replay-${i}.jpg`, contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: false,
        });
        const featuresId = await storeFeatures(ctx, row, pictureId);
        const probabilities = Array.from({ length: classCount }, () => 1 / classCount);
        const labelIndex = i % classCount;
        const label = bench.model.classes[labelIndex];
        const classificationId = await ctx.db.insert("classifications", {
          pictureId, versionId, versionNumber: 1, probabilities, labelIndex, label, confidence: probabilities[labelIndex], featuresId, day: "2026-11-01", current: true,
        });
        await ctx.db.patch(pictureId, { featuresId, latestClassificationId: classificationId, label, confidence: probabilities[labelIndex], versionId, classLabel: label });
      }
    });
  }
}

async function waitForReplay(backend: BenchBackend, replayId: Id<"replays">, timeoutMs: number): Promise<{ processed: number }> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    // convex-test counts polls, not chunks, against this bound; a 10,000-vector replay is 50 chunks but many more polls.
    await backend.t.finishAllScheduledFunctions(() => undefined, 100_000);
    const replay = await backend.t.run((ctx) => ctx.db.get(replayId));
    if (replay === null) throw new Error(`replay ${replayId} vanished`);
    if (replay.status === "failed") throw new Error(`the benchmark replay failed: ${replay.error ?? "no reason given"}`);
    if (replay.status === "done") return { processed: replay.processed };
    if (performance.now() > deadline) throw new Error(`the benchmark replay had processed ${replay.processed} items after ${timeoutMs} ms; giving up`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs whole replays of `count` classifications; returns the median milliseconds per replay and what the last run read. */
export async function timeEndToEndReplay(bench: BenchModel, count: number, runs: number): Promise<{ medianMs: number; processed: number; reads: CallReads }> {
  const backend = await createBenchBackend(2);
  const live = await storeBenchVersion(backend, bench, { activate: true });
  const candidate = await storeBenchVersion(backend, bench, { activate: false });
  await seedLiveClassifications(backend, live.versionId, bench, count);
  const admin = backend.callers[0];
  if (!(runs >= 1)) throw new Error(`timeEndToEndReplay needs at least one run, got ${runs}`);
  const samples: number[] = [];
  let processed = 0;
  let reads: CallReads = summarizeTransactions([]);
  const replay = async () => {
    const replayId = await admin.mutation(api.replays.start, { versionId: candidate.versionId, filter: {} });
    return waitForReplay(backend, replayId, 600_000);
  };
  // Every timed run tracks its reads (a metrics read per transaction, next to nothing beside convex-test's
  // own work), so a 10,000-vector replay runs once rather than once more just to be measured.
  for (let run = 0; run < runs; run++) {
    const started = performance.now();
    const measured = await readsOf(replay);
    samples.push(performance.now() - started);
    ({ processed } = measured.result);
    reads = measured.reads;
    if (processed !== count) throw new Error(`the benchmark replay re-scored ${processed} classifications, expected ${count}`);
  }
  return { medianMs: median(samples), processed, reads };
}

export async function measureReplay({ bench, timing, endToEndCount, endToEndRuns }: ReplayStageOptions): Promise<BenchFigure[]> {
  const { model } = bench;
  const dim = model.layers[0].inDim;
  const chunk = REPLAY_CHUNK_SIZE;
  const features = benchFeatures(chunk, dim, 5);
  // The replay hands the scorer the stored (float64) feature values.
  const storedFeatures = Float64Array.from(features);
  const session = await createOrtSession(model);
  let scoring;
  try {
    const tensor = new Tensor("float32", features, [chunk, dim]);
    scoring = await comparePaired(
      () => replaySteps.score(model, storedFeatures, chunk),
      () => session.run({ [MLP_ONNX_INPUT]: tensor }),
      timing,
    );
  } finally {
    await session.release();
  }
  const scoringPerVector = scoring.subject.medianMs / chunk;
  const figures: BenchFigure[] = [
    makeFigure({
      id: "replay.scoring",
      label: `Replay scoring step, chunk of ${chunk}, per vector`,
      subject: { name: "replaySteps.score (mlpForwardBatch)", ms: scoringPerVector },
      reference: { name: ORT_REFERENCE_NAME, ms: scoring.reference.medianMs / chunk },
      ratio: scoring.ratio,
      values: { vectorsPerSecond: 1000 / scoringPerVector, referenceVectorsPerSecond: (1000 * chunk) / scoring.reference.medianMs, trials: scoring.subject.trials },
      notes: [`${Math.round(1000 / scoringPerVector).toLocaleString("en-US")} vectors/s; includes building one prediction object per row, as the replay stores them`],
    }),
  ];
  if (endToEndCount > 0) {
    const endToEnd = await timeEndToEndReplay(bench, endToEndCount, endToEndRuns);
    const perVector = endToEnd.medianMs / endToEnd.processed;
    figures.push(
      makeFigure({
        id: "replay.endToEnd",
        label: `replay.reclassify in convex-test, ${endToEnd.processed} classifications, per vector`,
        subject: { name: "whole replay (chunks of 200)", ms: perVector },
        reference: { name: "its scoring step alone", ms: scoringPerVector },
        values: { vectorsPerSecond: 1000 / perVector, replayMs: endToEnd.medianMs, runs: endToEndRuns },
        reads: readsPerItem(endToEnd.reads, "vector", endToEnd.processed),
        notes: [
          `${Math.round(1000 / perVector).toLocaleString("en-US")} vectors/s end to end; the rest is convex-test paging, storing shadow rows and scheduling`,
        ],
      }),
    );
  }
  return figures;
}
