/**
 * CLIP feature vectors: the check every vector passes before it reaches the
 * MLP, and their storage form. They are stored once, as little-endian
 * float32 bytes (2 KB for 512 features): CLIP produces float32, so nothing a
 * real client sends is lost, and the MLP is scored on exactly the stored
 * values, so a replay or retry reproduces the live result bit for bit.
 */

const FLOAT32_MAX = 3.4028234663852886e38;

/** Returns the message to show the user, or null when the vector is usable. */
export function checkFeatures(features: unknown, dim: number): string | null {
  const isTyped = ArrayBuffer.isView(features) && !(features instanceof DataView);
  if (!Array.isArray(features) && !isTyped) {
    return `Expected ${dim} CLIP features as an array of numbers, got ${describeFound(features)}`;
  }
  const values = features as ArrayLike<unknown>;
  if (values.length !== dim) return `Expected ${dim} CLIP features, got ${values.length}`;
  let allZero = true;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (typeof value !== "number" || !Number.isFinite(value)) {
      return `feature[${i}] is not a finite number (${describeFound(value)})`;
    }
    if (Math.abs(value) > FLOAT32_MAX) return `feature[${i}] is ${value}, beyond the float32 range CLIP features have`;
    if (value !== 0) allZero = false;
  }
  if (allZero) return "features are all zeros: CLIP extraction failed";
  return null;
}

function describeFound(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "missing";
  if (typeof value === "number") return String(value);
  if (typeof value === "string") return JSON.stringify(value.length > 20 ? value.slice(0, 20) + "…" : value);
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

/** The storage bytes of a vector (rounded to float32, as CLIP computed it). */
export function encodeFeatures(features: ArrayLike<number>): ArrayBuffer {
  const vector = Float32Array.from(features);
  const bytes = new ArrayBuffer(vector.length * 4);
  const view = new DataView(bytes);
  for (let i = 0; i < vector.length; i++) view.setFloat32(i * 4, vector[i], true);
  return bytes;
}

export class FeaturesDecodeError extends Error {}

/** The vector stored as `bytes`; throws when they cannot be `dim` float32 values. */
export function decodeFeatures(bytes: ArrayBuffer, dim: number): Float32Array {
  if (bytes.byteLength !== dim * 4) {
    throw new FeaturesDecodeError(`stored features are ${bytes.byteLength} bytes, not ${dim} float32 values (${dim * 4} bytes)`);
  }
  const view = new DataView(bytes);
  const vector = new Float32Array(dim);
  for (let i = 0; i < dim; i++) vector[i] = view.getFloat32(i * 4, true);
  return vector;
}
