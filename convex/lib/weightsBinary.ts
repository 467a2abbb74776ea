import {
  featureNormalizations,
  hiddenActivations,
  outputActivations,
  type HiddenActivation,
  type InputSpec,
  type MlpLayer,
  type MlpModel,
  type OutputActivation,
} from "./weightsFormat.ts";
import { versionLabel } from "./versionLabel.ts";

/**
 * The storage encoding of a weights version (`.mlpw`). Convex gives every
 * action a fresh context, so the classifier decodes the active weights on
 * every call: decoding must be a typed-array view, not a parse.
 *
 * Layout (all integers little-endian):
 *   0   4 bytes  magic "MLPW"
 *   4   u32      binary version (1)
 *   8   u32      header byte length H
 *   12  H bytes  UTF-8 JSON header: name, classes, input, outputActivation,
 *                layers [{inDim, outDim, activation}]
 *   ..  0-3 zero bytes so the tensors start at a multiple of 4
 *   T   float32  per layer: weight [outDim*inDim] row-major, then bias [outDim]
 * The file ends exactly after the last tensor.
 */

export const WEIGHTS_BINARY_MAGIC = new Uint8Array([0x4d, 0x4c, 0x50, 0x57]); // "MLPW"
export const WEIGHTS_BINARY_VERSION = 1;
export const WEIGHTS_BINARY_EXTENSION = ".mlpw";
const PREAMBLE_BYTES = 12;

export class WeightsDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WeightsDecodeError";
  }
}

interface BinaryHeader {
  name: string;
  classes: string[];
  input: InputSpec;
  outputActivation: OutputActivation;
  layers: Array<{ inDim: number; outDim: number; activation: HiddenActivation }>;
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0;
}

function oneOf<T extends string>(value: unknown, allowed: readonly T[]): value is T {
  return (allowed as readonly unknown[]).includes(value);
}

/**
 * Checked by hand rather than with zod: decoding runs on every classify call
 * in a fresh context, where building a zod parser costs more than the rest of
 * the decode. Returns the first problem, or null.
 */
function headerProblem(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "expected a JSON object";
  const header = value as Record<string, unknown>;
  if (typeof header.name !== "string" || header.name === "") return "name must be a non-empty string";
  if (!Array.isArray(header.classes) || header.classes.length === 0 || !header.classes.every((c) => typeof c === "string")) {
    return "classes must be a non-empty array of strings";
  }
  const input = header.input as Record<string, unknown> | null;
  if (typeof input !== "object" || input === null) return "input must be an object";
  if (!isPositiveInteger(input.dim)) return "input.dim must be a positive integer";
  if (typeof input.clipModel !== "string" || input.clipModel === "") return "input.clipModel must be a non-empty string";
  if (!oneOf(input.normalize, featureNormalizations)) return `input.normalize must be one of ${featureNormalizations.join(", ")}`;
  if (!oneOf(header.outputActivation, outputActivations)) return `outputActivation must be one of ${outputActivations.join(", ")}`;
  if (!Array.isArray(header.layers) || header.layers.length === 0) return "layers must be a non-empty array";
  for (let i = 0; i < header.layers.length; i++) {
    const layer = header.layers[i] as Record<string, unknown> | null;
    if (typeof layer !== "object" || layer === null) return `layers[${i}] must be an object`;
    if (!isPositiveInteger(layer.inDim) || !isPositiveInteger(layer.outDim)) return `layers[${i}].inDim and .outDim must be positive integers`;
    if (!oneOf(layer.activation, hiddenActivations)) return `layers[${i}].activation must be one of ${hiddenActivations.join(", ")}`;
  }
  return null;
}

const littleEndianPlatform = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function align4(n: number): number {
  return (n + 3) & ~3;
}

export function encodeWeights(model: MlpModel): Uint8Array {
  const header = {
    name: model.name,
    classes: model.classes,
    input: { dim: model.input.dim, clipModel: model.input.clipModel, normalize: model.input.normalize },
    outputActivation: model.outputActivation,
    layers: model.layers.map(({ inDim, outDim, activation }) => ({ inDim, outDim, activation })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const tensorOffset = align4(PREAMBLE_BYTES + headerBytes.length);
  const floatCount = model.layers.reduce((sum, layer) => {
    if (layer.weight.length !== layer.outDim * layer.inDim || layer.bias.length !== layer.outDim) {
      throw new Error(`cannot encode layer ${model.layers.indexOf(layer)}: tensor lengths do not match ${layer.outDim}×${layer.inDim}`);
    }
    return sum + layer.weight.length + layer.bias.length;
  }, 0);
  const bytes = new Uint8Array(tensorOffset + floatCount * 4);
  bytes.set(WEIGHTS_BINARY_MAGIC, 0);
  const view = new DataView(bytes.buffer);
  view.setUint32(4, WEIGHTS_BINARY_VERSION, true);
  view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, PREAMBLE_BYTES);
  let offset = tensorOffset;
  const write = (tensor: Float32Array) => {
    if (littleEndianPlatform) {
      new Float32Array(bytes.buffer, offset, tensor.length).set(tensor);
    } else {
      for (let i = 0; i < tensor.length; i++) view.setFloat32(offset + i * 4, tensor[i], true);
    }
    offset += tensor.length * 4;
  };
  for (const layer of model.layers) {
    write(layer.weight);
    write(layer.bias);
  }
  return bytes;
}

export function looksLikeWeightsBinary(bytes: Uint8Array | ArrayBuffer): boolean {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  return data.length >= 4 && WEIGHTS_BINARY_MAGIC.every((b, i) => data[i] === b);
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join(" ");
}

/**
 * Decodes without copying when it can: the tensors are Float32Array views
 * into `bytes`' buffer (so keep that buffer unchanged while the model is in
 * use). Copies only on a big-endian platform or a misaligned input.
 * Tensor values are not scanned: the version's sha256 guards their integrity.
 */
export function decodeWeights(bytes: Uint8Array | ArrayBuffer): MlpModel {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (data.length < PREAMBLE_BYTES) {
    throw new WeightsDecodeError(`weights binary is ${data.length} bytes, too short for the ${PREAMBLE_BYTES}-byte preamble`);
  }
  if (!looksLikeWeightsBinary(data)) {
    throw new WeightsDecodeError(`not an MLP weights binary: bad magic bytes ${hex(data.subarray(0, 4))} (expected ${hex(WEIGHTS_BINARY_MAGIC)}, "MLPW")`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const version = view.getUint32(4, true);
  if (version !== WEIGHTS_BINARY_VERSION) {
    throw new WeightsDecodeError(`unsupported weights binary version ${version}; this build reads version ${WEIGHTS_BINARY_VERSION}`);
  }
  const headerLength = view.getUint32(8, true);
  if (PREAMBLE_BYTES + headerLength > data.length) {
    throw new WeightsDecodeError(`header length ${headerLength} goes beyond the end of the file (${data.length} bytes, header starts at byte ${PREAMBLE_BYTES})`);
  }
  let headerValue: unknown;
  try {
    headerValue = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)));
  } catch (error) {
    throw new WeightsDecodeError(`header is not valid UTF-8 JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const malformed = headerProblem(headerValue);
  if (malformed) throw new WeightsDecodeError(`header is malformed: ${malformed}`);
  const header = headerValue as BinaryHeader;
  const shapeProblems: string[] = [];
  header.layers.forEach((layer, i) => {
    const expectedIn = i === 0 ? header.input.dim : header.layers[i - 1].outDim;
    if (layer.inDim !== expectedIn) shapeProblems.push(`layers[${i}].inDim is ${layer.inDim} but ${i === 0 ? "input.dim" : `layers[${i - 1}].outDim`} is ${expectedIn}`);
  });
  const lastOut = header.layers[header.layers.length - 1].outDim;
  if (lastOut !== header.classes.length) shapeProblems.push(`the last layer outputs ${lastOut} but there are ${header.classes.length} classes`);
  if (shapeProblems.length > 0) throw new WeightsDecodeError(`header shapes are inconsistent: ${shapeProblems.join("; ")}`);

  const tensorOffset = align4(PREAMBLE_BYTES + headerLength);
  const floatCount = header.layers.reduce((sum, layer) => sum + layer.outDim * layer.inDim + layer.outDim, 0);
  const expectedBytes = floatCount * 4;
  const foundBytes = data.length - tensorOffset;
  if (foundBytes !== expectedBytes) {
    throw new WeightsDecodeError(`expected ${expectedBytes} bytes of tensors, found ${Math.max(foundBytes, 0)} (file is ${data.length} bytes, tensors start at byte ${tensorOffset})`);
  }

  const canView = littleEndianPlatform && (data.byteOffset + tensorOffset) % 4 === 0;
  let offset = tensorOffset;
  const read = (length: number): Float32Array => {
    let tensor: Float32Array;
    if (canView) {
      tensor = new Float32Array(data.buffer, data.byteOffset + offset, length);
    } else {
      tensor = new Float32Array(length);
      for (let i = 0; i < length; i++) tensor[i] = view.getFloat32(offset + i * 4, true);
    }
    offset += length * 4;
    return tensor;
  };
  const layers: MlpLayer[] = header.layers.map(({ inDim, outDim, activation }) => {
    const weight = read(outDim * inDim);
    const bias = read(outDim);
    return { inDim, outDim, weight, bias, activation };
  });
  return {
    name: header.name,
    classes: header.classes,
    input: { dim: header.input.dim, clipModel: header.input.clipModel, normalize: header.input.normalize },
    outputActivation: header.outputActivation,
    layers,
  };
}

export async function sha256Hex(bytes: Uint8Array | ArrayBuffer): Promise<string> {
  const data = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  // crypto.subtle rejects views over SharedArrayBuffer; a plain copy is cheap next to hashing.
  const source = data.buffer instanceof ArrayBuffer ? (data as Uint8Array<ArrayBuffer>) : new Uint8Array(data);
  const digest = await crypto.subtle.digest("SHA-256", source);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * Throws a WeightsDecodeError unless `bytes` hash to `expectedSha256` (hex,
 * as recorded with the version). decodeWeights checks only the structure, so
 * a flipped bit inside a tensor decodes fine: this is what catches it.
 */
export async function verifyWeightsSha256(bytes: Uint8Array | ArrayBuffer, expectedSha256: string): Promise<void> {
  const expected = expectedSha256.trim().toLowerCase();
  if (!SHA256_HEX.test(expected)) {
    throw new WeightsDecodeError(`expected sha256 must be 64 hex digits, got ${JSON.stringify(expectedSha256.slice(0, 80))}`);
  }
  const found = await sha256Hex(bytes);
  if (found !== expected) {
    const length = bytes instanceof Uint8Array ? bytes.length : bytes.byteLength;
    throw new WeightsDecodeError(
      `weights binary sha256 is ${found} but ${expected} was expected: the ${length}-byte file was changed or corrupted after it was imported`,
    );
  }
}

/** decodeWeights after verifyWeightsSha256: the integrity-checked way to load stored weights. */
export async function decodeVerifiedWeights(bytes: Uint8Array | ArrayBuffer, expectedSha256: string): Promise<MlpModel> {
  await verifyWeightsSha256(bytes, expectedSha256);
  return decodeWeights(bytes);
}

/** What a registered version records about its weights. */
export interface RegisteredWeights {
  number: number;
  name: string;
  sha256: string;
  /** The manifest the version was registered with; the decoded file must still match it. */
  summary: { classes: readonly string[]; input: { dim: number; normalize: string } };
}

/**
 * The integrity-checked way to load a registered version's weights, with one
 * message per failure naming the version and what an admin can do. The
 * sha256 check comes first: decodeWeights checks only the structure, so a
 * changed tensor value would otherwise be scored silently. Shared by
 * classification, replays and evaluation on the labelled set.
 */
export async function decodeRegisteredWeights(bytes: Uint8Array | ArrayBuffer, version: RegisteredWeights): Promise<MlpModel> {
  const file = `the weights of ${versionLabel(version)}`;
  const remedy = "an admin must re-import it or activate another version";
  try {
    await verifyWeightsSha256(bytes, version.sha256);
  } catch {
    throw new WeightsDecodeError(`${file} do not match their registered sha256: ${remedy}`);
  }
  let model: MlpModel;
  try {
    model = decodeWeights(bytes);
  } catch (error) {
    throw new WeightsDecodeError(`${file} could not be decoded (${error instanceof Error ? error.message : String(error)}): ${remedy}`);
  }
  const { input, classes } = version.summary;
  if (
    model.input.dim !== input.dim ||
    model.input.normalize !== input.normalize ||
    model.classes.length !== classes.length ||
    model.classes.some((label, i) => label !== classes[i])
  ) {
    throw new WeightsDecodeError(`${file} do not match the manifest they were registered with (input or classes differ): ${remedy}`);
  }
  return model;
}
