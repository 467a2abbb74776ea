import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { toCanonicalWeights, toMlpModel } from "../../convex/lib/mlpModel.ts";
import { WeightsDecodeError, decodeWeights, encodeWeights, looksLikeWeightsBinary, sha256Hex } from "../../convex/lib/weightsBinary.ts";
import { makeCanonicalWeights } from "./weightsFixtures.ts";

const model = toMlpModel(makeCanonicalWeights({ dims: [8, 6, 5, 3], outputActivation: "softmax", normalize: "l2" }));

function decodeError(bytes: Uint8Array): string {
  try {
    decodeWeights(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(WeightsDecodeError);
    return (error as Error).message;
  }
  throw new Error("decodeWeights accepted bad input");
}

function withUint32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const copy = bytes.slice();
  new DataView(copy.buffer).setUint32(offset, value, true);
  return copy;
}

describe("weights binary encoding", () => {
  it("round-trips exactly, metadata and every tensor bit", () => {
    const bytes = encodeWeights(model);
    const decoded = decodeWeights(bytes);
    expect(decoded).toEqual(model);
    expect(toCanonicalWeights(decoded)).toEqual(toCanonicalWeights(model));
    expect(encodeWeights(decoded)).toEqual(bytes);
  });

  it("keeps special float values bit-exact", () => {
    const special = toMlpModel(makeCanonicalWeights({ dims: [4, 2] }));
    special.layers[0].weight.set([-0, 1.401298464324817e-45, 3.4028234663852886e38, -1e-30]);
    const decoded = decodeWeights(encodeWeights(special));
    expect(Object.is(decoded.layers[0].weight[0], -0)).toBe(true);
    expect(Array.from(decoded.layers[0].weight.subarray(1, 4))).toEqual(Array.from(special.layers[0].weight.subarray(1, 4)));
  });

  it("lays out magic, version, header and 4-byte-aligned little-endian tensors", () => {
    const bytes = encodeWeights(model);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("MLPW");
    const view = new DataView(bytes.buffer);
    expect(view.getUint32(4, true)).toBe(1);
    const headerLength = view.getUint32(8, true);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength)));
    expect(header.layers).toEqual([
      { inDim: 8, outDim: 6, activation: "relu" },
      { inDim: 6, outDim: 5, activation: "relu" },
      { inDim: 5, outDim: 3, activation: "none" },
    ]);
    const tensorStart = Math.ceil((12 + headerLength) / 4) * 4;
    expect(view.getFloat32(tensorStart, true)).toBe(model.layers[0].weight[0]);
    expect(view.getFloat32(tensorStart + 4 * 48, true)).toBe(model.layers[0].bias[0]);
    expect(bytes.length).toBe(tensorStart + 4 * (48 + 6 + 30 + 5 + 15 + 3));
  });

  it("decodes aligned input as views into the same buffer, without copying", () => {
    const bytes = encodeWeights(model);
    const decoded = decodeWeights(bytes);
    expect(decoded.layers[0].weight.buffer).toBe(bytes.buffer);
    expect(decodeWeights(bytes.buffer as ArrayBuffer).layers[2].bias.buffer).toBe(bytes.buffer);
  });

  it("copies when the input is not 4-byte aligned, with the same values", () => {
    const bytes = encodeWeights(model);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const decoded = decodeWeights(shifted.subarray(1));
    expect(decoded.layers[0].weight.buffer).not.toBe(shifted.buffer);
    expect(decoded).toEqual(model);
  });

  it("rejects each kind of damage with a precise message", () => {
    const bytes = encodeWeights(model);
    const headerLength = new DataView(bytes.buffer).getUint32(8, true);
    expect(decodeError(bytes.subarray(0, 7))).toBe("weights binary is 7 bytes, too short for the 12-byte preamble");
    expect(decodeError(new TextEncoder().encode('{"format": "clip-mlp-weights"}'))).toBe(
      'not an MLP weights binary: bad magic bytes 7b 22 66 6f (expected 4d 4c 50 57, "MLPW")',
    );
    expect(decodeError(withUint32(bytes, 4, 2))).toBe("unsupported weights binary version 2; this build reads version 1");
    expect(decodeError(withUint32(bytes, 8, 0xffffffff))).toBe(`header length 4294967295 goes beyond the end of the file (${bytes.length} bytes, header starts at byte 12)`);
    const badJson = bytes.slice();
    badJson[12] = "[".charCodeAt(0);
    expect(decodeError(badJson)).toMatch(/^header is not valid UTF-8 JSON \(/);
    const truncated = bytes.subarray(0, bytes.length - 8);
    const tensorStart = Math.ceil((12 + headerLength) / 4) * 4;
    expect(decodeError(truncated)).toBe(`expected ${4 * 107} bytes of tensors, found ${4 * 105} (file is ${bytes.length - 8} bytes, tensors start at byte ${tensorStart})`);
    const extended = new Uint8Array(bytes.length + 4);
    extended.set(bytes);
    expect(decodeError(extended)).toMatch(`expected ${4 * 107} bytes of tensors, found ${4 * 108}`);
  });

  it("rejects a header whose shapes do not chain", () => {
    const tampered = encodeWeights(model);
    const headerLength = new DataView(tampered.buffer).getUint32(8, true);
    const text = new TextDecoder().decode(tampered.subarray(12, 12 + headerLength));
    const edited = text.replace('{"inDim":6,"outDim":5', '{"inDim":7,"outDim":5');
    expect(edited).not.toBe(text);
    tampered.set(new TextEncoder().encode(edited), 12);
    expect(decodeError(tampered)).toBe("header shapes are inconsistent: layers[1].inDim is 7 but layers[0].outDim is 6");
  });

  it("rejects a header that is valid JSON of the wrong shape", () => {
    const header = new TextEncoder().encode('{"name":"x"}');
    const bytes = new Uint8Array(12 + header.length);
    bytes.set([0x4d, 0x4c, 0x50, 0x57]);
    new DataView(bytes.buffer).setUint32(4, 1, true);
    new DataView(bytes.buffer).setUint32(8, header.length, true);
    bytes.set(header, 12);
    expect(decodeError(bytes)).toBe("header is malformed: classes must be a non-empty array of strings");
  });

  it("recognises its own magic only", () => {
    expect(looksLikeWeightsBinary(encodeWeights(model))).toBe(true);
    expect(looksLikeWeightsBinary(new TextEncoder().encode("{}"))).toBe(false);
    expect(looksLikeWeightsBinary(new Uint8Array(0))).toBe(false);
  });

  it("hashes with sha256, matching node:crypto", async () => {
    const bytes = encodeWeights(model);
    expect(await sha256Hex(bytes)).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(await sha256Hex(new Uint8Array(0))).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });
});
