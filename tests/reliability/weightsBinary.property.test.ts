/**
 * Property-based abuse of the .mlpw decoder: truncated, padded, tampered and
 * random bytes. decodeWeights either returns a model whose tensors exactly
 * fill the file or throws a WeightsDecodeError — never a RangeError or
 * TypeError from reading past the end — and a sha256 check catches what the
 * structure cannot (a flipped bit inside a tensor).
 */
import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
  WeightsDecodeError,
  decodeVerifiedWeights,
  decodeWeights,
  encodeWeights,
  sha256Hex,
  verifyWeightsSha256,
} from "../../convex/lib/weightsBinary.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { makeCanonicalWeights } from "../lib/weightsFixtures.ts";

const model = toMlpModel(makeCanonicalWeights({ dims: [8, 6, 5, 3], outputActivation: "softmax" }));
const valid = encodeWeights(model);
const headerLength = new DataView(valid.buffer).getUint32(8, true);
const tensorStart = (12 + headerLength + 3) & ~3;

/** Runs decodeWeights; any error other than WeightsDecodeError fails the property with its name. */
function decodeOutcome(bytes: Uint8Array): { model: MlpModel } | { error: WeightsDecodeError } {
  try {
    return { model: decodeWeights(bytes) };
  } catch (error) {
    if (error instanceof WeightsDecodeError) return { error };
    throw new Error(`decodeWeights threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}, not a WeightsDecodeError`);
  }
}

/** What a successful decode must satisfy: the tensors account for every byte after the header. */
function expectConsistent(decoded: MlpModel, bytes: Uint8Array): void {
  const floats = decoded.layers.reduce((sum, layer) => sum + layer.weight.length + layer.bias.length, 0);
  expect(floats * 4).toBeLessThanOrEqual(bytes.length);
  decoded.layers.forEach((layer, i) => {
    expect(layer.weight.length).toBe(layer.inDim * layer.outDim);
    expect(layer.bias.length).toBe(layer.outDim);
    expect(layer.inDim).toBe(i === 0 ? decoded.input.dim : decoded.layers[i - 1].outDim);
  });
  expect(decoded.layers[decoded.layers.length - 1].outDim).toBe(decoded.classes.length);
}

function withUint32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe("weights binary decoder: bad bytes", () => {
  test("every truncation is refused with a WeightsDecodeError", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), (length) => {
        const outcome = decodeOutcome(valid.slice(0, length));
        expect("error" in outcome).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("extra bytes after the last tensor are refused", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (extra) => {
        const padded = new Uint8Array(valid.length + extra.length);
        padded.set(valid);
        padded.set(extra, valid.length);
        const outcome = decodeOutcome(padded);
        expect("error" in outcome && outcome.error.message).toMatch(/expected \d+ bytes of tensors, found \d+/);
      }),
      { numRuns: 100 },
    );
  });

  test("a header length that lies (any u32) is refused or, if it happens to fit, still yields a consistent model", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (length) => {
        const outcome = decodeOutcome(withUint32(valid, 8, length));
        if ("model" in outcome) expectConsistent(outcome.model, valid);
        else if (length > valid.length - 12) expect(outcome.error.message).toMatch(/header length \d+ goes beyond the end of the file/);
      }),
      { numRuns: 300 },
    );
  });

  test("a version other than 1 is refused naming both versions", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }).filter((v) => v !== 1), (version) => {
        const outcome = decodeOutcome(withUint32(valid, 4, version));
        expect("error" in outcome && outcome.error.message).toBe(`unsupported weights binary version ${version}; this build reads version 1`);
      }),
      { numRuns: 100 },
    );
  });

  test("a header that lies about the shapes (dims, layer count, class count) is refused", () => {
    const header = JSON.parse(new TextDecoder().decode(valid.subarray(12, 12 + headerLength)));
    const lies = fc.oneof(
      fc.record({ layer: fc.integer({ min: 0, max: 2 }), field: fc.constantFrom("inDim", "outDim"), value: fc.integer({ min: -5, max: 100_000 }) }),
      fc.record({ layer: fc.constant(-1), field: fc.constant("classes"), value: fc.integer({ min: 0, max: 50 }).filter((count) => count !== 3) }),
      fc.record({ layer: fc.constant(-1), field: fc.constant("dim"), value: fc.integer({ min: 0, max: 1 << 30 }) }),
    );
    fc.assert(
      fc.property(lies, ({ layer, field, value }) => {
        const lied = structuredClone(header);
        if (field === "classes") lied.classes = Array.from({ length: value }, (_, i) => `c${i}`);
        else if (field === "dim") lied.input.dim = value;
        else lied.layers[layer][field] = value;
        fc.pre(JSON.stringify(lied) !== JSON.stringify(header));
        const headerBytes = new TextEncoder().encode(JSON.stringify(lied));
        const start = (12 + headerBytes.length + 3) & ~3;
        const bytes = new Uint8Array(start + (valid.length - tensorStart));
        bytes.set(valid.subarray(0, 12));
        new DataView(bytes.buffer).setUint32(8, headerBytes.length, true);
        bytes.set(headerBytes, 12);
        bytes.set(valid.subarray(tensorStart), start);
        const outcome = decodeOutcome(bytes);
        expect("error" in outcome).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  test("any single flipped byte: decodeWeights never escapes with another error, and the sha256 check always refuses", async () => {
    const sha = await sha256Hex(valid);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 1, max: 255 }), async (offset, mask) => {
        const tampered = valid.slice();
        tampered[offset] ^= mask;
        const outcome = decodeOutcome(tampered);
        if ("model" in outcome) expectConsistent(outcome.model, tampered);
        await expect(decodeVerifiedWeights(tampered, sha)).rejects.toThrow(WeightsDecodeError);
        await expect(verifyWeightsSha256(tampered, sha)).rejects.toThrow(
          new RegExp(`^weights binary sha256 is [0-9a-f]{64} but ${sha} was expected: the ${valid.length}-byte file was changed or corrupted after it was imported$`),
        );
      }),
      { numRuns: 150 },
    );
    // Tensor bytes carry no structure: only the hash notices them.
    const tensorFlip = valid.slice();
    tensorFlip[tensorStart + 5] ^= 0x40;
    expect(() => decodeWeights(tensorFlip)).not.toThrow();
    await expect(decodeVerifiedWeights(tensorFlip, sha)).rejects.toThrow(/was changed or corrupted after it was imported/);
    expect(await decodeVerifiedWeights(valid, sha)).toEqual(model);
    expect(await decodeVerifiedWeights(valid, sha.toUpperCase())).toEqual(model);
  });

  test("an expected sha256 that is not 64 hex digits is refused before hashing", async () => {
    await expect(verifyWeightsSha256(valid, "abc")).rejects.toThrow('expected sha256 must be 64 hex digits, got "abc"');
    await expect(verifyWeightsSha256(valid, "")).rejects.toThrow(WeightsDecodeError);
    await expect(verifyWeightsSha256(valid, "g".repeat(64))).rejects.toThrow(WeightsDecodeError);
  });

  test("random bytes, with or without the magic, are refused with a WeightsDecodeError", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.boolean(), (random, withMagic) => {
        const bytes = random.slice();
        if (withMagic && bytes.length >= 4) bytes.set([0x4d, 0x4c, 0x50, 0x57], 0);
        const outcome = decodeOutcome(bytes);
        if ("model" in outcome) expectConsistent(outcome.model, bytes);
      }),
      { numRuns: 300 },
    );
  });

  test("a misaligned view and an ArrayBuffer decode like the original; a misaligned truncation is still refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 0, max: 64 }), (shift, cut) => {
        const backing = new Uint8Array(valid.length + shift);
        backing.set(valid, shift);
        const view = backing.subarray(shift);
        expect(decodeWeights(view)).toEqual(model);
        const outcome = decodeOutcome(view.subarray(0, view.length - 1 - cut));
        expect("error" in outcome).toBe(true);
      }),
      { numRuns: 50 },
    );
    expect(decodeWeights(valid.slice().buffer)).toEqual(model);
  });
});
