/**
 * The check every CLIP feature vector passes before it reaches the MLP.
 * Returns the message to show the user, or null when the vector is usable.
 */
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
