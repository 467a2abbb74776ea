import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { checkFeatures } from "../../convex/lib/features.ts";
import { mlpForwardBatch, type MlpPrediction } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, readUserFile } from "../weightsFile.ts";
import { packFeatureRows, parseJsonLines } from "../jsonLines.ts";

export interface FeatureRows {
  /** count × dim, row-major. */
  features: Float32Array;
  count: number;
  /** 1-based line number of each row in the file. */
  lineNumbers: number[];
}

/**
 * Parses FEATURES.jsonl: each non-blank line is a JSON array of numbers or an
 * object with a `features` array. Every bad line is collected before failing,
 * so one run shows them all.
 */
export function parseFeatureLines(text: string, dim: number, fileLabel: string): FeatureRows {
  const { items, lineNumbers } = parseJsonLines(
    text,
    fileLabel,
    (value, report) => {
      const features = Array.isArray(value) ? value : typeof value === "object" && value !== null && Object.prototype.hasOwnProperty.call(value, "features") ? (value as { features: unknown }).features : undefined;
      if (features === undefined) {
        report(`expected a JSON array of ${dim} numbers or an object with a "features" array`);
        return null;
      }
      const problem = checkFeatures(features, dim);
      if (problem) {
        report(problem);
        return null;
      }
      return features as number[];
    },
    `feature lines; expected one JSON array of ${dim} numbers per line`,
  );
  return { features: packFeatureRows(items, dim), count: items.length, lineNumbers };
}

export function predictFeatureRows(model: MlpModel, rows: FeatureRows): MlpPrediction[] {
  return mlpForwardBatch(model, rows.features, rows.count);
}

export function formatPredictionLine(prediction: MlpPrediction): string {
  return JSON.stringify({ probabilities: prediction.probabilities, label: prediction.label, confidence: prediction.confidence });
}

export const command: CliCommand = {
  name: "predict",
  summary: "run the MLP on CLIP feature vectors (JSONL) and print probabilities per line",
  help: `usage: npm run mlp -- predict --weights FILE --features FEATURES.jsonl [import options]

Each non-blank line of FEATURES.jsonl is a JSON array of numbers or an object
with a "features" array (other keys, like "label", are ignored). Prints one
line per input line, in order:
  {"probabilities":[...],"label":"...","confidence":0.93}
Features go in raw: the weights' input.normalize setting is applied.
Weights may be canonical JSON, a bare PyTorch state_dict (JSON) or .mlpw.

${importOptionsHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { weights: { type: "string" }, features: { type: "string" }, ...importOptionSpecs });
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"; use --weights FILE --features FEATURES.jsonl`);
    if (!values.weights) throw new CliError("--weights FILE is required");
    if (!values.features) throw new CliError("--features FEATURES.jsonl is required");
    const loaded = await loadWeightsFile(values.weights, await importOptionsFrom(values));
    for (const warning of loaded.warnings) io.stderr(`warning: ${warning}`);
    const text = new TextDecoder().decode(await readUserFile(values.features, "features file"));
    const rows = parseFeatureLines(text, loaded.model.layers[0].inDim, values.features);
    for (const prediction of predictFeatureRows(loaded.model, rows)) io.stdout(formatPredictionLine(prediction));
    return 0;
  },
};
