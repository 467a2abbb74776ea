import { describe, expect, it } from "vitest";
import { compareOnLabelledSet, evaluateVersionOnSet, evaluationClasses, headlineMetrics, type ModelOutput } from "../../convex/lib/labelledEvaluation.ts";

function output(probabilities: number[]): ModelOutput {
  const labelIndex = probabilities.indexOf(Math.max(...probabilities));
  return { probabilities, labelIndex, confidence: probabilities[labelIndex] };
}

describe("evaluationClasses", () => {
  it("unions the lists keeping first occurrences in order", () => {
    expect(evaluationClasses(["cat", "dog"], ["dog", "bird", "cat"], ["fish", "bird"])).toEqual(["cat", "dog", "bird", "fish"]);
    expect(evaluationClasses()).toEqual([]);
  });
});

describe("evaluateVersionOnSet", () => {
  it("scores a version against labels it may not know, mapping its classes by name", () => {
    const { classes, report } = evaluateVersionOnSet(
      ["dog", "cat", "zebra"],
      [output([0.2, 0.8]), output([0.6, 0.4]), output([0.3, 0.7])],
      ["cat", "dog"],
    );
    expect(classes).toEqual(["cat", "dog", "zebra"]);
    expect(report.accuracy).toBeCloseTo(2 / 3, 12);
    // The unknown class is never predicted: its item lands in the "dog" column.
    expect(report.confusion).toEqual([
      [1, 0, 0],
      [0, 1, 0],
      [0, 1, 0],
    ]);
    expect(headlineMetrics(report)).toEqual({
      accuracy: report.accuracy,
      macroF1: report.macroF1,
      ece: report.expectedCalibrationError,
      itemCount: 3,
    });
  });

  it("gives null metrics on an empty set", () => {
    const { report } = evaluateVersionOnSet([], [], ["cat"]);
    expect(headlineMetrics(report)).toEqual({ accuracy: null, macroF1: null, ece: null, itemCount: 0 });
  });
});

describe("compareOnLabelledSet", () => {
  // Baseline knows [cat, dog]; the candidate orders its classes [dog, cat, bird].
  const source = {
    labels: ["cat", "dog", "bird", "cat"],
    pictureIds: ["p0", null, "p2", null],
    baselineClasses: ["cat", "dog"],
    baselineOutputs: [output([0.9, 0.1]), output([0.3, 0.7]), output([0.6, 0.4]), output([0.2, 0.8])],
    candidateClasses: ["dog", "cat", "bird"],
    candidateOutputs: [output([0.1, 0.8, 0.1]), output([0.2, 0.7, 0.1]), output([0.1, 0.2, 0.7]), output([0.5, 0.3, 0.2])],
    thresholds: {},
    disagreementLimit: 100,
  };

  it("matches the hand-computed comparison", () => {
    const comparison = compareOnLabelledSet(source);
    expect(comparison.classes).toEqual(["cat", "dog", "bird"]);
    expect(comparison.itemCount).toBe(4);
    expect(comparison.baseline.accuracy).toBe(0.5);
    expect(comparison.candidate.accuracy).toBe(0.5);
    expect(comparison.accuracyDifference).toBe(0);
    expect(comparison.agreementRate).toBe(0.5);
    expect(comparison.disagreementCount).toBe(2);
    // Item 2: baseline 0.6 − 0 for cat over bird, candidate 0.7 − 0.2 → 1.1; item 1: (0.7 − 0.3) + (0.7 − 0.2) → 0.9.
    expect(comparison.disagreements.map((d) => [d.index, d.pictureId, d.trueLabel, d.baselineLabel, d.candidateLabel, d.correct])).toEqual([
      [2, "p2", "bird", "cat", "bird", "candidate"],
      [1, null, "dog", "dog", "cat", "baseline"],
    ]);
    expect(comparison.disagreements[0].margin).toBeCloseTo(1.1, 6);
    expect(comparison.disagreements[1].margin).toBeCloseTo(0.9, 6);
    expect(comparison.disagreements[0]).toMatchObject({ baselineConfidence: 0.6, candidateConfidence: 0.7 });
    expect(comparison.mcnemar).toEqual({ baselineOnlyCorrect: 1, candidateOnlyCorrect: 1, pValue: 1 });
  });

  it("blocks on the per-class recall the candidate loses, naming the class", () => {
    const { gate } = compareOnLabelledSet(source);
    expect(gate.allowed).toBe(false);
    expect(gate.reasons).toHaveLength(2);
    expect(gate.reasons.every((reason) => reason.includes('"dog"'))).toBe(true);
    expect(compareOnLabelledSet({ ...source, thresholds: { maxPerClassRecallDrop: 1, minPerClassRecall: 0 } }).gate).toEqual({
      allowed: true,
      reasons: [],
    });
  });

  it("keeps only the largest disagreements when limited", () => {
    const limited = compareOnLabelledSet({ ...source, disagreementLimit: 1 });
    expect(limited.disagreementCount).toBe(2);
    expect(limited.disagreements.map((d) => d.index)).toEqual([2]);
  });
});
