import { parseJson } from "./jsonText.ts";
import {
  DEFAULT_CLIP_MODEL_ID,
  DEFAULT_FEATURE_DIM,
  WEIGHTS_FORMAT,
  WEIGHTS_FORMAT_VERSION,
  type CanonicalWeights,
  type FeatureNormalization,
  type HiddenActivation,
  type OutputActivation,
} from "./weightsFormat.ts";
import { canonicalWeightsSchema } from "./weightsSchema.ts";
import {
  MAX_LAYERS,
  NON_FINITE_TOKEN_PREFIX,
  capProblems,
  checkLayerChain,
  describeValue,
  isPlainObject,
  ownProperty,
  validateCanonicalWeights,
  type LayerSource,
  type WeightsProblem,
} from "./weightsValidation.ts";

/**
 * Import of what people actually export: the canonical JSON, or a bare
 * PyTorch state_dict dumped as JSON (`{"net.0.weight": [[...]], ...}`),
 * read in key order with the original design's conventions. Options
 * override each convention.
 */

export interface ImportOptions {
  name?: string;
  classes?: string[];
  /** state_dict only: the feature dim the first layer must accept (default 512). */
  inputDim?: number;
  clipModel?: string;
  normalize?: FeatureNormalization;
  outputActivation?: OutputActivation;
  /** state_dict only: the activation between Linear layers (default "relu"). */
  hiddenActivation?: HiddenActivation;
}

export type WeightsSource = "canonical" | "state_dict";

export type ImportResult =
  | { ok: true; weights: CanonicalWeights; source: WeightsSource; warnings: string[] }
  | { ok: false; problems: WeightsProblem[] };

export const STATE_DICT_DEFAULTS = {
  name: "imported-state-dict",
  inputDim: DEFAULT_FEATURE_DIM,
  clipModel: DEFAULT_CLIP_MODEL_ID,
  normalize: "none",
  outputActivation: "sigmoid-normalized",
  hiddenActivation: "relu",
} as const;

/** Keys a training script commonly wraps a state_dict in (`torch.save({"state_dict": ...})`). */
const STATE_DICT_WRAPPER_KEYS = ["state_dict", "model_state_dict", "model"];

export function importWeightsJson(text: string, options: ImportOptions = {}): ImportResult {
  if (text.trim() === "") return { ok: false, problems: [{ path: "", message: "the file is empty; expected weights as JSON" }] };
  const parsed = parseJson(text, { nonFiniteReplacementPrefix: NON_FINITE_TOKEN_PREFIX });
  if (!parsed.ok) return { ok: false, problems: [{ path: "", message: `invalid JSON at ${parsed.error.message}` }] };
  return importWeightsValue(parsed.value, options);
}

export function importWeightsValue(value: unknown, options: ImportOptions = {}): ImportResult {
  if (!isPlainObject(value)) {
    return { ok: false, problems: [{ path: "", message: `the weights document is ${describeValue(value)}; expected a JSON object (canonical weights or a PyTorch state_dict)` }] };
  }
  if (Object.prototype.hasOwnProperty.call(value, "layers") || Object.prototype.hasOwnProperty.call(value, "format")) {
    return importCanonical(value, options);
  }
  const wrapperKey = STATE_DICT_WRAPPER_KEYS.find((key) => {
    const inner = ownProperty(value, key);
    return Object.keys(value).length === 1 && isPlainObject(inner) && looksLikeStateDict(inner);
  });
  if (wrapperKey) {
    const result = importStateDict(ownProperty(value, wrapperKey) as Record<string, unknown>, options);
    if (result.ok) result.warnings.unshift(`read the state_dict inside "${wrapperKey}"`);
    return result;
  }
  if (looksLikeStateDict(value)) return importStateDict(value, options);
  const keys = Object.keys(value);
  return {
    ok: false,
    problems: [
      {
        path: "",
        message:
          `the document is neither canonical weights (no "format" or "layers") nor a PyTorch state_dict (no keys ending in ".weight" or ".bias"); ` +
          `found keys: ${keys.length ? keys.slice(0, 8).map((k) => JSON.stringify(k)).join(", ") + (keys.length > 8 ? ", …" : "") : "none"}`,
      },
    ],
  };
}

function looksLikeStateDict(value: Record<string, unknown>): boolean {
  return Object.keys(value).some((key) => key === "weight" || key === "bias" || key.endsWith(".weight") || key.endsWith(".bias"));
}

/** JSON for short scalars and string lists; a description otherwise (the value may be anything, even deeply nested). */
function shortJson(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? describeValue(value);
  if (Array.isArray(value) && value.length <= 50 && value.every((item) => typeof item === "string")) return JSON.stringify(value);
  return describeValue(value);
}

function importCanonical(value: Record<string, unknown>, options: ImportOptions): ImportResult {
  const warnings: string[] = [];
  let document: Record<string, unknown> = value;
  const overrides: Array<[string, unknown, unknown]> = [];
  if (options.name !== undefined) overrides.push(["name", ownProperty(value, "name"), options.name]);
  if (options.classes !== undefined) overrides.push(["classes", ownProperty(value, "classes"), options.classes]);
  if (options.outputActivation !== undefined) overrides.push(["outputActivation", ownProperty(value, "outputActivation"), options.outputActivation]);
  const input = ownProperty(value, "input");
  const inputOverrides: Record<string, unknown> = {};
  if (options.clipModel !== undefined) inputOverrides.clipModel = options.clipModel;
  if (options.normalize !== undefined) inputOverrides.normalize = options.normalize;
  if (overrides.length > 0 || Object.keys(inputOverrides).length > 0) {
    document = { ...value };
    for (const [key, previous, next] of overrides) {
      document[key] = next;
      if (shortJson(previous) !== shortJson(next)) warnings.push(`${key} overridden: ${shortJson(previous)} → ${shortJson(next)}`);
    }
    if (Object.keys(inputOverrides).length > 0) {
      document.input = isPlainObject(input) ? { ...input, ...inputOverrides } : inputOverrides;
      for (const [key, next] of Object.entries(inputOverrides)) {
        const previous = ownProperty(input, key);
        if (previous !== next) warnings.push(`input.${key} overridden: ${shortJson(previous)} → ${shortJson(next)}`);
      }
    }
  }
  if (options.inputDim !== undefined) warnings.push("inputDim applies to state_dict imports only; the canonical file's input.dim was kept");
  if (options.hiddenActivation !== undefined) warnings.push("hiddenActivation applies to state_dict imports only; the canonical file's layer activations were kept");

  const problems = validateCanonicalWeights(document);
  if (problems.length > 0) return { ok: false, problems };
  const weights = pickCanonical(document);
  const known = new Set(Object.keys(canonicalWeightsSchema.shape));
  const unknown = Object.keys(document).filter((key) => !known.has(key));
  if (unknown.length > 0) warnings.push(`ignored unknown top-level keys: ${unknown.map((k) => JSON.stringify(k)).join(", ")}`);
  warnings.push(...activationWarnings(weights));
  return { ok: true, weights, source: "canonical", warnings };
}

/**
 * The validated document's canonical fields, without unknown keys. Validation
 * already walked every number (with the schema as a safety net), so this
 * copies references instead of parsing a second time.
 */
function pickCanonical(document: Record<string, unknown>): CanonicalWeights {
  const valid = document as unknown as CanonicalWeights;
  return {
    format: valid.format,
    formatVersion: valid.formatVersion,
    name: valid.name,
    classes: valid.classes,
    input: { dim: valid.input.dim, clipModel: valid.input.clipModel, normalize: valid.input.normalize },
    layers: valid.layers.map((layer) => ({ weight: layer.weight, bias: layer.bias, activation: layer.activation })),
    outputActivation: valid.outputActivation,
  };
}

function activationWarnings(weights: CanonicalWeights): string[] {
  const last = weights.layers.length - 1;
  if (weights.layers[last].activation === "relu") {
    return [`layers[${last}].activation is "relu": the output layer's values are clipped at 0 before ${weights.outputActivation}; it is usually "none"`];
  }
  return [];
}

interface StateDictLayer {
  prefix: string;
  weightKey?: string;
  biasKey?: string;
}

function describeNonLinearKey(key: string): string {
  if (/(running_mean|running_var|num_batches_tracked)$/.test(key)) {
    return `${key} belongs to a BatchNorm layer, which cannot be imported; fold it into the preceding Linear layer or export an MLP of Linear layers only`;
  }
  return `${key} is not a Linear layer's weight or bias; only Linear layers (keys ending in ".weight" and ".bias") can be imported`;
}

function importStateDict(dict: Record<string, unknown>, options: ImportOptions): ImportResult {
  const problems: WeightsProblem[] = [];
  const groups = new Map<string, StateDictLayer>();
  for (const key of Object.keys(dict)) {
    const match = /^(?:(.*)\.)?(weight|bias)$/.exec(key);
    if (!match) {
      problems.push({ path: key, message: describeNonLinearKey(key) });
      continue;
    }
    const prefix = match[1] ?? "";
    const group = groups.get(prefix) ?? { prefix };
    groups.set(prefix, group);
    if (match[2] === "weight") group.weightKey = key;
    else group.biasKey = key;
  }

  if (groups.size > MAX_LAYERS) {
    return { ok: false, problems: [{ path: "", message: `the state_dict has ${groups.size} layers; at most ${MAX_LAYERS} are supported` }] };
  }
  const sources: LayerSource[] = [];
  for (const group of groups.values()) {
    const label = group.prefix || "(unnamed layer)";
    if (!group.weightKey) {
      problems.push({ path: group.biasKey!, message: `${group.biasKey} has no matching ${group.prefix ? group.prefix + "." : ""}weight; every Linear layer needs both weight and bias` });
      continue;
    }
    if (!group.biasKey) {
      problems.push({
        path: group.weightKey,
        message: `${group.weightKey} has no matching ${group.prefix ? group.prefix + "." : ""}bias; Linear layers without bias (bias=False) are not supported`,
      });
    }
    const weight = dict[group.weightKey];
    if (Array.isArray(weight) && weight.length > 0 && !weight.some(Array.isArray)) {
      problems.push({
        path: group.weightKey,
        message: `${group.weightKey} is a flat array of ${weight.length} values; expected a Linear weight [out][in] (a 1-D weight belongs to a norm layer, which cannot be imported)`,
      });
      continue;
    }
    sources.push({
      label,
      weightPath: group.weightKey,
      biasPath: group.biasKey ?? `${group.prefix}.bias`,
      weight,
      bias: group.biasKey ? dict[group.biasKey] : undefined,
      biasReported: !group.biasKey,
    });
  }
  if (groups.size === 0) problems.push({ path: "", message: "the state_dict has no Linear layers (no keys ending in .weight/.bias)" });

  const inputDim = options.inputDim ?? STATE_DICT_DEFAULTS.inputDim;
  const shapes = checkLayerChain(
    sources,
    {
      inputDim: Number.isSafeInteger(inputDim) && inputDim > 0 ? inputDim : undefined,
      inputDimLabel: "the input dim",
      inputDimHint: options.inputDim === undefined ? ` (the state_dict default; set inputDim / --input-dim to change it)` : undefined,
      classCount: options.classes?.length,
      classesLabel: "the class list given",
    },
    problems,
  );
  if (problems.length > 0) return { ok: false, problems: capProblems(problems) };

  const hiddenActivation = options.hiddenActivation ?? STATE_DICT_DEFAULTS.hiddenActivation;
  const outDim = shapes[shapes.length - 1]!.outDim;
  const weights: CanonicalWeights = {
    format: WEIGHTS_FORMAT,
    formatVersion: WEIGHTS_FORMAT_VERSION,
    name: options.name ?? STATE_DICT_DEFAULTS.name,
    classes: options.classes ?? Array.from({ length: outDim }, (_, i) => `class_${i}`),
    input: {
      dim: inputDim,
      clipModel: options.clipModel ?? STATE_DICT_DEFAULTS.clipModel,
      normalize: options.normalize ?? STATE_DICT_DEFAULTS.normalize,
    },
    layers: sources.map((source, i) => ({
      weight: source.weight as number[][],
      bias: source.bias as number[],
      activation: i === sources.length - 1 ? ("none" as const) : hiddenActivation,
    })),
    outputActivation: options.outputActivation ?? STATE_DICT_DEFAULTS.outputActivation,
  };
  // The tensors were checked above; this catches bad option values (duplicate classes, unknown normalize, ...).
  const metadataProblems = validateCanonicalWeights(weights);
  if (metadataProblems.length > 0) return { ok: false, problems: metadataProblems };
  const warnings: string[] = [];
  if (!options.classes) warnings.push(`no class names given; using class_0..class_${outDim - 1}`);
  return { ok: true, weights, source: "state_dict", warnings };
}
