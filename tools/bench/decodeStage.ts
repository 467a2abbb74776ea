/**
 * Stage 2: decoding the stored `.mlpw` binary against `JSON.parse` of the
 * canonical JSON, the cost every classify call pays before it can run.
 */
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { decodeWeights } from "../../convex/lib/weightsBinary.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";
import type { BenchModel } from "./benchModels.ts";
import { makeFigure, type BenchFigure, type Target } from "./figures.ts";
import { comparePaired, type TimingOptions } from "./timing.ts";

export interface DecodeStageOptions {
  /** The models to decode; the first one gets the ≤ 0.5 ms target (the product's 512→256→128→12). */
  models: Array<{ key: string; bench: BenchModel; target?: Target }>;
  timing: TimingOptions;
}

export async function measureDecode({ models, timing }: DecodeStageOptions): Promise<BenchFigure[]> {
  const figures: BenchFigure[] = [];
  for (const { key, bench, target } of models) {
    const paired = await comparePaired(
      () => decodeWeights(bench.binary),
      () => JSON.parse(bench.jsonText),
      timing,
    );
    // What a JSON-loading server would really need: parsed text turned into typed arrays to run.
    // Paired with JSON.parse alone, so the conversion's share is measured under the same load.
    const conversion = await comparePaired(
      () => toMlpModel(JSON.parse(bench.jsonText) as CanonicalWeights),
      () => JSON.parse(bench.jsonText),
      { ...timing, trials: Math.max(3, Math.ceil(timing.trials / 3)) },
    );
    const parseAndConvertMs = paired.reference.medianMs * conversion.ratio;
    figures.push(
      makeFigure({
        id: `decode.${key}`,
        label: `Weight decode, ${bench.shape} (${(bench.parameterCount / 1e6).toFixed(2)} M parameters)`,
        subject: { name: "decodeWeights(.mlpw)", ms: paired.subject.medianMs },
        reference: { name: "JSON.parse(canonical JSON)", ms: paired.reference.medianMs },
        ratio: paired.ratio,
        target,
        values: {
          binaryBytes: bench.binary.byteLength,
          jsonBytes: new TextEncoder().encode(bench.jsonText).byteLength,
          jsonParseAndConvertMs: parseAndConvertMs,
          trials: paired.subject.trials,
        },
        notes: [
          "decodeWeights validates the header and returns Float32Array views (no copy); JSON.parse alone, before any conversion, is the reference",
          `JSON.parse + toMlpModel (what a JSON-loading action needs before it can run): about ${parseAndConvertMs.toFixed(2)} ms (${conversion.ratio.toFixed(2)}× JSON.parse alone)`,
        ],
      }),
    );
  }
  return figures;
}
