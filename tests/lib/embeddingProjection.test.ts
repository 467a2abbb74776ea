import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DOMAIN_CLASSIFIER_DRIFT_AUC,
  EmbeddingInputError,
  accumulateCovariance,
  centroidDistance,
  covarianceAccumulatorFromBytes,
  covarianceAccumulatorToBytes,
  covarianceOf,
  createCovarianceAccumulator,
  domainClassifierDrift,
  pcaOfRows,
  principalComponents,
  projectRows,
  rocAuc,
  stratifiedSample,
} from "../../convex/lib/embeddingProjection.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { runPythonReference } from "./scipyPython.ts";

function gaussianSource(seed: number) {
  const random = seededRandom(seed);
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

/**
 * Rows shaped like embeddings: a large common offset, a few strong latent
 * directions with well-separated variances, and isotropic noise.
 */
function embeddingLike(count: number, dim: number, seed: number, shift = 0) {
  const gaussian = gaussianSource(seed);
  const directionSource = gaussianSource(99);
  const latent = [6, 3, 1.5, 1];
  const directions = latent.map(() => {
    const v = Float64Array.from({ length: dim }, directionSource);
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  });
  const features = new Float32Array(count * dim);
  for (let r = 0; r < count; r++) {
    const weights = latent.map((scale) => scale * gaussian());
    for (let j = 0; j < dim; j++) {
      let value = 5 + 0.3 * gaussian() + (j < 8 ? shift : 0);
      for (let k = 0; k < latent.length; k++) value += weights[k] * directions[k][j];
      features[r * dim + j] = value;
    }
  }
  return features;
}

interface Reference {
  mean: number[];
  eigenvalues: number[];
  eigenvectors: number[][];
  svdVectors: number[][];
  svdVariances: number[];
  trace: number;
  auc: number[];
}

const dim = 512;
const count = 1500;
const features = embeddingLike(count, dim, 3);
const aucCases = [
  { scores: [0.1, 0.4, 0.4, 0.8, 0.35, 0.9, 0.4, 0.2], positive: [0, 1, 0, 1, 1, 1, 1, 0] },
  { scores: Array.from({ length: 300 }, (_, i) => Math.round(Math.sin(i) * 10) / 10), positive: Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 1 : 0)) },
];
let dir: string;
let reference: Reference;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "embedding-"));
  const featuresFile = join(dir, "features.f32");
  await writeFile(featuresFile, new Uint8Array(features.buffer));
  reference = await runPythonReference<Reference>(join(import.meta.dirname, "embeddingReference.py"), { featuresFile, dim, components: 2, auc: aucCases });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

describe("PCA by power iteration with deflation", () => {
  it("finds numpy's leading eigenvectors (eigh of np.cov, and svd of the centred data) up to sign, with their variances", () => {
    const pca = pcaOfRows(features, dim);
    expect(pca.converged).toEqual([true, true]);
    for (let k = 0; k < 2; k++) {
      const ours = pca.components.subarray(k * dim, (k + 1) * dim);
      expect(Math.abs(dot(ours, reference.eigenvectors[k])), `component ${k} vs eigh`).toBeGreaterThan(1 - 1e-9);
      expect(Math.abs(dot(ours, reference.svdVectors[k])), `component ${k} vs svd`).toBeGreaterThan(1 - 1e-9);
      expect(Math.abs(pca.variances[k] / reference.eigenvalues[k] - 1), `variance ${k}`).toBeLessThan(1e-9);
      expect(Math.abs(pca.variances[k] / reference.svdVariances[k] - 1), `variance ${k} vs svd`).toBeLessThan(1e-9);
      expect(pca.explainedShare[k]).toBeCloseTo(reference.eigenvalues[k] / reference.trace, 9);
    }
    const meanError = Math.max(...reference.mean.map((m, j) => Math.abs(m - pca.mean[j])));
    expect(meanError).toBeLessThan(1e-9);
  });

  it("gives the same covariance page by page, and across a stored accumulator, as all at once", () => {
    const whole = createCovarianceAccumulator(dim);
    accumulateCovariance(whole, features);
    let paged = createCovarianceAccumulator(dim);
    for (let start = 0; start < count; start += 333) {
      accumulateCovariance(paged, features.subarray(start * dim, Math.min(count, start + 333) * dim));
      paged = covarianceAccumulatorFromBytes(covarianceAccumulatorToBytes(paged));
    }
    const a = covarianceOf(whole).covariance;
    const b = covarianceOf(paged).covariance;
    let largest = 0;
    for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i] - b[i]));
    expect(largest).toBeLessThan(1e-10);
    expect(paged.count).toBe(count);
  });

  it("is deterministic and signs each component so its largest entry is positive", () => {
    const first = pcaOfRows(features, dim);
    const second = pcaOfRows(features, dim);
    expect(first.components).toEqual(second.components);
    for (let k = 0; k < 2; k++) {
      const component = Array.from(first.components.subarray(k * dim, (k + 1) * dim));
      const largest = component.reduce((best, value) => (Math.abs(value) > Math.abs(best) ? value : best), 0);
      expect(largest).toBeGreaterThan(0);
    }
  });

  it("projects centred rows onto the components", () => {
    const pca = pcaOfRows(features, dim);
    const points = projectRows(pca, features.subarray(0, 3 * dim));
    for (let r = 0; r < 3; r++) {
      for (let k = 0; k < 2; k++) {
        let expected = 0;
        for (let j = 0; j < dim; j++) expected += (features[r * dim + j] - reference.mean[j]) * reference.eigenvectors[k][j];
        expect(Math.abs(points[r * 2 + k])).toBeCloseTo(Math.abs(expected), 3);
      }
    }
  });

  it("rejects a covariance of the wrong size", () => {
    expect(() => principalComponents(new Float64Array(3), new Float64Array(8))).toThrow("a 3-value mean needs a 3 × 3 covariance (9 values), got 8");
    expect(() => accumulateCovariance(createCovarianceAccumulator(4), new Float32Array(6))).toThrow(EmbeddingInputError);
  });
});

describe("stratifiedSample", () => {
  const strata = Int32Array.from({ length: 1000 }, (_, i) => (i < 700 ? 0 : i < 990 ? 1 : 2));

  it("keeps every stratum, shares the rest by size, and is reproducible", () => {
    const sample = stratifiedSample(strata, 100, 5);
    expect(sample.length).toBe(100);
    const per = [0, 1, 2].map((s) => Array.from(sample).filter((i) => strata[i] === s).length);
    // One each, then 97 shared over 699 : 289 : 9 (68.0, 28.1, 0.9 → 68, 28, 0 and the last point to the largest remainder).
    expect(per).toEqual([69, 29, 2]);
    expect(new Set(sample).size).toBe(100);
    expect(Array.from(sample)).toEqual([...sample].sort((a, b) => a - b));
    expect(stratifiedSample(strata, 100, 5)).toEqual(sample);
    expect(stratifiedSample(strata, 100, 6)).not.toEqual(sample);
  });

  it("keeps everything when it fits", () => {
    expect(stratifiedSample([3, 1, 3], 5, 1)).toEqual(Int32Array.from([0, 1, 2]));
  });
});

describe("embedding drift", () => {
  it("rocAuc equals scipy's Mann–Whitney U / (n₊ n₋), ties included", () => {
    aucCases.forEach((c, i) => expect(rocAuc(c.scores, c.positive), `case ${i}`).toBeCloseTo(reference.auc[i], 12));
    expect(rocAuc([1, 2], [1, 1])).toBeNull();
  });

  it("the domain classifier sees a shifted window and not an unshifted one", () => {
    const windowA = embeddingLike(600, dim, 11);
    const same = domainClassifierDrift(windowA, embeddingLike(600, dim, 12), dim);
    const shifted = domainClassifierDrift(windowA, embeddingLike(600, dim, 13, 0.5), dim);
    expect(same.threshold).toBe(DOMAIN_CLASSIFIER_DRIFT_AUC);
    expect(same.auc).toBeLessThan(0.55);
    expect(same.drift).toBe(false);
    expect(shifted.auc).toBeGreaterThan(0.7);
    expect(shifted.drift).toBe(true);
  });

  it("centroid distances grow with the shift", () => {
    const windowA = embeddingLike(600, dim, 11);
    const same = centroidDistance(windowA, embeddingLike(600, dim, 12), dim);
    const shifted = centroidDistance(windowA, embeddingLike(600, dim, 13, 0.5), dim);
    // Eight coordinates moved by 0.5: the centroids are √(8·0.25) ≈ 1.41 apart, plus sampling noise.
    expect(shifted.euclidean).toBeGreaterThan(1.2);
    expect(shifted.euclidean).toBeLessThan(1.7);
    expect(same.euclidean).toBeLessThan(0.7);
    expect(shifted.cosineDistance!).toBeGreaterThan(same.cosineDistance!);
    expect(centroidDistance(new Float32Array([1, 0]), new Float32Array([0, 2]), 2)).toEqual({ euclidean: Math.sqrt(5), cosineDistance: 1 });
  });

  it("says which window is too small for the folds", () => {
    expect(() => domainClassifierDrift(new Float32Array(4), new Float32Array(40), 2)).toThrow("window A has 2 rows; 5 folds need at least 5");
  });
});
