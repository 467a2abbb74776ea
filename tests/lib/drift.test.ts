import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  classDistribution,
  DEFAULT_PSI_EPSILON,
  distributionDrift,
  DriftInputError,
  jensenShannonDivergence,
  populationStabilityIndex,
} from "../../convex/lib/drift.ts";

describe("classDistribution", () => {
  it("turns counts into shares", () => {
    expect(classDistribution([1, 3, 0])).toEqual([0.25, 0.75, 0]);
  });

  it("returns null for no counts rather than NaN shares", () => {
    expect(classDistribution([0, 0])).toBeNull();
    expect(classDistribution([])).toBeNull();
  });

  it("rejects negative counts with their position", () => {
    expect(() => classDistribution([1, -2])).toThrow("counts[1] must be a finite count ≥ 0, got -2");
  });
});

describe("Jensen–Shannon divergence", () => {
  it("is 0 for identical distributions, whatever the totals", () => {
    expect(jensenShannonDivergence([10, 20, 30], [1, 2, 3])).toBeCloseTo(0, 12);
  });

  it("is 1 for disjoint distributions", () => {
    expect(jensenShannonDivergence([5, 0, 0], [0, 3, 7])).toBe(1);
  });

  it("matches a hand-computed value, per class and in total", () => {
    // P = (½, ½), Q = (1, 0), M = (¾, ¼).
    const report = distributionDrift(["cat", "dog"], [1, 1], [2, 0]);
    const catTerm = 0.25 * Math.log2(2 / 3) + 0.5 * Math.log2(4 / 3);
    expect(report.perClass[0].jensenShannon).toBeCloseTo(catTerm, 12);
    expect(report.perClass[1].jensenShannon).toBeCloseTo(0.25, 12);
    expect(report.jensenShannon).toBeCloseTo(catTerm + 0.25, 12);
    expect(report.jensenShannon).toBeCloseTo(0.311278, 6);
  });

  it("is symmetric", () => {
    expect(jensenShannonDivergence([3, 1, 4], [1, 5, 9])).toBeCloseTo(jensenShannonDivergence([1, 5, 9], [3, 1, 4]) ?? Number.NaN, 12);
  });
});

describe("population stability index", () => {
  it("is 0 for identical distributions", () => {
    expect(populationStabilityIndex([4, 6], [40, 60])).toBeCloseTo(0, 12);
  });

  it("floors an empty class's share at epsilon", () => {
    const report = distributionDrift(["cat", "dog"], [1, 1], [2, 0]);
    expect(report.epsilon).toBe(DEFAULT_PSI_EPSILON);
    expect(report.perClass[0].psi).toBeCloseTo(0.5 * Math.log(2), 12);
    expect(report.perClass[1].psi).toBeCloseTo((1e-4 - 0.5) * Math.log(1e-4 / 0.5), 12);
    expect(report.psi).toBeCloseTo(0.5 * Math.log(2) + (1e-4 - 0.5) * Math.log(1e-4 / 0.5), 12);
    expect(populationStabilityIndex([1, 1], [2, 0], 0.01)).toBeCloseTo(0.5 * Math.log(2) + (0.01 - 0.5) * Math.log(0.01 / 0.5), 12);
  });
});

describe("distributionDrift", () => {
  it("reports counts, shares and totals per class", () => {
    const report = distributionDrift(["a", "b"], [3, 1], [1, 1]);
    expect(report).toMatchObject({ totalA: 4, totalB: 2 });
    expect(report.perClass.map(({ label, countA, countB, shareA, shareB }) => ({ label, countA, countB, shareA, shareB }))).toEqual([
      { label: "a", countA: 3, countB: 1, shareA: 0.75, shareB: 0.5 },
      { label: "b", countA: 1, countB: 1, shareA: 0.25, shareB: 0.5 },
    ]);
  });

  it("returns null divergences when a window is empty", () => {
    const report = distributionDrift(["a", "b"], [0, 0], [1, 2]);
    expect(report.jensenShannon).toBeNull();
    expect(report.psi).toBeNull();
    expect(report.perClass[1]).toEqual({ label: "b", countA: 0, countB: 2, shareA: 0, shareB: 2 / 3, jensenShannon: null, psi: null });
    expect(JSON.stringify(report)).not.toContain("NaN");
  });

  it("handles no classes at all", () => {
    expect(distributionDrift([], [], [])).toMatchObject({ jensenShannon: null, psi: null, perClass: [] });
  });

  it("lists every problem with misaligned or invalid input", () => {
    try {
      distributionDrift(["a", "b"], [1, Number.NaN, 2], [1, 2], { epsilon: 0 });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(DriftInputError);
      expect((error as DriftInputError).problems).toEqual([
        "expected one count per label (2), got countsA: 3, countsB: 2",
        "epsilon must be in (0, 1), got 0",
        "countsA[1] must be a finite count ≥ 0, got NaN",
      ]);
    }
  });
});

describe("invariants on random counts", () => {
  it("keeps Jensen–Shannon in [0, 1], symmetric, with per-class terms ≥ 0 summing to the total", () => {
    const pair = fc.integer({ min: 1, max: 8 }).chain((length) => fc.tuple(fc.array(fc.nat(50), { minLength: length, maxLength: length }), fc.array(fc.nat(50), { minLength: length, maxLength: length })));
    fc.assert(
      fc.property(pair, ([countsA, countsB]) => {
        const report = distributionDrift(countsA.map(String), countsA, countsB);
        if (report.jensenShannon === null) {
          expect(countsA.every((count) => count === 0) || countsB.every((count) => count === 0)).toBe(true);
          return;
        }
        expect(report.jensenShannon).toBeGreaterThanOrEqual(0);
        expect(report.jensenShannon).toBeLessThanOrEqual(1);
        expect(jensenShannonDivergence(countsB, countsA)).toBeCloseTo(report.jensenShannon, 12);
        const terms = report.perClass.map((entry) => entry.jensenShannon ?? Number.NaN);
        expect(terms.every((term) => term >= -1e-15)).toBe(true);
        expect(terms.reduce((sum, term) => sum + term, 0)).toBeCloseTo(report.jensenShannon, 12);
        expect(report.psi).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 200 },
    );
  });
});
