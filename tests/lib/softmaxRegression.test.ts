import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  SoftmaxInputError,
  allRows,
  assignFolds,
  foldRows,
  outOfFoldProbabilities,
  predictRows,
  runFold,
  softmaxModelFromBytes,
  softmaxModelToBytes,
  trainSoftmax,
} from "../../convex/lib/softmaxRegression.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { runPythonReference } from "./scipyPython.ts";

/** Three overlapping Gaussian blobs in 6 dimensions, on very different feature scales. */
function blobs(count: number, seed: number) {
  const dim = 6;
  const classCount = 3;
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const features = new Float32Array(count * dim);
  const labels = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = i % classCount;
    labels[i] = label;
    for (let j = 0; j < dim; j++) features[i * dim + j] = (gaussian() + (j % classCount === label ? 1.2 : 0)) * 10 ** (j - 2);
  }
  return { dim, classCount, features, labels };
}

describe("trainSoftmax", () => {
  it("reaches the optimum SciPy's L-BFGS-B finds for the same objective", async () => {
    const { dim, classCount, features, labels } = blobs(240, 5);
    const l2 = 0.01;
    const { model, report } = trainSoftmax(features, dim, labels, classCount, allRows(240), { l2, maxIterations: 500, gradientTolerance: 1e-9 });
    const expected = await runPythonReference<{ loss: number; probabilities: number[] }>(join(import.meta.dirname, "softmaxReference.py"), {
      features: Array.from(features),
      labels: Array.from(labels),
      dim,
      classCount,
      l2,
    });
    expect(report.converged).toBe(true);
    expect(report.loss).toBeCloseTo(expected.loss, 9);
    const ours = predictRows(model, features, allRows(240));
    const largest = Math.max(...expected.probabilities.map((p, i) => Math.abs(p - ours[i])));
    expect(largest).toBeLessThan(1e-5);
  });

  it("is deterministic: the same inputs give the same model, byte for byte", () => {
    const { dim, classCount, features, labels } = blobs(90, 8);
    const first = trainSoftmax(features, dim, labels, classCount, allRows(90)).model;
    const second = trainSoftmax(features, dim, labels, classCount, allRows(90)).model;
    expect(softmaxModelToBytes(first)).toEqual(softmaxModelToBytes(second));
  });

  it("stops at the iteration cap and says it did not converge", () => {
    const { dim, classCount, features, labels } = blobs(90, 8);
    const seen: number[] = [];
    const { report } = trainSoftmax(features, dim, labels, classCount, allRows(90), { maxIterations: 3, onIteration: (iteration) => seen.push(iteration) });
    expect(report).toMatchObject({ iterations: 3, converged: false });
    expect(seen).toEqual([1, 2, 3]);
  });

  it("collects every shape problem", () => {
    const features = new Float32Array(10);
    expect(() => trainSoftmax(features, 4, [0, 1, 5], 2, [0, 1, 7])).toThrow(SoftmaxInputError);
    expect(() => trainSoftmax(features, 4, [0, 1, 5], 2, [0, 1, 7])).toThrow(
      "features has 10 values, not a whole number of 4-value rows; labels has 3 entries but features has 2 rows; rows[2] = 7 is not a row index in 0..1",
    );
  });
});

describe("folds", () => {
  it("stratifies: every fold gets its share of every class, sizes within one", () => {
    const labels = Int32Array.from({ length: 103 }, (_, i) => (i < 60 ? 0 : i < 90 ? 1 : 2));
    const foldOf = assignFolds(labels, 3, 5, 42);
    for (let fold = 0; fold < 5; fold++) {
      const held = foldRows(foldOf, fold);
      expect(held.length === 20 || held.length === 21, `fold ${fold} has ${held.length}`).toBe(true);
      const perClass = [0, 1, 2].map((c) => held.filter((row) => labels[row] === c).length);
      expect(perClass[0]).toBe(12);
      expect(perClass[1]).toBe(6);
      expect([2, 3]).toContain(perClass[2]);
      expect(foldRows(foldOf, fold, false).length).toBe(103 - held.length);
    }
    expect(assignFolds(labels, 3, 5, 42)).toEqual(foldOf);
    expect(assignFolds(labels, 3, 5, 43)).not.toEqual(foldOf);
  });

  it("one fold at a time gives the same probabilities as the whole run, through stored model bytes", () => {
    const { dim, classCount, features, labels } = blobs(150, 9);
    const whole = outOfFoldProbabilities(features, dim, labels, classCount, { folds: 3, seed: 4 });
    for (let fold = 0; fold < 3; fold++) {
      const result = runFold(features, dim, labels, classCount, whole.foldOf, fold);
      const stored = softmaxModelFromBytes(softmaxModelToBytes(result.model));
      const again = predictRows(stored, features, result.rows);
      result.rows.forEach((row, r) => {
        for (let c = 0; c < classCount; c++) expect(again[r * classCount + c]).toBe(whole.probabilities[row * classCount + c]);
      });
    }
  });

  it("rejects a stored model of the wrong length", () => {
    expect(() => softmaxModelFromBytes(new Uint8Array(new Float64Array([4, 2, 1, 2, 3]).buffer))).toThrow("a stored softmax model of 4 features × 2 classes needs 12 values, got 5");
  });
});
