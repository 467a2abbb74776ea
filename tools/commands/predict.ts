import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { checkFeatures } from "../../convex/lib/features.ts";
import { parseJson } from "../../convex/lib/jsonText.ts";
import { mlpForwardBatch, type MlpPrediction } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, readUserFile } from "../weightsFile.ts";

export interface FeatureRows {
  /** count × dim, row-major. */
  features: Float32Array;
  count: number;
  /** 1-based line number of each row in the file. */
  lineNumbers: number[];
}

/** More bad lines than this are counted, not listed. */
const LISTED_BAD_LINES = 10;

/**
 * Parses FEATURES.jsonl: each non-blank line is a JSON array of numbers or an
 * object with a `features` array. Every bad line is collected before failing,
 * so one run shows them all.
 */
export function parseFeatureLines(text: string, dim: number, fileLabel: string): FeatureRows {
  const lines = text.split(/\r?\n/);
  const problems: string[] = [];
  const rows: number[][] = [];
  const lineNumbers: number[] = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const lineNumber = index + 1;
    const parsed = parseJson(line);
    if (!parsed.ok) {
      problems.push(`line ${lineNumber}: not valid JSON (column ${parsed.error.column}: ${parsed.error.message.replace(/^line \d+, column \d+: /, "")})`);
      return;
    }
    const value = parsed.value;
    const features = Array.isArray(value) ? value : typeof value === "object" && value !== null && Object.prototype.hasOwnProperty.call(value, "features") ? (value as { features: unknown }).features : undefined;
    if (features === undefined) {
      problems.push(`line ${lineNumber}: expected a JSON array of ${dim} numbers or an object with a "features" array`);
      return;
    }
    const problem = checkFeatures(features, dim);
    if (problem) {
      problems.push(`line ${lineNumber}: ${problem}`);
      return;
    }
    rows.push(features as number[]);
    lineNumbers.push(lineNumber);
  });
  if (problems.length === 1) throw new CliError(`${fileLabel} ${problems[0]}`);
  if (problems.length > 0) {
    const listed = problems.slice(0, LISTED_BAD_LINES);
    const more = problems.length - listed.length;
    throw new CliError(`${fileLabel}: ${problems.length} bad line${problems.length === 1 ? "" : "s"}:\n  ${listed.join("\n  ")}${more > 0 ? `\n  … and ${more} more` : ""}`);
  }
  if (rows.length === 0) throw new CliError(`${fileLabel} has no feature lines; expected one JSON array of ${dim} numbers per line`);
  const packed = new Float32Array(rows.length * dim);
  rows.forEach((row, r) => packed.set(row, r * dim));
  return { features: packed, count: rows.length, lineNumbers };
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
