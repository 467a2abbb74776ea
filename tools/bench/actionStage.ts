/**
 * Stage 3: the whole `classifications.classify` action under convex-test
 * (active-version query, access checks + rate limit mutation, weights query,
 * decode, forward pass, result mutation) against the same action loading the
 * weights as JSON.
 *
 * The baseline swaps exactly two of the action's steps (the
 * `weightsSource` seams): `readBytes` reads the canonical JSON file
 * stored beside the binary, and `decode` checks its sha256 (as the binary
 * path checks the registered hash) and runs `JSON.parse` + `toMlpModel`.
 * Everything else, including convex-test's own overhead, is identical, so
 * the ratio understates what JSON costs next to a real deployment's much
 * cheaper in-memory steps; the in-action step times are reported too.
 */
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { classificationSteps } from "../../convex/classifications.ts";
import { weightsSource } from "../../convex/model/weights.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { sha256Hex } from "../../convex/lib/weightsBinary.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";
import { createBenchBackend, storeBenchVersion, type BenchBackend } from "./benchBackend.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { readsOf } from "../convexTest/transactionReads.ts";
import { makeFigure, readsPerItem, type BenchFigure } from "./figures.ts";
import { comparePaired, median, type TimingOptions } from "./timing.ts";

type StepOverrides = Pick<typeof weightsSource, "readBytes" | "decode"> & Pick<typeof classificationSteps, "score">;

export interface ActionStageOptions {
  bench: BenchModel;
  timing: TimingOptions;
}

/** Per-call time spent inside the weights steps (read + sha256 check + decode + forward), collected by wrapping them. */
class StepClock {
  private readonly samples: number[] = [];
  private current = 0;
  calls = 0;

  wrap(steps: StepOverrides): StepOverrides {
    const clock = this;
    return {
      async readBytes(ctx, version) {
        const started = performance.now();
        try {
          return await steps.readBytes(ctx, version);
        } finally {
          clock.current += performance.now() - started;
        }
      },
      async decode(bytes, version) {
        const started = performance.now();
        try {
          return await steps.decode(bytes, version);
        } finally {
          clock.current += performance.now() - started;
        }
      },
      score(model, features) {
        const started = performance.now();
        try {
          return steps.score(model, features);
        } finally {
          clock.samples.push(clock.current + performance.now() - started);
          clock.current = 0;
          clock.calls += 1;
        }
      },
    };
  }

  medianMs(): number {
    return this.samples.length === 0 ? Number.NaN : median(this.samples);
  }
}

async function recordBenchPicture(backend: BenchBackend): Promise<Id<"pictures">> {
  return backend.callers[0].mutation(api.pictures.record, { fileName: "bench.jpg", contentType: "image/jpeg" });
}

export async function measureClassificationAction({ bench, timing }: ActionStageOptions): Promise<BenchFigure[]> {
  const backend = await createBenchBackend();
  const stored = await storeBenchVersion(backend, bench, { activate: true });
  const pictureId = await recordBenchPicture(backend);
  const clipFeatures = Array.from(benchFeatures(1, bench.model.layers[0].inDim, 3));
  const jsonSha256 = await sha256Hex(new TextEncoder().encode(bench.jsonText));

  const original: StepOverrides = { readBytes: weightsSource.readBytes, decode: weightsSource.decode, score: classificationSteps.score };
  const jsonSteps: StepOverrides = {
    ...original,
    async readBytes(ctx) {
      const blob = await ctx.storage.get(stored.jsonStorageId);
      if (blob === null) throw new Error(`the benchmark's JSON weights file ${stored.jsonStorageId} is missing from storage`);
      return new Uint8Array(await blob.arrayBuffer());
    },
    // The same integrity check the binary path makes (sha256 against the registered hash), on the JSON bytes.
    async decode(bytes) {
      if ((await sha256Hex(bytes)) !== jsonSha256) throw new Error("the benchmark's JSON weights file does not match its sha256");
      return toMlpModel(JSON.parse(new TextDecoder().decode(bytes)) as CanonicalWeights);
    },
  };
  const binaryClock = new StepClock();
  const jsonClock = new StepClock();
  const binaryTimed = binaryClock.wrap(original);
  const jsonTimed = jsonClock.wrap(jsonSteps);

  const classify = async (steps: StepOverrides) => {
    weightsSource.readBytes = steps.readBytes;
    weightsSource.decode = steps.decode;
    classificationSteps.score = steps.score;
    return backend.nextCaller().action(api.classifications.classify, { pictureId, clipFeatures });
  };
  try {
    // One untimed call with the production steps, for what a classification reads.
    const { reads } = await readsOf(() => classify(original));
    const paired = await comparePaired(() => classify(binaryTimed), () => classify(jsonTimed), timing);
    // The seams must be the ones convex-test runs, or the "baseline" would silently be the binary path.
    if (binaryClock.calls === 0 || jsonClock.calls === 0) {
      throw new Error("classificationSteps overrides were not used by the action under convex-test (module loaded twice?); the comparison would be meaningless");
    }
    return [
      makeFigure({
        id: "action.classify",
        label: `classifyImageFeatures in convex-test, ${bench.shape}`,
        subject: { name: "action, .mlpw binary", ms: paired.subject.medianMs },
        reference: { name: "same action, weights as JSON", ms: paired.reference.medianMs },
        ratio: paired.ratio,
        target: { kind: "minSpeedup", value: 10 },
        values: {
          binaryWeightStepsMs: binaryClock.medianMs(),
          jsonWeightStepsMs: jsonClock.medianMs(),
          weightStepsSpeedup: jsonClock.medianMs() / binaryClock.medianMs(),
          callsPerTrial: paired.subject.callsPerTrial,
          trials: paired.subject.trials,
        },
        reads: readsPerItem(reads, "classification", 1),
        notes: [
          "both sides run the full action: runQuery(activeVersion), begin mutation (auth, rate limit), the weights read (binary: chunk documents through an internal query, which a deployment caches; JSON: the storage file), decode, forward, storeResult mutation",
          "reads: the binary path's, in convex-test, which re-reads the weights chunks on every call where a deployment serves the cached query",
          `inside the action, weights read + check + decode + forward take ${binaryClock.medianMs().toFixed(2)} ms (binary) vs ${jsonClock.medianMs().toFixed(2)} ms (JSON): ${(jsonClock.medianMs() / binaryClock.medianMs()).toFixed(1)}× faster`,
          "the rest of each call is convex-test's in-process function and transaction machinery, the same on both sides",
        ],
      }),
    ];
  } finally {
    weightsSource.readBytes = original.readBytes;
    weightsSource.decode = original.decode;
    classificationSteps.score = original.score;
  }
}
