import { type z } from "zod";
import { hiddenActivations } from "./weightsFormat.ts";
import { canonicalWeightsSchema } from "./weightsSchema.ts";

/**
 * Shape validation for canonical weights. Every problem is collected (never
 * stop at the first) and each message is a full sentence that starts with
 * the path it is about, so a list of them can be shown as is. Pure: used by
 * Convex, the CLI and the browser's pre-upload check. Never throws, whatever
 * JSON it is given.
 */

export interface WeightsProblem {
  /** Where the problem is, e.g. `layers[1].weight[17]`; "" for the whole document. */
  path: string;
  /** A full sentence naming the path, what was expected and what was found. */
  message: string;
}

/**
 * Importers replace bare `NaN`/`Infinity` tokens (invalid JSON, but what
 * Python's json.dump writes by default) with strings carrying this prefix, so
 * validation can report each one at its exact path.
 */
export const NON_FINITE_TOKEN_PREFIX = "\u0000non-finite:";

/** More value problems than this in one tensor are summarised in one line. */
const VALUE_PROBLEMS_PER_TENSOR = 10;
const RAGGED_ROWS_PER_TENSOR = 10;
/** A list longer than this ends with one "N more problems" line. */
const MAX_PROBLEMS = 200;
/** Far beyond any MLP this product serves; bounds the work done on hostile input. */
export const MAX_LAYERS = 64;

export function formatPath(segments: ReadonlyArray<PropertyKey>): string {
  let path = "";
  for (const segment of segments) {
    if (typeof segment === "number") path += `[${segment}]`;
    else path += path ? `.${String(segment)}` : String(segment);
  }
  return path;
}

/** A short description of what was found, for "expected X, found Y" messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
  switch (typeof value) {
    case "string":
      if (value.startsWith(NON_FINITE_TOKEN_PREFIX)) return value.slice(NON_FINITE_TOKEN_PREFIX.length);
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
    case "number":
      return String(value);
    case "boolean":
      return String(value);
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Own-property read: a key such as "constructor" must not reach the prototype. */
export function ownProperty(value: unknown, key: PropertyKey): unknown {
  if (typeof value !== "object" || value === null) return undefined;
  return Object.prototype.hasOwnProperty.call(value, key) ? (value as Record<PropertyKey, unknown>)[key] : undefined;
}

function valueAt(root: unknown, segments: ReadonlyArray<PropertyKey>): unknown {
  let current = root;
  for (const segment of segments) current = ownProperty(current, segment);
  return current;
}

function nonFiniteMessage(path: string, value: unknown): string {
  if (typeof value === "number" && Number.isFinite(value)) {
    return `${path} is ${value}, beyond float32's range of ±3.4028234663852886e38: weights are stored as float32, where it would become Infinity`;
  }
  const hint = value === null ? " (JSON.stringify writes NaN and Infinity as null)" : "";
  return `${path} is not a finite number (found ${describeValue(value)})${hint}`;
}

/** One Linear layer as found in a document, with the names to use in messages. */
export interface LayerSource {
  /** How other messages refer to this layer: `layers[0]` or a state_dict prefix like `net.0`. */
  label: string;
  weightPath: string;
  biasPath: string;
  weight: unknown;
  bias: unknown;
  /** The layer itself is malformed and already reported: skip its tensors, keep its place in the chain. */
  malformed?: boolean;
  /** The bias is absent and already reported: check the weight only. */
  biasReported?: boolean;
}

export interface LayerChainContext {
  /** The declared input dim, when known and valid. */
  inputDim: number | undefined;
  /** How messages name the input dim, e.g. `input.dim`. */
  inputDimLabel: string;
  /** Appended to an input-dim mismatch, e.g. how to change a default. */
  inputDimHint?: string;
  /** The number of class names, when known and valid. */
  classCount: number | undefined;
  classesLabel: string;
}

export interface LayerShape {
  outDim: number;
  inDim: number;
}

function checkFiniteValues(values: unknown[], path: string, problems: WeightsProblem[], budget: { remaining: number; skipped: number }) {
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    // Math.fround: a double beyond float32's range is finite here but Infinity once stored.
    if (typeof v === "number" && Number.isFinite(Math.fround(v))) continue;
    if (budget.remaining > 0) {
      budget.remaining--;
      problems.push({ path: `${path}[${i}]`, message: nonFiniteMessage(`${path}[${i}]`, v) });
    } else {
      budget.skipped++;
    }
  }
}

/** Checks a [out][in] weight matrix; returns its shape when one can be determined. */
function checkWeight(layer: LayerSource, problems: WeightsProblem[]): LayerShape | null {
  const { weight, weightPath: path } = layer;
  if (!Array.isArray(weight)) {
    problems.push({ path, message: `${path} is ${describeValue(weight)}; expected a matrix [out][in] (one array of numbers per output)` });
    return null;
  }
  if (weight.length === 0) {
    problems.push({ path, message: `${path} has no rows; expected a matrix [out][in] with at least one row` });
    return null;
  }
  if (!weight.some(Array.isArray)) {
    problems.push({
      path,
      message: `${path} is a flat array of ${weight.length} values; expected a matrix [out][in] (one array of numbers per output)`,
    });
    return null;
  }
  // The most common row length is the intended one, so a single odd row
  // (even row 0) is the one reported.
  const lengthCounts = new Map<number, number>();
  for (const row of weight) if (Array.isArray(row)) lengthCounts.set(row.length, (lengthCounts.get(row.length) ?? 0) + 1);
  let inDim = -1;
  let best = 0;
  for (const [length, count] of lengthCounts) {
    if (count > best) {
      best = count;
      inDim = length;
    }
  }
  if (inDim === 0) {
    problems.push({ path, message: `${path} rows are empty; expected at least one input per row` });
    return null;
  }
  const values = { remaining: VALUE_PROBLEMS_PER_TENSOR, skipped: 0 };
  let raggedReported = 0;
  let raggedSkipped = 0;
  for (let r = 0; r < weight.length; r++) {
    const row: unknown = weight[r];
    const rowPath = `${path}[${r}]`;
    if (!Array.isArray(row) || row.length !== inDim) {
      if (raggedReported < RAGGED_ROWS_PER_TENSOR) {
        raggedReported++;
        const message = Array.isArray(row)
          ? `${rowPath} has ${row.length} values, expected ${inDim}`
          : `${rowPath} is ${describeValue(row)}; expected an array of ${inDim} numbers`;
        problems.push({ path: rowPath, message });
      } else {
        raggedSkipped++;
      }
    }
    if (Array.isArray(row)) checkFiniteValues(row, rowPath, problems, values);
  }
  if (raggedSkipped > 0) {
    problems.push({ path, message: `${path} has ${raggedSkipped} more rows whose length is not ${inDim} (not listed)` });
  }
  if (values.skipped > 0) {
    problems.push({ path, message: `${path} has ${values.skipped} more values that are not finite numbers (not listed)` });
  }
  return { outDim: weight.length, inDim };
}

function checkBias(layer: LayerSource, outDim: number | undefined, problems: WeightsProblem[]) {
  const { bias, biasPath: path } = layer;
  if (!Array.isArray(bias)) {
    problems.push({ path, message: `${path} is ${describeValue(bias)}; expected an array of ${outDim ?? "out"} numbers` });
    return;
  }
  if (outDim !== undefined && bias.length !== outDim) {
    problems.push({ path, message: `${path} has ${bias.length} values but ${layer.weightPath} has ${outDim} rows` });
  }
  const budget = { remaining: VALUE_PROBLEMS_PER_TENSOR, skipped: 0 };
  checkFiniteValues(bias, path, problems, budget);
  if (budget.skipped > 0) {
    problems.push({ path, message: `${path} has ${budget.skipped} more values that are not finite numbers (not listed)` });
  }
}

/**
 * Checks every layer's tensors and that the layers chain: input dim → layer
 * 0 → ... → number of classes. Shared by the canonical and state_dict paths,
 * which name layers differently. Returns each layer's shape (null if unknown).
 */
export function checkLayerChain(layers: LayerSource[], context: LayerChainContext, problems: WeightsProblem[]): Array<LayerShape | null> {
  const shapes: Array<LayerShape | null> = [];
  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i];
    const shape = layer.malformed ? null : checkWeight(layer, problems);
    shapes.push(shape);
    if (shape) {
      const { weightPath } = layer;
      const size = `${shape.outDim}×${shape.inDim}`;
      const previous = i > 0 ? shapes[i - 1] : null;
      if (i === 0 && context.inputDim !== undefined && shape.inDim !== context.inputDim) {
        problems.push({ path: weightPath, message: `${weightPath} is ${size} but ${context.inputDimLabel} is ${context.inputDim}${context.inputDimHint ?? ""}` });
      } else if (previous && shape.inDim !== previous.outDim) {
        problems.push({ path: weightPath, message: `${weightPath} is ${size} but ${layers[i - 1].label} outputs ${previous.outDim}` });
      }
      if (i === layers.length - 1 && context.classCount !== undefined && shape.outDim !== context.classCount) {
        problems.push({
          path: weightPath,
          message: `${weightPath} is ${size}, so the model has ${shape.outDim} outputs, but ${context.classesLabel} has ${context.classCount} names`,
        });
      }
    }
    if (!layer.malformed && !layer.biasReported) checkBias(layer, shape?.outDim, problems);
  }
  return shapes;
}

function zodIssueMessage(issue: z.core.$ZodIssue, root: unknown): WeightsProblem {
  const path = formatPath(issue.path);
  const where = path || "the document";
  const found = valueAt(root, issue.path);
  switch (issue.code) {
    case "invalid_type":
      if (found === undefined) return { path, message: `${where} is missing; expected ${issue.expected}` };
      if (issue.expected === "int") return { path, message: `${where} is ${describeValue(found)}; expected an integer` };
      return { path, message: `${where} is ${describeValue(found)}; expected ${issue.expected}` };
    case "invalid_value": {
      const allowed = issue.values.map((v) => JSON.stringify(v)).join(", ");
      if (found === undefined) return { path, message: `${where} is missing; expected ${issue.values.length > 1 ? "one of " : ""}${allowed}` };
      return { path, message: `${where} is ${describeValue(found)}; expected ${issue.values.length > 1 ? "one of " : ""}${allowed}` };
    }
    case "too_small":
      if (issue.origin === "string") return { path, message: `${where} is empty; expected at least ${issue.minimum} character${issue.minimum === 1 ? "" : "s"}` };
      if (issue.origin === "array") return { path, message: `${where} is empty; expected at least ${issue.minimum} item${issue.minimum === 1 ? "" : "s"}` };
      return { path, message: `${where} is ${describeValue(found)}; expected ${issue.inclusive ? "at least" : "more than"} ${issue.minimum}` };
    case "too_big":
      if (issue.origin === "string" && typeof found === "string") {
        return { path, message: `${where} has ${found.length} characters; expected at most ${issue.maximum}` };
      }
      return { path, message: `${where} is too big; expected at most ${issue.maximum}` };
    default:
      return { path, message: `${where}: ${issue.message}` };
  }
}

const metadataSchema = canonicalWeightsSchema.omit({ layers: true });

/** Every problem with a canonical weights document; an empty list means valid. */
export function validateCanonicalWeights(value: unknown): WeightsProblem[] {
  if (!isPlainObject(value)) {
    return [{ path: "", message: `the weights document is ${describeValue(value)}; expected a JSON object` }];
  }
  const problems: WeightsProblem[] = [];
  const metadata = metadataSchema.safeParse(value);
  if (!metadata.success) for (const issue of metadata.error.issues) problems.push(zodIssueMessage(issue, value));

  const classes = ownProperty(value, "classes");
  if (Array.isArray(classes)) {
    const firstIndex = new Map<unknown, number>();
    classes.forEach((name, index) => {
      if (typeof name !== "string") return;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, index);
      else problems.push({ path: `classes[${index}]`, message: `classes[${index}] ${JSON.stringify(name)} repeats classes[${first}]; class names must be unique` });
    });
  }

  const layers = ownProperty(value, "layers");
  if (!Array.isArray(layers)) {
    problems.push({ path: "layers", message: `layers is ${describeValue(layers)}; expected an array of Linear layers` });
  } else if (layers.length === 0) {
    problems.push({ path: "layers", message: "layers is empty; expected at least one Linear layer" });
  } else if (layers.length > MAX_LAYERS) {
    problems.push({ path: "layers", message: `layers has ${layers.length} entries; at most ${MAX_LAYERS} layers are supported` });
  } else {
    const sources: LayerSource[] = [];
    layers.forEach((layer: unknown, i) => {
      const label = `layers[${i}]`;
      if (!isPlainObject(layer)) {
        problems.push({ path: label, message: `${label} is ${describeValue(layer)}; expected an object with weight, bias and activation` });
        sources.push({ label, weightPath: `${label}.weight`, biasPath: `${label}.bias`, weight: undefined, bias: undefined, malformed: true });
        return;
      }
      sources.push({ label, weightPath: `${label}.weight`, biasPath: `${label}.bias`, weight: ownProperty(layer, "weight"), bias: ownProperty(layer, "bias") });
      const activation = ownProperty(layer, "activation");
      if (!(hiddenActivations as readonly unknown[]).includes(activation)) {
        const found = typeof activation === "string" ? `unknown activation ${JSON.stringify(activation)}` : describeValue(activation);
        problems.push({
          path: `${label}.activation`,
          message: `${label}.activation is ${found}; expected one of ${hiddenActivations.map((a) => JSON.stringify(a)).join(", ")}`,
        });
      }
    });
    const inputDim = ownProperty(ownProperty(value, "input"), "dim");
    const validClasses = Array.isArray(classes) && classes.length > 0;
    checkLayerChain(
      sources,
      {
        inputDim: Number.isSafeInteger(inputDim) && (inputDim as number) > 0 ? (inputDim as number) : undefined,
        inputDimLabel: "input.dim",
        classCount: validClasses ? classes.length : undefined,
        classesLabel: "classes",
      },
      problems,
    );
  }

  if (problems.length === 0) {
    // Safety net: the hand-written checks above must agree with the schema.
    const full = canonicalWeightsSchema.safeParse(value);
    if (!full.success) for (const issue of full.error.issues) problems.push(zodIssueMessage(issue, value));
  }
  return capProblems(problems);
}

export function capProblems(problems: WeightsProblem[]): WeightsProblem[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  const kept = problems.slice(0, MAX_PROBLEMS - 1);
  kept.push({ path: "", message: `… and ${problems.length - kept.length} more problems (not listed)` });
  return kept;
}
