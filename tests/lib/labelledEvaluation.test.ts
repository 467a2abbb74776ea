import { describe, expect, it } from "vitest";
import {
  compareOnLabelledSet,
  evaluateVersionOnSet,
  evaluationClasses,
  headlineMetrics,
  LabelledSetComparison,
  VersionEvaluation,
  type ModelOutput,
} from "../../convex/lib/labelledEvaluation.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";

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

describe("one version on the labelled set", () => {
  it("leaves out items whose label the version does not know, and counts them apart by label", () => {
    const { classes, report, excluded } = evaluateVersionOnSet(
      ["dog", "cat", "zebra", "zebra", "beagle"],
      [output([0.2, 0.8]), output([0.6, 0.4]), output([0.3, 0.7]), output([0.3, 0.7]), output([0.9, 0.1])],
      ["cat", "dog"],
    );
    expect(classes).toEqual(["cat", "dog"]);
    expect(report.itemCount).toBe(2);
    expect(report.accuracy).toBe(1);
    expect(report.confusion).toEqual([
      [1, 0],
      [0, 1],
    ]);
    expect(excluded).toEqual({ itemCount: 3, labels: [{ label: "zebra", count: 2 }, { label: "beagle", count: 1 }] });
    expect(headlineMetrics(report, excluded)).toEqual({ accuracy: 1, macroF1: 1, ece: report.expectedCalibrationError, itemCount: 2, excludedItemCount: 3 });
  });

  it("gives null metrics on an empty set", () => {
    const { report, excluded } = evaluateVersionOnSet([], [], ["cat"]);
    expect(headlineMetrics(report, excluded)).toEqual({ accuracy: null, macroF1: null, ece: null, itemCount: 0, excludedItemCount: 0 });
  });

  it("gives the same report page by page as all at once", () => {
    const random = seededRandom(5);
    const classes = ["a", "b", "c"];
    const labels = Array.from({ length: 200 }, () => ["a", "b", "c", "x"][Math.floor(random() * 4)]);
    const outputs = labels.map(() => output([random(), random(), random()]));
    const paged = new VersionEvaluation(classes);
    for (let start = 0; start < labels.length; start += 37) paged.addPage(labels.slice(start, start + 37), outputs.slice(start, start + 37));
    expect(paged.finish()).toEqual(evaluateVersionOnSet(labels, outputs, classes));
  });
});

describe("candidate versus baseline", () => {
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

  it("judges both on the items whose label both know, matching the hand-computed comparison", () => {
    const comparison = compareOnLabelledSet(source);
    expect(comparison.classes).toEqual(["cat", "dog", "bird"]);
    // "bird" is unknown to the baseline: left out of both reports.
    expect(comparison.itemCount).toBe(3);
    expect(comparison.excluded).toEqual({ itemCount: 1, labels: [{ label: "bird", count: 1 }] });
    expect(comparison.baseline.accuracy).toBeCloseTo(2 / 3, 12);
    expect(comparison.candidate.accuracy).toBeCloseTo(1 / 3, 12);
    // Items: cat (both right), dog (only the baseline right), the last cat (both say dog).
    expect(comparison.agreementRate).toBeCloseTo(2 / 3, 12);
    expect(comparison.disagreementCount).toBe(1);
    // (0.7 − 0.3) for the baseline's dog over cat, (0.7 − 0.2) for the candidate's cat over dog.
    expect(comparison.disagreements.map((d) => [d.index, d.pictureId, d.trueLabel, d.baselineLabel, d.candidateLabel, d.correct])).toEqual([
      [1, null, "dog", "dog", "cat", "baseline"],
    ]);
    expect(comparison.disagreements[0].margin).toBeCloseTo(0.9, 6);
    expect(comparison.mcnemar).toEqual({ baselineOnlyCorrect: 1, candidateOnlyCorrect: 0, pValue: 1 });
    expect(comparison.paired).toEqual({ n11: 1, n10: 1, n01: 0, n00: 1 });
  });

  it("is not pulled down by labels of another version's classes (dog breeds labelled through a breed model)", () => {
    const demoClasses = ["cat", "dog"];
    const clean = { ...source, labels: ["cat", "dog", "cat", "dog"], baselineClasses: demoClasses, candidateClasses: demoClasses,
      baselineOutputs: [output([0.9, 0.1]), output([0.2, 0.8]), output([0.8, 0.2]), output([0.3, 0.7])],
      candidateOutputs: [output([0.9, 0.1]), output([0.2, 0.8]), output([0.8, 0.2]), output([0.6, 0.4])], pictureIds: [null, null, null, null] };
    const withBreeds = {
      ...clean,
      labels: [...clean.labels, "beagle", "pug"],
      pictureIds: [...clean.pictureIds, "b1", "b2"],
      baselineOutputs: [...clean.baselineOutputs, output([0.5, 0.5]), output([0.5, 0.5])],
      candidateOutputs: [...clean.candidateOutputs, output([0.5, 0.5]), output([0.5, 0.5])],
    };
    const a = compareOnLabelledSet(clean);
    const b = compareOnLabelledSet(withBreeds);
    expect(b.candidate.macroF1).toBe(a.candidate.macroF1);
    expect(b.baseline.perClass).toEqual(a.baseline.perClass);
    expect(b.gate).toEqual(a.gate);
    expect(b.classes).toEqual(["cat", "dog"]);
    expect(b.excluded).toEqual({ itemCount: 2, labels: [{ label: "beagle", count: 1 }, { label: "pug", count: 1 }] });
  });

  it("says in one line when the versions share no class with the set", () => {
    const breeds = ["beagle", "pug"];
    const comparison = compareOnLabelledSet({ ...source, candidateClasses: breeds, candidateOutputs: source.labels.map(() => output([0.6, 0.4])), baselineName: "the active version" });
    expect(comparison.itemCount).toBe(0);
    expect(comparison.gate).toEqual({
      allowed: false,
      reasons: ["no classes in common with the labelled set: none of its 4 items has a label that both versions know, so the candidate cannot be compared with the active version"],
    });
  });

  it("blocks on the per-class recall the candidate loses, naming the class and the baseline", () => {
    const { gate } = compareOnLabelledSet(source);
    expect(gate.allowed).toBe(false);
    expect(gate.reasons.some((reason) => reason.includes("below the baseline's"))).toBe(true);
    expect(compareOnLabelledSet({ ...source, thresholds: { maxAccuracyDrop: 1, maxPerClassRecallDrop: 1, minPerClassRecall: 0 } }).gate).toEqual({ allowed: true, reasons: [] });
  });

  it("keeps only the largest disagreements, and the same ones page by page as all at once", () => {
    const random = seededRandom(11);
    const classes = ["a", "b", "c", "d"];
    const labels = Array.from({ length: 500 }, () => classes[Math.floor(random() * 4)]);
    const pictureIds = labels.map((_, i) => `p${i}`);
    const baselineOutputs = labels.map(() => output([random(), random(), random(), random()]));
    const candidateOutputs = labels.map(() => output([random(), random(), random(), random()]));
    const options = { baselineClasses: classes, candidateClasses: classes, thresholds: {}, disagreementLimit: 10 };
    const whole = compareOnLabelledSet({ ...options, labels, pictureIds, baselineOutputs, candidateOutputs });
    const paged = new LabelledSetComparison<string>(options);
    for (let start = 0; start < labels.length; start += 64) {
      const end = start + 64;
      paged.addPage(labels.slice(start, end), pictureIds.slice(start, end), baselineOutputs.slice(start, end), candidateOutputs.slice(start, end));
    }
    expect(paged.finish()).toEqual(whole);
    expect(whole.disagreements).toHaveLength(10);
    expect(whole.disagreementCount).toBeGreaterThan(10);
    const margins = whole.disagreements.map((d) => d.margin);
    expect(margins).toEqual([...margins].sort((x, y) => y - x));
    // Each listed disagreement names its own item.
    for (const d of whole.disagreements) expect(d.pictureId).toBe(`p${d.index}`);
  });

  it("the noSignificantRegression rule decides on Tango's test instead of the accuracy floor", () => {
    // 2,000 items: the candidate loses 10 it had right and gains 4, a 0.3-point drop.
    const labels = Array.from({ length: 2000 }, (_, i) => (i % 2 === 0 ? "a" : "b"));
    const right = (label: string) => output(label === "a" ? [0.9, 0.1] : [0.1, 0.9]);
    const wrong = (label: string) => output(label === "a" ? [0.1, 0.9] : [0.9, 0.1]);
    const baselineOutputs = labels.map((label, i) => (i >= 10 && i < 14 ? wrong(label) : right(label)));
    const candidateOutputs = labels.map((label, i) => (i < 10 ? wrong(label) : right(label)));
    const options = { labels, pictureIds: labels.map(() => null), baselineClasses: ["a", "b"], candidateClasses: ["a", "b"], baselineOutputs, candidateOutputs, disagreementLimit: 5 };
    const floors = compareOnLabelledSet({ ...options, thresholds: { rule: "floors", maxAccuracyDrop: 0.001 } });
    expect(floors.paired).toEqual({ n11: 1986, n10: 10, n01: 4, n00: 0 });
    expect(floors.gate.allowed).toBe(false);
    const tango = compareOnLabelledSet({ ...options, thresholds: { rule: "noSignificantRegression", nonInferiorityMargin: 0.02, maxAccuracyDrop: 0.001 } });
    expect(tango.evidence.verdict).toBe("non-inferior");
    expect(tango.gate).toEqual({ allowed: true, reasons: [] });
    const strict = compareOnLabelledSet({ ...options, thresholds: { rule: "noSignificantRegression", nonInferiorityMargin: 0.001 } });
    expect(strict.gate.allowed).toBe(false);
    expect(strict.gate.reasons[0]).toMatch(/^no significant regression is not shown \(margin 0\.001\)/);
  });
});
