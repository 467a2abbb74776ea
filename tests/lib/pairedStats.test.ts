import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  MIN_DISCORDANT_PAIRS,
  PairedStatsInputError,
  mcnemarItemsForPower,
  mcnemarPValues,
  nonInferiorityTest,
  normalCdf,
  normalQuantile,
  pairedBootstrapInterval,
  pairedEvidence,
  sampleBinomial,
  type PairedCounts,
} from "../../convex/lib/pairedStats.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { runPythonReference } from "./scipyPython.ts";

const counts = (n11: number, n10: number, n01: number, n00: number): PairedCounts => ({ n11, n10, n01, n00 });
const total = (c: PairedCounts) => c.n11 + c.n10 + c.n01 + c.n00;

const mcnemarCases = [counts(12, 1, 7, 1), counts(50, 0, 0, 5), counts(50, 5, 5, 5), counts(80, 0, 12, 8), counts(800, 40, 55, 105), counts(15000, 1000, 1100, 2900), counts(900, 3, 200, 0), counts(2000, 9000, 9400, 100)];
const bootstrapCases = [counts(1700, 60, 85, 155), counts(900, 3, 9, 88), counts(500, 0, 12, 88), counts(180, 40, 25, 55)];
const powerCases = [counts(800, 60, 90, 50), counts(400, 20, 40, 40), counts(300, 45, 30, 25)];
const tangoCases = [
  { counts: counts(1700, 60, 85, 155), margin: 0.01 },
  { counts: counts(1700, 85, 60, 155), margin: 0.01 },
  { counts: counts(450, 0, 3, 47), margin: 0.02 },
  { counts: counts(450, 4, 0, 46), margin: 0.02 },
  { counts: counts(2900, 86, 73, 66), margin: 0.01 },
  { counts: counts(16000, 600, 400, 3000), margin: 0.01 },
];
const normalPoints = [-8, -4.5, -3, -1.96, -0.5, 0, 0.3, 1, 2.5, 4.2, 6];
const quantilePoints = [1e-10, 1e-4, 0.01, 0.025, 0.2, 0.5, 0.8, 0.95, 0.975, 0.999, 1 - 1e-9];
const binomialCase = { n: 60, p: 0.3 };
const level = 0.95;

interface Reference {
  mcnemar: { pValue: number; midPValue: number }[];
  bootstrap: { lower: number; upper: number; sd: number }[];
  power: { n: number; exactPower: number }[];
  tango: { restrictedP10: number; z: number; pValue: number }[];
  normalCdf: number[];
  normalQuantile: number[];
  binomialPmf: number[];
}

let reference: Reference;

beforeAll(async () => {
  reference = await runPythonReference<Reference>(join(import.meta.dirname, "pairedStatsReference.py"), {
    mcnemar: mcnemarCases,
    bootstrap: bootstrapCases,
    power: powerCases,
    tango: tangoCases,
    normalCdf: normalPoints,
    normalQuantile: quantilePoints,
    binomial: binomialCase,
    level,
  });
}, 120_000);

describe("McNemar p-values", () => {
  it("match the published example of Fagerland, Lydersen & Laake (2013): 1 vs 7 discordant pairs", () => {
    const { pValue, midPValue } = mcnemarPValues(counts(12, 1, 7, 1));
    expect(pValue.toFixed(3)).toBe("0.070");
    expect(midPValue.toFixed(3)).toBe("0.039");
  });

  it("match scipy.stats.binomtest (exact) and the binomial mid-p from scipy.stats.binom", () => {
    mcnemarCases.forEach((c, i) => {
      const ours = mcnemarPValues(c);
      const expected = reference.mcnemar[i];
      expect(ours.pValue, `exact p for ${JSON.stringify(c)}`).toBeCloseTo(expected.pValue, 12);
      expect(ours.midPValue, `mid-p for ${JSON.stringify(c)}`).toBeCloseTo(expected.midPValue, 12);
      if (expected.pValue > 1e-300) expect(Math.abs(ours.pValue / expected.pValue - 1)).toBeLessThan(1e-8);
    });
  });

  it("rejects counts that are not whole numbers, naming every bad cell", () => {
    expect(() => mcnemarPValues({ n11: 1.5, n10: -1, n01: 0, n00: 0 })).toThrow("n11 must be a whole number ≥ 0, got 1.5; n10 must be a whole number ≥ 0, got -1");
    expect(() => mcnemarPValues({ n11: 1.5, n10: -1, n01: 0, n00: 0 })).toThrow(PairedStatsInputError);
  });
});

describe("normal distribution", () => {
  it("Φ matches scipy.stats.norm.cdf to 1e-14 absolute and 1e-12 relative", () => {
    normalPoints.forEach((x, i) => {
      expect(Math.abs(normalCdf(x) - reference.normalCdf[i]), `Φ(${x})`).toBeLessThan(1e-14);
      expect(Math.abs(normalCdf(x) / reference.normalCdf[i] - 1), `Φ(${x}) relative`).toBeLessThan(1e-12);
    });
  });

  it("Φ⁻¹ matches scipy.stats.norm.ppf to 1e-12", () => {
    quantilePoints.forEach((p, i) => expect(normalQuantile(p), `Φ⁻¹(${p})`).toBeCloseTo(reference.normalQuantile[i], 12));
  });
});

describe("sampleBinomial", () => {
  it("draws Binomial(60, 0.3) with frequencies within 5 standard errors of scipy's pmf", () => {
    const draws = 200_000;
    const random = seededRandom(11);
    const frequencies = new Float64Array(binomialCase.n + 1);
    for (let i = 0; i < draws; i++) frequencies[sampleBinomial(binomialCase.n, binomialCase.p, random)]++;
    reference.binomialPmf.forEach((pmf, k) => {
      const standardError = Math.sqrt((pmf * (1 - pmf)) / draws);
      expect(Math.abs(frequencies[k] / draws - pmf), `P(X = ${k})`).toBeLessThanOrEqual(5 * standardError + 1e-9);
    });
  });

  it("handles p = 0, p = 1 and n = 0", () => {
    const random = seededRandom(1);
    expect([sampleBinomial(10, 0, random), sampleBinomial(10, 1, random), sampleBinomial(0, 0.5, random)]).toEqual([0, 10, 0]);
  });
});

describe("pairedBootstrapInterval", () => {
  it("matches the exact quantiles of the bootstrap distribution (computed by enumeration in Python) within Monte Carlo error", () => {
    bootstrapCases.forEach((c, i) => {
      const interval = pairedBootstrapInterval(c, { resamples: 10_000, seed: 3, level });
      const expected = reference.bootstrap[i];
      // 10,000 resamples put a 2.5% quantile within ~0.03 standard deviations; the lattice step is 1/n.
      const tolerance = 0.1 * expected.sd + 2 / total(c);
      expect(Math.abs(interval.lower - expected.lower), `lower for ${JSON.stringify(c)}`).toBeLessThanOrEqual(tolerance);
      expect(Math.abs(interval.upper - expected.upper), `upper for ${JSON.stringify(c)}`).toBeLessThanOrEqual(tolerance);
    });
  });

  it("is reproducible for a seed and differs between seeds", () => {
    const c = bootstrapCases[0];
    expect(pairedBootstrapInterval(c, { seed: 5 })).toEqual(pairedBootstrapInterval(c, { seed: 5 }));
    expect(pairedBootstrapInterval(c, { seed: 5 }).lower).not.toBe(pairedBootstrapInterval(c, { seed: 6, resamples: 2000 }).lower);
  });

  it("is the single point 0 when the versions never disagree", () => {
    const interval = pairedBootstrapInterval(counts(90, 0, 0, 10));
    expect([interval.lower, interval.upper]).toEqual([0, 0]);
  });

  it("refuses an empty comparison and a bad level together", () => {
    expect(() => pairedBootstrapInterval(counts(0, 0, 0, 0), { level: 1.5 })).toThrow("the comparison has no items; level must be strictly between 0 and 1, got 1.5");
  });
});

describe("mcnemarItemsForPower (Connor 1987)", () => {
  it("equals Connor's formula evaluated with scipy.stats.norm.ppf, and that many items give McNemar's test 80% power (exact enumeration)", () => {
    powerCases.forEach((c, i) => {
      const expected = reference.power[i];
      expect(mcnemarItemsForPower(c), JSON.stringify(c)).toBe(expected.n);
      expect(expected.exactPower, `exact power at n = ${expected.n}`).toBeGreaterThan(0.78);
      expect(expected.exactPower, `exact power at n = ${expected.n}`).toBeLessThan(0.82);
    });
  });

  it("is null when the observed difference is 0", () => {
    expect(mcnemarItemsForPower(counts(80, 5, 5, 10))).toBeNull();
    expect(mcnemarItemsForPower(counts(80, 0, 0, 10))).toBeNull();
  });
});

describe("nonInferiorityTest (Tango's score test)", () => {
  it("matches a score statistic built on the restricted MLE found numerically by scipy.optimize", () => {
    tangoCases.forEach(({ counts: c, margin }, i) => {
      const ours = nonInferiorityTest(c, margin);
      const expected = reference.tango[i];
      expect(ours.z, `z for ${JSON.stringify(c)}, δ = ${margin}`).toBeCloseTo(expected.z, 6);
      expect(ours.pValue, `p for ${JSON.stringify(c)}, δ = ${margin}`).toBeCloseTo(expected.pValue, 7);
      expect(ours.nonInferior).toBe(expected.pValue < 0.05);
    });
  });

  it("rejects a margin outside (0, 1)", () => {
    expect(() => nonInferiorityTest(counts(10, 1, 1, 1), 0)).toThrow("margin must be strictly between 0 and 1, got 0");
  });
});

describe("pairedEvidence verdicts", () => {
  it("non-inferior: 20,000 items, candidate slightly ahead", () => {
    const evidence = pairedEvidence(counts(18000, 300, 320, 1380));
    expect(evidence.verdict).toBe("non-inferior");
    expect(evidence.difference).toBeCloseTo(0.001, 12);
    expect(evidence.discordantPairs).toBe(620);
  });

  it("worse: the candidate loses a full point on 20,000 items", () => {
    const evidence = pairedEvidence(counts(16000, 600, 400, 3000));
    expect(evidence.verdict).toBe("worse");
    expect(evidence.mcnemar.midPValue).toBeLessThan(1e-6);
  });

  it(`too small to tell: fewer than ${MIN_DISCORDANT_PAIRS} discordant pairs`, () => {
    const evidence = pairedEvidence(counts(40, 1, 2, 7));
    expect(evidence.verdict).toBe("too-small-to-tell");
    expect(evidence.reasons[0]).toBe(`only 3 items are right for one version and wrong for the other (at least ${MIN_DISCORDANT_PAIRS} are needed)`);
  });

  it("too small to tell: the interval contains both −δ and +δ", () => {
    const evidence = pairedEvidence(counts(250, 15, 16, 19));
    expect(evidence.verdict).toBe("too-small-to-tell");
    expect(evidence.bootstrap!.lower).toBeLessThan(-0.01);
    expect(evidence.bootstrap!.upper).toBeGreaterThan(0.01);
    expect(evidence.reasons.some((reason) => reason.includes("contains both −1.00 pp and +1.00 pp"))).toBe(true);
  });

  it("regression not ruled out: a narrow interval that still reaches −δ", () => {
    const evidence = pairedEvidence(counts(2900, 86, 73, 66));
    expect(evidence.verdict).toBe("regression-not-ruled-out");
    expect(evidence.bootstrap!.upper).toBeLessThan(0.01);
    expect(evidence.nonInferiority!.pValue).toBeGreaterThan(0.05);
    expect(evidence.itemsForPower).toBeGreaterThan(3125);
  });

  it("an empty set is too small to tell, with no interval", () => {
    const evidence = pairedEvidence(counts(0, 0, 0, 0));
    expect(evidence).toMatchObject({ verdict: "too-small-to-tell", bootstrap: null, nonInferiority: null, difference: null });
  });
});
