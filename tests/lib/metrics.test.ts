import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  agreementRate,
  compareVersions,
  disagreementMargin,
  evaluateClassifier,
  evaluatePromotionGate,
  listDisagreements,
  mcnemarExactPValue,
  mcnemarTest,
  MetricsInputError,
  type ClassificationReport,
  type Prediction,
} from "../../convex/lib/metrics.ts";

function predictionsOf(labels: number[], confidences: number[] = labels.map(() => 0.9)): Prediction[] {
  return labels.map((labelIndex, index) => ({ labelIndex, confidence: confidences[index] }));
}

function withProbabilities(probabilities: number[][]): Prediction[] {
  return probabilities.map((row) => {
    const confidence = Math.max(...row);
    return { labelIndex: row.indexOf(confidence), confidence, probabilities: row };
  });
}

describe("evaluateClassifier", () => {
  // Hand-worked example: confusion rows are true labels, columns predictions.
  //   true 0: [2, 1, 0]   true 1: [0, 1, 1]   true 2: [0, 0, 1]
  const trueLabels = [0, 0, 0, 1, 1, 2];
  const predictions = predictionsOf([0, 0, 1, 1, 2, 2], [0.95, 0.85, 0.55, 0.75, 0.62, 1]);

  it("computes accuracy, per-class metrics, macro-F1 and the confusion matrix", () => {
    const report = evaluateClassifier({ trueLabels, predictions, classCount: 3 });
    expect(report.itemCount).toBe(6);
    expect(report.correctCount).toBe(4);
    expect(report.accuracy).toBeCloseTo(4 / 6, 12);
    expect(report.confusion).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    const [cat0, cat1, cat2] = report.perClass;
    expect(cat0).toMatchObject({ precision: 1, support: 3, predictedCount: 2 });
    expect(cat0.recall).toBeCloseTo(2 / 3, 12);
    expect(cat0.f1).toBeCloseTo(0.8, 12);
    expect(cat1).toMatchObject({ precision: 0.5, recall: 0.5, f1: 0.5, support: 2, predictedCount: 2 });
    expect(cat2).toMatchObject({ precision: 0.5, recall: 1, support: 1, predictedCount: 2 });
    expect(cat2.f1).toBeCloseTo(2 / 3, 12);
    expect(report.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
  });

  it("computes ECE and reliability bins from top-label confidence", () => {
    const report = evaluateClassifier({ trueLabels, predictions, classCount: 3 });
    // Per non-empty bin |accuracy − mean confidence|: 0.55, 0.62, 0.25, 0.15 and 0.025 (×2 items).
    expect(report.expectedCalibrationError).toBeCloseTo((0.55 + 0.62 + 0.25 + 0.15 + 2 * 0.025) / 6, 12);
    expect(report.reliability).toHaveLength(10);
    expect(report.reliability[0]).toEqual({ lower: 0, upper: 0.1, count: 0, meanConfidence: null, accuracy: null });
    expect(report.reliability[5]).toEqual({ lower: 0.5, upper: 0.6, count: 1, meanConfidence: 0.55, accuracy: 0 });
    const lastBin = report.reliability[9];
    expect(lastBin.count).toBe(2);
    expect(lastBin.meanConfidence).toBeCloseTo(0.975, 12);
    expect(lastBin.accuracy).toBe(1);
    expect(report.reliability.reduce((sum, bin) => sum + bin.count, 0)).toBe(6);
  });

  it("puts a confidence on a bin edge into the upper bin, and exactly 1 into the last", () => {
    const report = evaluateClassifier({ trueLabels: [0, 0, 0], predictions: predictionsOf([0, 0, 0], [0.3, 0.7, 1]), classCount: 1 });
    expect(report.reliability.map((bin) => bin.count)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0, 1]);
  });

  it("excludes a class absent from both truth and predictions from macro-F1", () => {
    const report = evaluateClassifier({ trueLabels, predictions, classCount: 4 });
    expect(report.perClass[3]).toEqual({ classIndex: 3, precision: null, recall: null, f1: null, support: 0, predictedCount: 0 });
    expect(report.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3, 12);
  });

  it("scores a class predicted but never true as F1 0 with undefined recall", () => {
    const report = evaluateClassifier({ trueLabels: [0, 0], predictions: predictionsOf([0, 1]), classCount: 3 });
    expect(report.perClass[1]).toEqual({ classIndex: 1, precision: 0, recall: null, f1: 0, support: 0, predictedCount: 1 });
    expect(report.perClass[0].f1).toBeCloseTo(2 / 3, 12);
    expect(report.macroF1).toBeCloseTo(1 / 3, 12);
  });

  it("returns null metrics, not NaN, for an empty set", () => {
    const report = evaluateClassifier({ trueLabels: [], predictions: [], classCount: 2 });
    expect(report).toMatchObject({ itemCount: 0, accuracy: null, macroF1: null, expectedCalibrationError: null });
    expect(report.confusion).toEqual([
      [0, 0],
      [0, 0],
    ]);
    expect(report.perClass.every((metrics) => metrics.precision === null && metrics.recall === null && metrics.f1 === null)).toBe(true);
    expect(report.reliability.every((bin) => bin.count === 0 && bin.accuracy === null)).toBe(true);
    expect(JSON.stringify(report)).not.toContain("NaN");
  });

  it("gives a perfect, fully confident model accuracy 1, macro-F1 1 and ECE 0", () => {
    const labels = [0, 1, 2, 1];
    const report = evaluateClassifier({ trueLabels: labels, predictions: predictionsOf(labels, [1, 1, 1, 1]), classCount: 3 });
    expect(report.accuracy).toBe(1);
    expect(report.macroF1).toBe(1);
    expect(report.expectedCalibrationError).toBe(0);
    expect(report.perClass.every((metrics) => metrics.precision === 1 && metrics.recall === 1)).toBe(true);
  });

  it("handles a constant predictor", () => {
    const report = evaluateClassifier({ trueLabels: [0, 1, 2, 0], predictions: predictionsOf([0, 0, 0, 0], [0.5, 0.5, 0.5, 0.5]), classCount: 3 });
    expect(report.accuracy).toBe(0.5);
    expect(report.perClass[0]).toMatchObject({ precision: 0.5, recall: 1, support: 2, predictedCount: 4 });
    expect(report.perClass[0].f1).toBeCloseTo(2 / 3, 12);
    expect(report.perClass[1]).toMatchObject({ precision: null, recall: 0, f1: 0 });
    expect(report.macroF1).toBeCloseTo(2 / 9, 12);
    expect(report.expectedCalibrationError).toBe(0);
  });

  it("reports every structural problem at once", () => {
    const bad = () =>
      evaluateClassifier({
        trueLabels: [0, 5, 1],
        predictions: [
          { labelIndex: 0, confidence: 0.5 },
          { labelIndex: 1.5, confidence: 1.2 },
          { labelIndex: 1, confidence: 0.7, probabilities: [0.3, 0.7, 0] },
        ],
        classCount: 2,
      });
    expect(bad).toThrow(MetricsInputError);
    try {
      bad();
    } catch (error) {
      expect((error as MetricsInputError).problems).toEqual([
        "trueLabels[1] must be an integer class index in [0, 1], got 5",
        "predictions[1].labelIndex must be an integer class index in [0, 1], got 1.5",
        "predictions[1].confidence must be a number in [0, 1], got 1.2",
        "predictions[2].probabilities has 3 entries but classCount is 2",
      ]);
    }
  });

  it("rejects mismatched lengths", () => {
    expect(() => evaluateClassifier({ trueLabels: [0], predictions: [], classCount: 2 })).toThrow("trueLabels has 1 items but predictions has 0");
  });
});

describe("agreement and disagreements", () => {
  const a = withProbabilities([
    [0.7, 0.2, 0.1],
    [0.5, 0.4, 0.1],
    [0.1, 0.1, 0.8],
    [0.9, 0.05, 0.05],
  ]);
  const b = withProbabilities([
    [0.6, 0.3, 0.1],
    [0.45, 0.5, 0.05],
    [0.1, 0.8, 0.1],
    [0.05, 0.05, 0.9],
  ]);

  it("computes the agreement rate", () => {
    expect(agreementRate(a, b)).toBe(0.25);
    expect(agreementRate([], [])).toBeNull();
  });

  it("defines the margin as each version's preference for its own answer, summed", () => {
    // A: 0.5 − 0.4, B: 0.5 − 0.45
    expect(disagreementMargin(a[1], b[1])).toBeCloseTo(0.15, 12);
    // Without probabilities, the other label's probability counts as 0.
    expect(disagreementMargin({ labelIndex: 0, confidence: 0.6 }, { labelIndex: 1, confidence: 0.7 })).toBeCloseTo(1.3, 12);
  });

  it("lists disagreements ranked by margin, with who was right", () => {
    const disagreements = listDisagreements(a, b, [0, 1, 2, 1]);
    expect(disagreements.map((item) => item.index)).toEqual([3, 2, 1]);
    expect(disagreements[0]).toMatchObject({ labelA: 0, labelB: 2, trueLabel: 1, correct: "neither" });
    expect(disagreements[0].margin).toBeCloseTo(0.85 + 0.85, 12);
    expect(disagreements[1]).toMatchObject({ labelA: 2, labelB: 1, correct: "A", confidenceA: 0.8, confidenceB: 0.8 });
    expect(disagreements[1].margin).toBeCloseTo(0.7 + 0.7, 12);
    expect(disagreements[2]).toMatchObject({ correct: "B" });
    expect(listDisagreements(a, b, undefined, 1)).toEqual([expect.objectContaining({ index: 3, trueLabel: null, correct: "unknown" })]);
  });

  it("rejects prediction lists of different lengths", () => {
    expect(() => agreementRate(a, b.slice(1))).toThrow("predictionsA has 4 items but predictionsB has 3");
  });
});

describe("McNemar's exact test", () => {
  // Reference values: exact rational arithmetic, 2·Σ_{i≤min(b,c)} C(n,i)/2^n (Python fractions).
  it.each([
    [5, 0, 0.0625],
    [10, 2, 0.03857421875],
    [7, 3, 0.34375],
    [12, 30, 0.007915897334896727],
    [1000, 900, 0.02310884510890107],
    [5000, 4800, 0.04440414879984629],
  ])("b=%i, c=%i gives p=%f", (b, c, expected) => {
    expect(mcnemarExactPValue(b, c)).toBeCloseTo(expected, 12);
    expect(mcnemarExactPValue(b, c) / expected).toBeCloseTo(1, 9);
    expect(mcnemarExactPValue(c, b)).toBeCloseTo(expected, 12);
  });

  it("caps at 1 and returns 1 without discordant pairs", () => {
    expect(mcnemarExactPValue(3, 3)).toBe(1);
    expect(mcnemarExactPValue(1, 0)).toBe(1);
    expect(mcnemarExactPValue(0, 0)).toBe(1);
  });

  it("stays finite for very large counts", () => {
    const pValue = mcnemarExactPValue(200_000, 199_000);
    expect(Number.isFinite(pValue)).toBe(true);
    expect(pValue).toBeGreaterThan(0);
    expect(pValue).toBeLessThan(1);
    expect(mcnemarExactPValue(3000, 0)).toBe(0);
  });

  it("counts discordant pairs from predictions", () => {
    const truth = [0, 0, 1, 1, 1];
    const result = mcnemarTest(truth, predictionsOf([0, 0, 0, 0, 1]), predictionsOf([1, 0, 1, 1, 0]));
    expect(result).toEqual({ b: 2, c: 2, pValue: 1 });
  });

  it("rejects negative or fractional counts", () => {
    expect(() => mcnemarExactPValue(-1, 2)).toThrow("b must be a non-negative integer, got -1");
  });
});

describe("compareVersions", () => {
  it("bundles both reports, agreement, disagreements and McNemar", () => {
    const comparison = compareVersions({
      trueLabels: [0, 1, 1, 0],
      classCount: 2,
      predictionsA: predictionsOf([0, 1, 0, 0]),
      predictionsB: predictionsOf([0, 1, 1, 1]),
      disagreementLimit: 1,
    });
    expect(comparison.a.accuracy).toBe(0.75);
    expect(comparison.b.accuracy).toBe(0.75);
    expect(comparison.accuracyDifference).toBe(0);
    expect(comparison.agreementRate).toBe(0.5);
    expect(comparison.disagreementCount).toBe(2);
    expect(comparison.disagreements).toHaveLength(1);
    expect(comparison.mcnemar).toEqual({ b: 1, c: 1, pValue: 1 });
  });

  it("handles an empty set", () => {
    const comparison = compareVersions({ trueLabels: [], classCount: 2, predictionsA: [], predictionsB: [] });
    expect(comparison).toMatchObject({ accuracyDifference: null, agreementRate: null, disagreementCount: 0, mcnemar: { b: 0, c: 0, pValue: 1 } });
  });
});

describe("evaluatePromotionGate", () => {
  // 50 items of class 0 and 50 of class 1; `correct` says how many of each are right.
  function reportWith(correct: [number, number]): ClassificationReport {
    const trueLabels = [...new Array(50).fill(0), ...new Array(50).fill(1)];
    const labels = trueLabels.map((label, index) => {
      const position = index % 50;
      return position < correct[label] ? label : 1 - label;
    });
    return evaluateClassifier({ trueLabels, predictions: predictionsOf(labels), classCount: 2 });
  }

  it("allows a candidate at least as good as the active version", () => {
    expect(evaluatePromotionGate(reportWith([45, 45]), reportWith([44, 44]))).toEqual({ allowed: true, reasons: [] });
  });

  it("allows a drop exactly at the threshold despite float noise", () => {
    expect(evaluatePromotionGate(reportWith([42, 42]), reportWith([43, 42])).allowed).toBe(true);
  });

  it("blocks an accuracy drop and a per-class recall drop, with readable reasons", () => {
    const verdict = evaluatePromotionGate(reportWith([45, 36]), reportWith([43, 42]), {}, ["cat", "dog"], { baselineName: "the active version" });
    expect(verdict.allowed).toBe(false);
    expect(verdict.reasons).toEqual([
      "accuracy 0.81 is 0.04 below the active version's 0.85 (allowed drop 0.01)",
      `recall for "dog" 0.72 is 0.12 below the active version's 0.84 (allowed drop 0.05)`,
    ]);
  });

  it("names the baseline as 'the baseline' unless told it is the active version", () => {
    expect(evaluatePromotionGate(reportWith([45, 36]), reportWith([43, 42])).reasons[0]).toBe("accuracy 0.81 is 0.04 below the baseline's 0.85 (allowed drop 0.01)");
  });

  it("applies the recall floor only where the candidate is also worse than active", () => {
    const thresholds = { maxAccuracyDrop: 1, maxPerClassRecallDrop: 1, minPerClassRecall: 0.5 };
    const worse = evaluatePromotionGate(reportWith([50, 20]), reportWith([50, 22]), thresholds);
    expect(worse.reasons).toEqual(["recall for class 1 0.4 is below the floor 0.5 (the baseline: 0.44, support 50)"]);
    expect(evaluatePromotionGate(reportWith([50, 22]), reportWith([50, 20]), thresholds).allowed).toBe(true);
  });

  it("states both the drop and the floor when a class breaches both", () => {
    const verdict = evaluatePromotionGate(reportWith([50, 20]), reportWith([50, 40]), { maxAccuracyDrop: 1 }, ["cat", "dog"]);
    expect(verdict.reasons).toEqual([
      `recall for "dog" 0.4 is 0.4 below the baseline's 0.8 (allowed drop 0.05)`,
      `recall for "dog" 0.4 is below the floor 0.5 (the baseline: 0.8, support 50)`,
    ]);
  });

  it("does not judge a class absent from the set", () => {
    const absent = (labels: number[]) => evaluateClassifier({ trueLabels: [0, 0, 1, 1], predictions: predictionsOf(labels), classCount: 3 });
    expect(evaluatePromotionGate(absent([0, 0, 1, 1]), absent([0, 0, 1, 1]))).toEqual({ allowed: true, reasons: [] });
  });

  it("blocks on an empty set, since there is no evidence", () => {
    const empty = evaluateClassifier({ trueLabels: [], predictions: [], classCount: 2 });
    expect(evaluatePromotionGate(empty, empty)).toEqual({
      allowed: false,
      reasons: ["the labelled set is empty, so the candidate cannot be compared with the baseline"],
    });
  });

  it("says there are no classes in common when every item was left out, in one line", () => {
    const empty = evaluateClassifier({ trueLabels: [], predictions: [], classCount: 25 });
    expect(evaluatePromotionGate(empty, empty, {}, [], { baselineName: "the active version", excludedItemCount: 40 })).toEqual({
      allowed: false,
      reasons: ["no classes in common with the labelled set: none of its 40 items has a label that both versions know, so the candidate cannot be compared with the active version"],
    });
  });

  it("refuses reports from different sets", () => {
    expect(() => evaluatePromotionGate(reportWith([1, 1]), evaluateClassifier({ trueLabels: [0], predictions: predictionsOf([0]), classCount: 2 }))).toThrow(
      "must come from the same set",
    );
  });
});

describe("invariants on random inputs", () => {
  const items = fc.integer({ min: 1, max: 5 }).chain((classCount) =>
    fc.record({
      classCount: fc.constant(classCount),
      rows: fc.array(
        fc.record({ truth: fc.integer({ min: 0, max: classCount - 1 }), a: fc.integer({ min: 0, max: classCount - 1 }), b: fc.integer({ min: 0, max: classCount - 1 }), confidence: fc.double({ min: 0, max: 1, noNaN: true }) }),
        { maxLength: 40 },
      ),
    }),
  );

  it("keeps every metric in range and consistent with the confusion matrix", () => {
    fc.assert(
      fc.property(items, ({ classCount, rows }) => {
        const trueLabels = rows.map((row) => row.truth);
        const predictionsA = rows.map((row) => ({ labelIndex: row.a, confidence: row.confidence }));
        const predictionsB = rows.map((row) => ({ labelIndex: row.b, confidence: row.confidence }));
        const comparison = compareVersions({ trueLabels, classCount, predictionsA, predictionsB });
        const report = comparison.a;
        expect(report.confusion.flat().reduce((sum, count) => sum + count, 0)).toBe(rows.length);
        expect(report.perClass.reduce((sum, metrics) => sum + metrics.support, 0)).toBe(rows.length);
        const rates = [report.accuracy, report.macroF1, report.expectedCalibrationError, comparison.agreementRate];
        if (rows.length === 0) expect(rates).toEqual([null, null, null, null]);
        for (const value of [...rates.filter((rate) => rate !== null), comparison.mcnemar.pValue]) {
          expect(value).toBeGreaterThanOrEqual(0);
          expect(value).toBeLessThanOrEqual(1);
        }
        expect(comparison.mcnemar.b - comparison.mcnemar.c).toBe(report.correctCount - comparison.b.correctCount);
        expect(comparison.disagreementCount).toBe(rows.filter((row) => row.a !== row.b).length);
      }),
      { numRuns: 200 },
    );
  });
});
