import type { InputSpec, MlpModel } from "./weightsFormat.ts";

/**
 * Checks a weights version must pass on the server, beyond what decoding
 * already guarantees (magic, header, layer chain, byte count).
 */

export const VERSION_NAME_MAX_LENGTH = 100;
export const VERSION_NOTES_MAX_LENGTH = 2000;
export const REASON_MAX_LENGTH = 500;
export const CLASS_NAME_MAX_LENGTH = 100;
/**
 * Convex arrays hold at most 8192 values, documents 1 MiB and return values
 * 16 MiB: every classification stores one probability per class, and a
 * comparison returns two confusion matrices over the union of both
 * versions' classes (2 × 510² values at this cap, about 5 MB). The input dim
 * is the length of every feature array a client sends. Far beyond any
 * classifier this product serves.
 */
export const MAX_CLASSES = 256;
export const MAX_INPUT_DIM = 8192;

/** Problems with a free-text field, or an empty list. `value` should already be trimmed. */
export function checkText(field: string, value: string, maxLength: number, required: boolean): string[] {
  if (required && value.length === 0) return [`${field} is required`];
  if (value.length > maxLength) return [`${field} is ${value.length} characters; the limit is ${maxLength}`];
  return [];
}

/**
 * Decoding does not scan tensor values (the sha256 guards integrity once
 * stored), so registration scans them once here: a NaN weight would make
 * every prediction NaN.
 */
export function checkDecodedModel(model: MlpModel): string[] {
  const problems: string[] = [];
  model.layers.forEach((layer, layerIndex) => {
    for (const [tensorName, tensor] of [["weight", layer.weight], ["bias", layer.bias]] as const) {
      let badCount = 0;
      let firstBad = -1;
      for (let i = 0; i < tensor.length; i++) {
        if (!Number.isFinite(tensor[i])) {
          badCount += 1;
          if (firstBad < 0) firstBad = i;
        }
      }
      if (badCount > 0) {
        const where = tensorName === "weight" ? `[${Math.floor(firstBad / layer.inDim)}][${firstBad % layer.inDim}]` : `[${firstBad}]`;
        problems.push(`layers[${layerIndex}].${tensorName} has ${badCount} non-finite value(s), the first at ${where} (${tensor[firstBad]})`);
      }
    }
  });
  if (model.classes.length > MAX_CLASSES) problems.push(`the model has ${model.classes.length} classes; the limit is ${MAX_CLASSES}`);
  if (model.input.dim > MAX_INPUT_DIM) problems.push(`input.dim is ${model.input.dim}; the limit is ${MAX_INPUT_DIM} features (Convex's array limit)`);
  const seen = new Map<string, number>();
  model.classes.forEach((name, index) => {
    if (name.trim().length === 0) problems.push(`classes[${index}] is empty`);
    if (name.length > CLASS_NAME_MAX_LENGTH) problems.push(`classes[${index}] is ${name.length} characters; the limit is ${CLASS_NAME_MAX_LENGTH}`);
    const earlier = seen.get(name);
    if (earlier !== undefined) problems.push(`classes[${index}] "${name}" repeats classes[${earlier}]`);
    else seen.set(name, index);
  });
  return problems;
}

/**
 * Why a version cannot serve the features clients produce, or null when it can.
 * `versionLabel` is e.g. `version 3 "demo-v1"`.
 */
export function describeInputMismatch(
  versionLabel: string,
  input: InputSpec,
  clients: { featureDim: number; clipModelId: string },
): string | null {
  const differences: string[] = [];
  if (input.dim !== clients.featureDim) differences.push(`it takes ${input.dim} features but clients produce ${clients.featureDim}`);
  if (input.clipModel !== clients.clipModelId) {
    differences.push(`it was trained on features from "${input.clipModel}" but clients use "${clients.clipModelId}"`);
  }
  if (differences.length === 0) return null;
  return `${versionLabel} does not match the clients' features: ${differences.join(", and ")}. Import a version trained on the clients' CLIP model, or change "Clients' CLIP model" in Settings (only after every browser runs that model).`;
}

/** Storage reports sha256 as base64; versions record it as hex. */
export function hexToBase64(hex: string): string {
  let binary = "";
  for (let i = 0; i < hex.length; i += 2) binary += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(binary);
}
