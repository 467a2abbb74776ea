/**
 * Reading weights files for the `mlp` commands: canonical JSON, a bare
 * PyTorch state_dict as JSON, or the `.mlpw` binary (recognised by its magic
 * bytes, whatever the extension). Also the import options every command that
 * reads weights accepts.
 */
import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { CliError, type ParseOptions } from "./cliKit.ts";
import { toCanonicalWeights, toMlpModel } from "../convex/lib/mlpModel.ts";
import { WeightsDecodeError, decodeWeights, encodeWeights, looksLikeWeightsBinary, sha256Hex } from "../convex/lib/weightsBinary.ts";
import {
  featureNormalizations,
  hiddenActivations,
  outputActivations,
  type FeatureNormalization,
  type HiddenActivation,
  type MlpModel,
  type OutputActivation,
} from "../convex/lib/weightsFormat.ts";
import { importWeightsJson, importWeightsValue, type ImportOptions, type WeightsSource } from "../convex/lib/weightsImport.ts";
import type { WeightsProblem } from "../convex/lib/weightsValidation.ts";

export type WeightsFileSource = WeightsSource | "binary";

export type WeightsFileReading =
  | { ok: true; model: MlpModel; source: WeightsFileSource; warnings: string[]; binary: Uint8Array }
  | { ok: false; source: "binary" | "json"; problems: WeightsProblem[] };

export interface LoadedWeights {
  model: MlpModel;
  source: WeightsFileSource;
  /** sha256 of the binary encoding: the id a stored version would get. */
  sha256: string;
  /** The binary encoding (the file's own bytes when it was binary). */
  binary: Uint8Array;
  warnings: string[];
}

/** Bad weights: carries every problem; its message is one line. */
export class WeightsFileError extends CliError {
  constructor(
    readonly file: string,
    readonly problems: WeightsProblem[],
  ) {
    const first = problems[0]?.message ?? "unknown problem";
    super(
      problems.length === 1
        ? `${file}: ${first}`
        : `${file}: ${problems.length} problems, the first: ${first} (run \`npm run mlp -- validate ${file}\` to list them all)`,
    );
    this.name = "WeightsFileError";
  }
}

/** Reads a file the user named, turning "not found" and friends into one clear line. */
export async function readUserFile(path: string, what: string): Promise<Uint8Array> {
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new CliError(`${what} "${path}" is a directory, not a file`);
    return new Uint8Array(await readFile(path));
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CliError(`${what} "${path}" does not exist`);
    if (code === "EACCES") throw new CliError(`${what} "${path}" cannot be read (permission denied)`);
    throw new CliError(`cannot read ${what} "${path}": ${error instanceof Error ? error.message : String(error)}`);
  }
}

function hasOverrides(options: ImportOptions): boolean {
  return Object.values(options).some((value) => value !== undefined);
}

/** Reads and validates; bad weights come back as problems, a missing file throws CliError. */
export async function readWeightsFile(path: string, options: ImportOptions = {}): Promise<WeightsFileReading> {
  const bytes = await readUserFile(path, "weights file");
  if (looksLikeWeightsBinary(bytes)) {
    let model: MlpModel;
    try {
      model = decodeWeights(bytes);
    } catch (error) {
      if (error instanceof WeightsDecodeError) return { ok: false, source: "binary", problems: [{ path: "", message: error.message }] };
      throw error;
    }
    if (!hasOverrides(options)) return { ok: true, model, source: "binary", warnings: [], binary: bytes };
    // Overrides go through the canonical form so they are validated like any import.
    const result = importWeightsValue(toCanonicalWeights(model), options);
    if (!result.ok) return { ok: false, source: "binary", problems: result.problems };
    const overridden = toMlpModel(result.weights);
    return { ok: true, model: overridden, source: "binary", warnings: result.warnings, binary: encodeWeights(overridden) };
  }
  const text = new TextDecoder("utf-8").decode(bytes);
  const result = importWeightsJson(text, options);
  if (!result.ok) return { ok: false, source: "json", problems: result.problems };
  const model = toMlpModel(result.weights);
  return { ok: true, model, source: result.source, warnings: result.warnings, binary: encodeWeights(model) };
}

/** Reads weights in any accepted form or throws a CliError whose message is one line. */
export async function loadWeightsFile(path: string, options: ImportOptions = {}): Promise<LoadedWeights> {
  const reading = await readWeightsFile(path, options);
  if (!reading.ok) throw new WeightsFileError(path, reading.problems);
  return { model: reading.model, source: reading.source, sha256: await sha256Hex(reading.binary), binary: reading.binary, warnings: reading.warnings };
}

/** parseArgs options shared by every command that reads weights. */
export const importOptionSpecs = {
  name: { type: "string" },
  classes: { type: "string" },
  "input-dim": { type: "string" },
  "clip-model": { type: "string" },
  normalize: { type: "string" },
  "output-activation": { type: "string" },
  "hidden-activation": { type: "string" },
} as const satisfies ParseOptions;

export const importOptionsHelp = `import options (override what the file says; a bare state_dict otherwise gets
ReLU between layers, sigmoid-normalized output, input 512, class_0..class_N-1):
  --classes FILE|a,b,c        class names: a .json array or .txt file (one per line), or a comma list
  --name NAME                 model name
  --input-dim N               state_dict only: features the first layer takes (default 512)
  --clip-model ID             CLIP model id (default Xenova/clip-vit-base-patch32)
  --normalize none|l2         whether features are L2-normalised before the MLP (default none)
  --output-activation A       ${outputActivations.join(" | ")}
  --hidden-activation A       state_dict only: ${hiddenActivations.join(" | ")} (default relu)`;

type ImportOptionValues = { [K in keyof typeof importOptionSpecs]?: string };

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new CliError(`--${flag} must be one of ${allowed.join(", ")}; got "${value}"`);
  return value as T;
}

async function readClassList(value: string): Promise<string[]> {
  const looksLikeFile = /\.(json|txt)$/i.test(value) || value.includes("/") || value.includes("\\");
  if (!value.includes(",") && looksLikeFile) {
    const text = new TextDecoder().decode(await readUserFile(value, "class list"));
    if (extname(value).toLowerCase() === ".json") {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new CliError(`class list "${value}" is not valid JSON; expected an array of class names`);
      }
      if (!Array.isArray(parsed) || !parsed.every((name) => typeof name === "string")) {
        throw new CliError(`class list "${value}" must be a JSON array of strings`);
      }
      return parsed;
    }
    return text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line.length > 0);
  }
  return value.split(",").map((name) => name.trim());
}

export async function importOptionsFrom(values: ImportOptionValues): Promise<ImportOptions> {
  let inputDim: number | undefined;
  if (values["input-dim"] !== undefined) {
    inputDim = Number(values["input-dim"]);
    if (!Number.isSafeInteger(inputDim) || inputDim <= 0) throw new CliError(`--input-dim must be a positive integer; got "${values["input-dim"]}"`);
  }
  return {
    name: values.name,
    classes: values.classes === undefined ? undefined : await readClassList(values.classes),
    inputDim,
    clipModel: values["clip-model"],
    normalize: oneOf<FeatureNormalization>("normalize", values.normalize, featureNormalizations),
    outputActivation: oneOf<OutputActivation>("output-activation", values["output-activation"], outputActivations),
    hiddenActivation: oneOf<HiddenActivation>("hidden-activation", values["hidden-activation"], hiddenActivations),
  };
}
