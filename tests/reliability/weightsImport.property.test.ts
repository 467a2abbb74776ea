/**
 * Property-based abuse of the weights importer: whatever JSON (or text) an
 * admin uploads, importWeightsJson/importWeightsValue return a result — never
 * throw — and a refusal always names at least one problem with its path.
 */
import { afterEach, describe, expect, test } from "vitest";
import fc from "fast-check";
import { importWeightsJson, importWeightsValue, type ImportResult } from "../../convex/lib/weightsImport.ts";
import { canonicalWeightsSchema } from "../../convex/lib/weightsSchema.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { mlpForward } from "../../convex/lib/mlpForward.ts";
import { clone, makeCanonicalWeights, toSequentialStateDict } from "../lib/weightsFixtures.ts";

const canonical = makeCanonicalWeights({ dims: [8, 6, 5, 3] });
const canonicalText = JSON.stringify(canonical, null, 2);
const stateDictText = JSON.stringify(toSequentialStateDict(canonical));

/** The contract every import result must meet, whatever the input. */
function expectWellFormed(result: ImportResult): void {
  if (result.ok) {
    expect(canonicalWeightsSchema.safeParse(result.weights).success).toBe(true);
    const model = toMlpModel(result.weights);
    const probabilities = mlpForward(model, new Array(model.layers[0].inDim).fill(0.5)).probabilities;
    expect(probabilities.every(Number.isFinite)).toBe(true);
    return;
  }
  expect(result.problems.length).toBeGreaterThan(0);
  // MAX_PROBLEMS (200) plus one "N more problems" line.
  expect(result.problems.length).toBeLessThanOrEqual(201);
  for (const problem of result.problems) {
    expect(typeof problem.path).toBe("string");
    expect(typeof problem.message).toBe("string");
    expect(problem.message.length).toBeGreaterThan(0);
  }
}

function importBoth(value: unknown, text = textOf(value)): ImportResult[] {
  return [importWeightsValue(value), ...(text === undefined ? [] : [importWeightsJson(text), importWeightsJson(text, { inputDim: 8 })])];
}

/**
 * Hostile replacements for any one value of a weights document. Deep and huge
 * ones are built inside the property from a small recipe, so fast-check can
 * print a counterexample without overflowing its own stack.
 */
type HostileRecipe = ["json", unknown] | ["deepArray" | "deepObject" | "zeros" | "numericStrings", number] | ["protoKey", null];
const hostileRecipe: fc.Arbitrary<HostileRecipe> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }).map((value): HostileRecipe => ["json", value]),
  fc.constantFrom("NaN", "Infinity", "-Infinity", "1e999", "0x10", "", " 1", "null", "__proto__").map((value): HostileRecipe => ["json", value]),
  fc.constantFrom(Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, -0, 1e308, 2 ** 53).map((value): HostileRecipe => ["json", value]),
  fc.integer({ min: 1, max: 40_000 }).map((depth): HostileRecipe => ["deepArray", depth]),
  fc.integer({ min: 1, max: 40_000 }).map((depth): HostileRecipe => ["deepObject", depth]),
  fc.integer({ min: 10_000, max: 200_000 }).map((length): HostileRecipe => ["zeros", length]),
  fc.integer({ min: 10_000, max: 100_000 }).map((length): HostileRecipe => ["numericStrings", length]),
  fc.constant<HostileRecipe>(["protoKey", null]),
);

function buildHostile([kind, parameter]: HostileRecipe): unknown {
  switch (kind) {
    case "json":
      return parameter;
    case "deepArray":
      return deepArray(parameter);
    case "deepObject":
      return deepObject(parameter);
    case "zeros":
      return new Array(parameter).fill(0);
    case "numericStrings":
      return new Array(parameter).fill("1");
    case "protoKey":
      return JSON.parse('{"__proto__": {"polluted": true, "weight": [[1]], "bias": [1]}}');
  }
}

/** The document's text, or undefined when it is too deep for JSON.stringify (the text path has its own deep-nesting test). */
function textOf(value: unknown): string | undefined {
  try {
    return JSON.stringify(value);
  } catch (error) {
    if (error instanceof RangeError) return undefined;
    throw error;
  }
}

function deepArray(depth: number): unknown {
  let value: unknown = [1];
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function deepObject(depth: number): unknown {
  let value: unknown = { weight: 1 };
  for (let i = 0; i < depth; i++) value = { layers: value };
  return value;
}

/** Every path (as keys) of a JSON document, containers and leaves alike, sampled so huge tensors do not dominate. */
function samplePaths(value: unknown, prefix: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
  out.push(prefix);
  if (Array.isArray(value)) {
    const indices = value.length <= 3 ? value.map((_, i) => i) : [0, Math.floor(value.length / 2), value.length - 1];
    for (const i of indices) samplePaths(value[i], [...prefix, i], out);
  } else if (typeof value === "object" && value !== null) {
    for (const key of Object.keys(value)) samplePaths((value as Record<string, unknown>)[key], [...prefix, key], out);
  }
  return out;
}

function replaceAt(document: unknown, path: Array<string | number>, replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const copy = clone(document) as Record<string | number, unknown>;
  let parent = copy;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
  parent[path[path.length - 1]] = replacement;
  return copy;
}

const canonicalPaths = samplePaths(canonical);
const stateDict = toSequentialStateDict(canonical);
const stateDictPaths = samplePaths(stateDict);

afterEach(() => {
  // Nothing a document says may reach Object.prototype.
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(({} as Record<string, unknown>).layers).toBeUndefined();
});

describe("weights importer: arbitrary input never throws", () => {
  test("arbitrary JSON values and their text are refused or accepted with a well-formed result", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        for (const result of importBoth(value)) expectWellFormed(result);
      }),
      { numRuns: 300 },
    );
  });

  test("arbitrary strings (not JSON) give an 'invalid JSON at line L, column C' problem", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: "binary" }), (text) => {
        const result = importWeightsJson(text);
        expectWellFormed(result);
      }),
      { numRuns: 300 },
    );
  });

  test("one hostile value anywhere in a canonical document: a result naming the problem, never an exception", () => {
    fc.assert(
      fc.property(fc.constantFrom(...canonicalPaths), hostileRecipe, (path, recipe) => {
        const document = replaceAt(canonical, path, buildHostile(recipe));
        for (const result of importBoth(document)) expectWellFormed(result);
      }),
      { numRuns: 60 },
    );
  });

  test("one hostile value anywhere in a PyTorch state_dict: a result naming the problem, never an exception", () => {
    fc.assert(
      fc.property(fc.constantFrom(...stateDictPaths), hostileRecipe, (path, recipe) => {
        const document = replaceAt(stateDict, path, buildHostile(recipe));
        for (const result of importBoth(document)) expectWellFormed(result);
      }),
      { numRuns: 60 },
    );
  });

  test("strings where numbers belong, including NaN/Infinity spelled as strings, are refused at their path", () => {
    const numberPaths = canonicalPaths.filter((path) => typeof path.reduce<unknown>((v, k) => (v as Record<string | number, unknown>)[k], canonical) === "number");
    fc.assert(
      fc.property(
        fc.constantFrom(...numberPaths),
        fc.oneof(fc.constantFrom("NaN", "Infinity", "-Infinity", "1e999", "0.5", ""), fc.string({ maxLength: 10 })),
        (path, text) => {
          const result = importWeightsValue(replaceAt(canonical, path, text));
          expect(result.ok).toBe(false);
          if (!result.ok) {
            const where = path.map((k) => (typeof k === "number" ? `[${k}]` : `.${k}`)).join("").replace(/^\./, "");
            expect(result.problems.map((p) => p.path)).toContain(where);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test("bare NaN / Infinity tokens in the text are refused with their path", () => {
    fc.assert(
      fc.property(fc.constantFrom("NaN", "Infinity", "-Infinity"), fc.nat({ max: 1000 }), (token, pick) => {
        const numbers = [...canonicalText.matchAll(/-?\d+\.\d+(e-?\d+)?/g)];
        const match = numbers[pick % numbers.length];
        const text = canonicalText.slice(0, match.index) + token + canonicalText.slice(match.index! + match[0].length);
        const result = importWeightsJson(text);
        expectWellFormed(result);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.problems.some((p) => p.message.includes(`found ${token}`))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  test("every truncation of a valid file is refused as invalid JSON at a line and column", () => {
    for (const text of [canonicalText, stateDictText]) {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: text.length - 1 }), (length) => {
          const result = importWeightsJson(text.slice(0, length));
          expectWellFormed(result);
          // A prefix may still be valid JSON (e.g. "1" of "12"): only the whole document is a valid file.
          expect(result.ok).toBe(false);
          if (!result.ok && text.slice(0, length).trim() !== "") expect(result.problems[0].message).toMatch(/^invalid JSON at line \d+, column \d+: /);
        }),
        { numRuns: 200 },
      );
    }
  });

  test("deep nesting (up to 100 000 levels) in the text is refused without a stack overflow", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.constantFrom("[", '{"layers":'), fc.boolean(), (depth, opener, closed) => {
        const closer = opener === "[" ? "]" : "}";
        const text = `{"format":"clip-mlp-weights","layers":${opener.repeat(depth)}1${closed ? closer.repeat(depth) : ""}}`;
        const result = importWeightsJson(text);
        expectWellFormed(result);
        expect(result.ok).toBe(false);
      }),
      { numRuns: 12 },
    );
  });

  test("__proto__, constructor and prototype keys are plain data: refused or ignored, never inherited", () => {
    fc.assert(
      fc.property(fc.constantFrom("__proto__", "constructor", "prototype", "hasOwnProperty", "toString"), fc.constantFrom(...canonicalPaths.filter((p) => p.length <= 2)), (key, path) => {
        const text = JSON.stringify(replaceAt(canonical, path, { placeholder: true })).replace('"placeholder":true', `"${key}":{"polluted":true,"layers":[]}`);
        const result = importWeightsJson(text);
        expectWellFormed(result);
        // A prototype key's payload is never read as the document's own fields.
        if (result.ok) expect((result.weights as unknown as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 100 },
    );
    // The whole document a __proto__ wrapper: nothing to import.
    const wrapped = importWeightsJson(`{"__proto__": ${canonicalText}}`);
    expect(wrapped.ok).toBe(false);
  });

  test("a weight finite as a double but beyond float32's range is refused, naming the range", () => {
    const document = clone(canonical);
    document.layers[1].weight[0][3] = 1e300;
    const result = importWeightsValue(document);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problems).toEqual([
        { path: "layers[1].weight[0][3]", message: "layers[1].weight[0][3] is 1e+300, beyond float32's range of ±3.4028234663852886e38: weights are stored as float32, where it would become Infinity" },
      ]);
    }
    document.layers[1].weight[0][3] = 3.4028234663852886e38;
    expect(importWeightsValue(document).ok).toBe(true);
  });

  test("huge arrays (a 200 000-row weight, 100 000 classes) are refused with the shapes named", () => {
    const rows = clone(canonical);
    rows.layers[0].weight = Array.from({ length: 200_000 }, () => [0, 0, 0, 0, 0, 0, 0, 0]);
    const tooManyRows = importWeightsValue(rows);
    expectWellFormed(tooManyRows);
    expect(tooManyRows.ok).toBe(false);
    if (!tooManyRows.ok) expect(tooManyRows.problems.map((p) => p.message).join("\n")).toMatch(/200000/);

    const classes = clone(canonical);
    classes.classes = Array.from({ length: 100_000 }, (_, i) => `c${i}`);
    const tooManyClasses = importWeightsValue(classes);
    expectWellFormed(tooManyClasses);
    expect(tooManyClasses.ok).toBe(false);
  });
});
