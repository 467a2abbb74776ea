/**
 * No weights in the browser bundle: builds the production bundle once (vite
 * build into a temporary folder) and looks for the MLP weights from
 * weights/ in it — as decimal numbers in any text asset, as float32 byte
 * pairs (the .mlpw layout) in any file, and as copied files.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, extname, join, relative, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const weightsDir = join(root, "weights");
const SAMPLES_PER_FILE = 200;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

interface WeightsSample {
  file: string;
  /** The numbers as written in the file, e.g. "-0.108181275". */
  decimals: string[];
  /** |value| as float32, for matching however a minifier prints the number. */
  magnitudes: Set<number>;
  /** Two consecutive float32 values of one weight row, little-endian: 8 bytes as a .mlpw file holds them. */
  bytePairs: Uint8Array[];
}

/** Numbers with at least 6 significant digits: short ones like 0.5 are everywhere in any bundle. */
function isDistinctive(token: string): boolean {
  return token.replace(/e.*$/i, "").replace(/[^0-9]/g, "").replace(/^0+/, "").length >= 6;
}

/** The weight rows of a canonical document or a state_dict, each as its numbers' tokens in file order. */
function weightRows(text: string): string[][] {
  const rows: string[][] = [];
  for (const match of text.matchAll(/\[\s*(-?\d[^[\]]*)\]/g)) {
    const tokens = match[1].split(",").map((token) => token.trim());
    if (tokens.length >= 2 && tokens.every((token) => /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i.test(token))) rows.push(tokens);
  }
  return rows;
}

function sampleWeights(file: string): WeightsSample {
  const rows = weightRows(readFileSync(file, "utf8"));
  const all = rows.flatMap((row, r) => row.map((token, i) => ({ token, r, i }))).filter(({ token }) => isDistinctive(token));
  const step = Math.max(1, Math.floor(all.length / SAMPLES_PER_FILE));
  const picked = all.filter((_, k) => k % step === 0).slice(0, SAMPLES_PER_FILE);
  const bytePairs = picked
    .filter(({ r, i }) => i + 1 < rows[r].length)
    .map(({ r, i }) => new Uint8Array(Float32Array.from([Number(rows[r][i]), Number(rows[r][i + 1])]).buffer));
  return {
    file,
    decimals: picked.map(({ token }) => token),
    magnitudes: new Set(picked.map(({ token }) => Math.fround(Math.abs(Number(token))))),
    bytePairs,
  };
}

/** Weight values found among the numbers of a text asset. */
function decimalHits(text: string, sample: WeightsSample): string[] {
  const hits = new Set<string>();
  for (const decimal of sample.decimals) if (text.includes(decimal)) hits.add(decimal);
  for (const match of text.matchAll(/(?<![\w.$])(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/gi)) {
    if (isDistinctive(match[0]) && sample.magnitudes.has(Math.fround(Number(match[0])))) hits.add(match[0]);
  }
  return [...hits];
}

/** Offsets where any of the 8-byte patterns occurs (a u32 prefilter keeps this one pass over the file). */
function bytePairHits(bytes: Uint8Array, pairs: Uint8Array[]): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const byPrefix = new Map<number, Uint8Array[]>();
  for (const pair of pairs) {
    const prefix = new DataView(pair.buffer).getUint32(0, true);
    byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), pair]);
  }
  const hits: number[] = [];
  for (let offset = 0; offset + 8 <= bytes.length; offset++) {
    const candidates = byPrefix.get(view.getUint32(offset, true));
    if (candidates?.some((pair) => pair.every((b, k) => bytes[offset + k] === b))) hits.push(offset);
  }
  return hits;
}

const textExtensions = new Set([".js", ".mjs", ".css", ".html", ".json", ".map", ".svg", ".txt", ".webmanifest"]);

describe("no weights in the production bundle", () => {
  let outDir: string;
  let outputFiles: string[];
  const weightFiles = filesUnder(weightsDir).filter((file) => /\.(json|mlpw)$/.test(file));
  const samples = weightFiles.map(sampleWeights).filter((sample) => sample.decimals.length > 0);

  beforeAll(() => {
    outDir = mkdtempSync(join(tmpdir(), "bundle-leak-"));
    execFileSync("npx", ["vite", "build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "error"], { cwd: root, stdio: "pipe", timeout: 300_000 });
    outputFiles = filesUnder(outDir);
  }, 320_000);

  afterAll(() => {
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  test("the weights files are found and sampled: 200 distinctive values and their byte pairs each", () => {
    expect(samples.map((sample) => basename(sample.file)).sort()).toEqual(expect.arrayContaining(["demo-mlp-v2.json", "demo-mlp.json"]));
    for (const sample of samples) {
      expect(sample.decimals.length, sample.file).toBe(SAMPLES_PER_FILE);
      expect(sample.bytePairs.length, sample.file).toBeGreaterThan(SAMPLES_PER_FILE * 0.9);
    }
  });

  test("the detectors find a planted leak (so a clean result means something)", () => {
    const sample = samples[0];
    const planted = `const w=[${sample.decimals[3]},${Number(sample.decimals[7]).toString().replace(/^(-?)0\./, "$1.")}];`;
    expect(decimalHits(planted, sample)).toHaveLength(2);
    const binary = new Uint8Array(64);
    binary.set(sample.bytePairs[5], 13);
    expect(bytePairHits(binary, sample.bytePairs)).toEqual([13]);
  });

  test("the build produced the app", () => {
    expect(outputFiles.map((file) => relative(outDir, file))).toContain("index.html");
    expect(outputFiles.some((file) => file.endsWith(".js"))).toBe(true);
  });

  test("no weights file is copied into the output, under any name", () => {
    const weightHashes = new Set(weightFiles.map((file) => sha256(readFileSync(file))));
    const weightNames = new Set(weightFiles.map((file) => basename(file, extname(file))));
    for (const file of outputFiles) {
      const name = relative(outDir, file);
      expect(name).not.toMatch(/\.(mlpw|jsonl)$/);
      expect(weightNames.has(basename(file, extname(file))), `${name} is named like a weights file`).toBe(false);
      expect(weightHashes.has(sha256(readFileSync(file))), `${name} is a copy of a weights file`).toBe(false);
    }
  });

  test("no sampled weight value appears as a number in any text asset", () => {
    const textFiles = outputFiles.filter((file) => textExtensions.has(extname(file)));
    expect(textFiles.length).toBeGreaterThan(0);
    for (const file of textFiles) {
      const text = readFileSync(file, "utf8");
      for (const sample of samples) {
        expect(decimalHits(text, sample), `${relative(outDir, file)} holds weights of ${basename(sample.file)}`).toEqual([]);
      }
    }
  });

  test("no sampled pair of float32 weights appears as bytes in any output file (wasm included)", () => {
    const pairs = samples.flatMap((sample) => sample.bytePairs);
    let scanned = 0;
    for (const file of outputFiles) {
      const bytes = readFileSync(file);
      scanned += statSync(file).size;
      expect(bytePairHits(bytes, pairs), `${relative(outDir, file)} holds float32 weights`).toEqual([]);
    }
    expect(scanned).toBeGreaterThan(0);
  });
});
