import { describe, expect, it } from "vitest";
import { DEFAULT_FINGERPRINT_THRESHOLD, compareFingerprints, cosineSimilarity, type ClipFingerprint } from "../../convex/lib/clipFingerprint.ts";
import { parseClipFingerprintFile } from "../../convex/lib/clipFingerprintFile.ts";

const setup = { modelId: "tiny-clip", dtype: "fp32", preprocessing: "shortest edge 224 bicubic, centre crop 224, /255, CLIP mean/std" };

function fingerprint(images: Record<string, number[]>, overrides: Partial<ClipFingerprint> = {}): ClipFingerprint {
  return { ...setup, images: Object.entries(images).map(([name, features]) => ({ name, features })), ...overrides };
}

describe("compareFingerprints", () => {
  const recorded = fingerprint({ a: [1, 0, 0], b: [0, 2, 0], c: [1, 1, 1] });

  it("reports each image's cosine, the minimum and a match when every image clears the threshold", () => {
    const observed = fingerprint({ c: [1, 1, 1.01], a: [2, 0, 0], b: [0, 1, 0.01] });
    const result = compareFingerprints(recorded, observed, DEFAULT_FINGERPRINT_THRESHOLD);
    if (!result.ok) throw new Error(result.problems.join("; "));
    expect(result.comparison.perImage.map((image) => image.name)).toEqual(["a", "b", "c"]);
    expect(result.comparison.perImage[0].cosine).toBeCloseTo(1, 15);
    expect(result.comparison.perImage[1].cosine).toBeCloseTo(1 / Math.sqrt(1.0001), 15);
    expect(result.comparison.minimum).toBe(result.comparison.perImage[1].cosine);
    expect(result.comparison.perImage[2].cosine).toBeCloseTo(cosineSimilarity([1, 1, 1], [1, 1, 1.01]), 15);
    expect(result.comparison.worstImage).toBe("b");
    expect(result.comparison.verdict).toBe("match");
    expect(result.comparison.setupDifferences).toEqual([]);
  });

  it("is a mismatch when one image falls below, and tells which setup fields differ", () => {
    const observed = fingerprint({ a: [1, 0.2, 0], b: [0, 2, 0], c: [1, 1, 1] }, { dtype: "q8" });
    const result = compareFingerprints(recorded, observed, 0.99);
    if (!result.ok) throw new Error(result.problems.join("; "));
    expect(result.comparison).toMatchObject({ verdict: "mismatch", worstImage: "a", setupDifferences: ['dtype: recorded "fp32", observed "q8"'] });
    expect(result.comparison.minimum).toBeCloseTo(1 / Math.sqrt(1.04), 15);
  });

  it("collects every shape problem of both sides", () => {
    const observed = fingerprint({ a: [1, 0], b: [0, Number.NaN, 0], d: [0, 0, 0] });
    const result = compareFingerprints(recorded, observed, 1.5);
    expect(result).toEqual({
      ok: false,
      problems: [
        'the observed fingerprint image 1 ("b") has 3 features, but image 0 ("a") has 2',
        'the observed fingerprint image 1 ("b"): features[1] is NaN; expected a finite number',
        'the observed fingerprint image 2 ("d") has 3 features, but image 0 ("a") has 2',
        'the observed fingerprint image 2 ("d"): every feature is 0, so no direction can be compared',
        "the threshold must be a cosine in (−1, 1], got 1.5",
        'the observed fingerprint lacks image "c"',
        'the observed fingerprint has image "d" that the recorded one does not',
        "the recorded features have 3 dimensions but the observed ones 2",
      ],
    });
  });

  it("refuses repeated names and an empty fingerprint", () => {
    const repeated: ClipFingerprint = { ...setup, images: [{ name: "a", features: [1] }, { name: "a", features: [2] }] };
    const result = compareFingerprints(repeated, fingerprint({}), 0.9);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toContain('the recorded fingerprint image 1 ("a"): the name is used twice; each reference image must be named once');
    expect(result.problems).toContain("the observed fingerprint has no reference images");
  });
});

describe("parseClipFingerprintFile", () => {
  const file = { format: "clip-fingerprint", formatVersion: 1, ...setup, images: [{ name: "sunset-1.png", features: [0.5, -1, 2] }] };

  it("reads a valid file", () => {
    expect(parseClipFingerprintFile(JSON.stringify(file))).toEqual({ ok: true, fingerprint: file });
  });

  it("names the path of every schema problem", () => {
    const broken = { ...file, formatVersion: 2, modelId: "", images: [{ name: "x", features: [1, "2"] }] };
    const result = parseClipFingerprintFile(JSON.stringify(broken), "fp.json");
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems).toHaveLength(3);
    expect(result.problems[0]).toMatch(/^fp\.json: formatVersion is 2; /);
    expect(result.problems[1]).toMatch(/^fp\.json: modelId is the string ""; /);
    expect(result.problems[2]).toMatch(/^fp\.json: images\[0\]\.features\[1\] is the string "2"; /);
  });

  it("reports JSON syntax errors with their position and ragged features after the schema passes", () => {
    const syntax = parseClipFingerprintFile('{"format": ', "fp.json");
    expect(syntax.ok).toBe(false);
    if (!syntax.ok) expect(syntax.problems[0]).toMatch(/^fp\.json is not valid JSON: line 1, column \d+/);
    const ragged = parseClipFingerprintFile(JSON.stringify({ ...file, images: [...file.images, { name: "b", features: [1] }] }), "fp.json");
    expect(ragged).toEqual({ ok: false, problems: ['fp.json image 1 ("b") has 1 features, but image 0 ("sunset-1.png") has 3'] });
  });
});
