import { beforeAll, describe, expect, it } from "vitest";
import { LabelErrorsInputError, averageVersionProbabilities, findSuspectLabels, selfConfidenceThresholds } from "../../convex/lib/labelErrors.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { outOfFoldProbabilities } from "../../convex/lib/softmaxRegression.ts";
import { demoFeatureSet, type DemoFeatureSet } from "./demoFeatureSet.ts";

describe("findSuspectLabels on hand-made probabilities", () => {
  // Three classes; thresholds come out as t0 = 0.7, t1 = 0.6, t2 = 0.5.
  const probabilities = [
    [0.8, 0.1, 0.1], // 0: labelled 0, clean
    [0.6, 0.3, 0.1], // 1: labelled 0, p0 < t0 but no rival clears its threshold: not confident anywhere
    [0.0, 0.9, 0.1], // 2: labelled 1, clean
    [0.1, 0.3, 0.6], // 3: labelled 1, p2 = 0.6 ≥ t2 → suspected 2, score 0.3
    [0.75, 0.1, 0.15], // 4: labelled 2, p0 ≥ t0 → suspected 0, score 0.6
    [0.25, 0.0, 0.75], // 5: labelled 2, clean
  ].flat();
  const labels = [0, 0, 1, 1, 2, 2];

  it("uses each class's mean self-confidence as its threshold", () => {
    expect(Array.from(selfConfidenceThresholds(probabilities, labels, 3)).map((t) => t.toFixed(4))).toEqual(["0.7000", "0.6000", "0.4500"]);
  });

  it("flags the off-diagonal items of the confident joint, most suspicious first", () => {
    const report = findSuspectLabels(probabilities, labels, 3, "out-of-fold");
    expect(report.suspects.map(({ index, givenLabel, suspectedLabel }) => ({ index, givenLabel, suspectedLabel }))).toEqual([
      { index: 4, givenLabel: 2, suspectedLabel: 0 },
      { index: 3, givenLabel: 1, suspectedLabel: 2 },
    ]);
    expect(report.suspects[0].score).toBeCloseTo(0.6, 12);
    expect(report.suspects[1].score).toBeCloseTo(0.3, 12);
    expect(Array.from(report.confidentJoint)).toEqual([1, 0, 0, 0, 1, 1, 1, 0, 1]);
    expect(report.perClass.map((c) => [c.labelled, c.flagged, c.suspectedAs])).toEqual([[2, 0, 1], [2, 1, 0], [2, 1, 1]]);
  });

  it("does not flag an item whose given class clears its threshold and beats the rival", () => {
    // t0 = 0.35, t1 = 0.3667, t2 = 0.6. Item 2 (labelled 1) has its rival class 0 at 0.35 ≥ t0, but its own
    // class at 0.45 ≥ t1 is more probable; item 5 (labelled 1) misses t1 and its class 0 clears t0.
    const report = findSuspectLabels(
      [
        [0.4, 0.3, 0.3],
        [0.3, 0.3, 0.4],
        [0.35, 0.45, 0.2],
        [0.1, 0.35, 0.55],
        [0.2, 0.2, 0.6],
        [0.5, 0.3, 0.2],
      ].flat(),
      [0, 0, 1, 1, 2, 1],
      3,
      "out-of-fold",
    );
    expect(report.suspects.map((s) => [s.index, s.suspectedLabel])).toEqual([[5, 0]]);
    expect(report.suspects[0].score).toBeCloseTo(0.2, 12);
  });

  it("never suspects a class nobody is labelled with", () => {
    const report = findSuspectLabels([0.1, 0.0, 0.9, 0.2, 0.0, 0.8], [1, 1], 3, "version-average");
    expect(report.perClass[0].threshold).toBeNull();
    expect(report.suspects).toEqual([]);
    expect(report.source).toBe("version-average");
  });

  it("lists the problems of a malformed input", () => {
    expect(() => findSuspectLabels([0.5, 0.5, 1.2, -0.2], [0, 3], 2, "out-of-fold")).toThrow(LabelErrorsInputError);
    expect(() => findSuspectLabels([0.5, 0.5, 1.2, -0.2], [0, 3], 2, "out-of-fold")).toThrow("labels[1] = 3 is not a class index in 0..1");
    expect(() => findSuspectLabels([0.5, 0.5, 1.2, -0.2], [0, 1], 2, "out-of-fold")).toThrow("probabilities of row 1, class 0 is 1.2, not a probability in [0, 1]");
    expect(() => findSuspectLabels([0.5, 0.5, 0.5], [0, 1], 2, "out-of-fold")).toThrow("probabilities has 3 values; 2 labels × 2 classes need 4");
  });
});

describe("averageVersionProbabilities", () => {
  it("averages versions whose classes come in different orders", () => {
    const mean = averageVersionProbabilities(
      [
        { version: 'v1 "a"', classes: ["x", "y"], probabilities: [0.8, 0.2, 0.4, 0.6] },
        { version: 'v2 "b"', classes: ["y", "x"], probabilities: [0.4, 0.6, 0.2, 0.8] },
      ],
      ["x", "y"],
      2,
    );
    expect(Array.from(mean).map((p) => p.toFixed(3))).toEqual(["0.700", "0.300", "0.600", "0.400"]);
  });

  it("names every version that does not share the classes or the items", () => {
    expect(() =>
      averageVersionProbabilities(
        [
          { version: 'v1 "a"', classes: ["x", "z"], probabilities: [1, 0] },
          { version: 'v2 "b"', classes: ["x", "y"], probabilities: [1, 0, 1] },
        ],
        ["x", "y"],
        1,
      ),
    ).toThrow('v1 "a" does not share the classes (lacks y; has extra z); expected exactly x, y; v2 "b" has 3 probabilities; 1 items × 2 classes need 2');
  });
});

describe("confident learning on tiny-clip features of the demo scenes, 5% of the labels flipped", () => {
  let set: DemoFeatureSet;
  beforeAll(async () => {
    set = await demoFeatureSet(100, 303);
  }, 120_000);

  it("finds at least 80% of the flipped items and flags at most 5% of the clean ones", async ({ annotate }) => {
    const count = set.labels.length;
    const classCount = set.classes.length;
    const random = seededRandom(7);
    const order = Array.from({ length: count }, (_, i) => i);
    for (let i = count - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const given = Int32Array.from(set.labels);
    const flipped = new Set(order.slice(0, Math.round(count * 0.05)));
    for (const i of flipped) given[i] = (set.labels[i] + 1 + Math.floor(random() * (classCount - 1))) % classCount;

    const { probabilities } = outOfFoldProbabilities(set.features, set.dim, given, classCount, { folds: 5, seed: 1 });
    const report = findSuspectLabels(probabilities, given, classCount, "out-of-fold");
    const found = report.suspects.filter((s) => flipped.has(s.index));
    const recall = found.length / flipped.size;
    const cleanFlagRate = (report.suspects.length - found.length) / (count - flipped.size);
    await annotate(`${count} items, ${flipped.size} flipped: found ${found.length} (recall ${(recall * 100).toFixed(1)}%), ${report.suspects.length - found.length} clean items flagged (${(cleanFlagRate * 100).toFixed(2)}%)`, "measured");
    expect(recall, "share of flipped items flagged").toBeGreaterThanOrEqual(0.8);
    expect(cleanFlagRate, "share of clean items flagged").toBeLessThanOrEqual(0.05);
    // A found flip should mostly point back at the true class.
    const pointsBack = found.filter((s) => s.suspectedLabel === set.labels[s.index]).length;
    expect(pointsBack / found.length).toBeGreaterThanOrEqual(0.9);
  });
});
