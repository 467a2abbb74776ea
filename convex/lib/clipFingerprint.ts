/**
 * CLIP parity guard, the pure part. A fingerprint is the features a CLIP
 * setup gives for a few fixed reference images, with what produced them
 * (model id, dtype, preprocessing). Recorded with a weights version, it lets
 * a browser (or the CLI) check that its CLIP still produces the features the
 * MLP was trained on: same images in, per-image cosine similarity out, and
 * a verdict against the threshold recorded with the version.
 *
 * Features are compared by cosine, not by value, because the MLP may
 * L2-normalise its input and because q8 runtimes differ by a scale-free
 * rounding (README: onnxruntime-node vs -web q8 agree to cosine 0.99992).
 *
 * No zod here (the comparison runs where a Convex action may import it);
 * the file's schema lives in clipFingerprintFile.ts.
 */

export interface FingerprintImage {
  /** A stable name of the reference image, e.g. "sunset-1.png". */
  name: string;
  features: ArrayLike<number>;
}

export interface ClipFingerprint {
  modelId: string;
  /** "q8", "fp32", … */
  dtype: string;
  /** How the images became pixel_values, in words (resize, crop, rescale, mean/std). */
  preprocessing: string;
  images: readonly FingerprintImage[];
}

export interface ImageSimilarity {
  name: string;
  cosine: number;
}

export interface FingerprintComparison {
  perImage: ImageSimilarity[];
  /** The smallest per-image cosine: the verdict rests on the worst image. */
  minimum: number;
  threshold: number;
  verdict: "match" | "mismatch";
  /** Which image is the worst. */
  worstImage: string;
  /** Setup fields that differ (model id, dtype, preprocessing); told, not decisive: the features decide. */
  setupDifferences: string[];
}

export type FingerprintComparisonResult = { ok: true; comparison: FingerprintComparison } | { ok: false; problems: string[] };

/**
 * A default for versions that record none: fp32 features agree across Node
 * and the browser to 2e-6 and q8 ones to cosine 0.99992, while a different
 * model or preprocessing moves them far more.
 */
export const DEFAULT_FINGERPRINT_THRESHOLD = 0.999;

/** Problems with one fingerprint's shape: no images, repeated names, ragged, non-finite or all-zero features. */
export function fingerprintProblems(fingerprint: ClipFingerprint, label: string): string[] {
  const problems: string[] = [];
  if (fingerprint.images.length === 0) return [`${label} has no reference images`];
  const dim = fingerprint.images[0].features.length;
  const seen = new Set<string>();
  fingerprint.images.forEach((image, index) => {
    const where = `${label} image ${index} ("${image.name}")`;
    if (seen.has(image.name)) problems.push(`${where}: the name is used twice; each reference image must be named once`);
    seen.add(image.name);
    const length = image.features.length;
    if (length !== dim) problems.push(`${where} has ${length} features, but image 0 ("${fingerprint.images[0].name}") has ${dim}`);
    let squares = 0;
    let badAt = -1;
    for (let j = 0; j < length; j++) {
      const value = image.features[j];
      if (!Number.isFinite(value)) {
        if (badAt < 0) badAt = j;
        continue;
      }
      squares += value * value;
    }
    if (badAt >= 0) problems.push(`${where}: features[${badAt}] is ${image.features[badAt]}; expected a finite number`);
    else if (length > 0 && squares === 0) problems.push(`${where}: every feature is 0, so no direction can be compared`);
    if (length === 0) problems.push(`${where} has no features`);
  });
  return problems;
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let j = 0; j < a.length; j++) {
    dot += a[j] * b[j];
    normA += a[j] * a[j];
    normB += b[j] * b[j];
  }
  return dot / Math.sqrt(normA * normB);
}

/**
 * Compares an observed fingerprint with the recorded one, image by image
 * (matched by name, in the recorded order). Every shape problem of either
 * side, and every image one side lacks, is collected before giving up.
 */
export function compareFingerprints(recorded: ClipFingerprint, observed: ClipFingerprint, threshold: number): FingerprintComparisonResult {
  const problems = [...fingerprintProblems(recorded, "the recorded fingerprint"), ...fingerprintProblems(observed, "the observed fingerprint")];
  if (!(threshold > -1 && threshold <= 1)) problems.push(`the threshold must be a cosine in (−1, 1], got ${threshold}`);
  const observedByName = new Map(observed.images.map((image) => [image.name, image]));
  const recordedNames = new Set(recorded.images.map((image) => image.name));
  const missing = recorded.images.filter((image) => !observedByName.has(image.name)).map((image) => `"${image.name}"`);
  const extra = observed.images.filter((image) => !recordedNames.has(image.name)).map((image) => `"${image.name}"`);
  if (missing.length > 0) problems.push(`the observed fingerprint lacks ${missing.length === 1 ? "image" : "images"} ${missing.join(", ")}`);
  if (extra.length > 0) problems.push(`the observed fingerprint has ${extra.length === 1 ? "image" : "images"} ${extra.join(", ")} that the recorded one does not`);
  const recordedDim = recorded.images[0]?.features.length;
  const observedDim = observed.images[0]?.features.length;
  if (recordedDim !== undefined && observedDim !== undefined && recordedDim !== observedDim) {
    problems.push(`the recorded features have ${recordedDim} dimensions but the observed ones ${observedDim}`);
  }
  if (problems.length > 0) return { ok: false, problems };
  const perImage = recorded.images.map((image) => ({ name: image.name, cosine: cosineSimilarity(image.features, observedByName.get(image.name)!.features) }));
  const worst = perImage.reduce((low, item) => (item.cosine < low.cosine ? item : low));
  const setupDifferences: string[] = [];
  for (const field of ["modelId", "dtype", "preprocessing"] as const) {
    if (recorded[field] !== observed[field]) setupDifferences.push(`${field}: recorded ${JSON.stringify(recorded[field])}, observed ${JSON.stringify(observed[field])}`);
  }
  return {
    ok: true,
    comparison: { perImage, minimum: worst.cosine, worstImage: worst.name, threshold, verdict: worst.cosine >= threshold ? "match" : "mismatch", setupDifferences },
  };
}
