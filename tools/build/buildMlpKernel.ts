/**
 * `npm run build:kernel`: assembles convex/lib/mlpKernel.wat into the MLP
 * engine's two WebAssembly modules and the relaxed-SIMD probe, and writes
 * their bytes into convex/lib/mlpKernelBytes.ts, because convex/lib may not
 * read files at run time. tests/lib/mlpKernelBytes.test.ts checks the
 * committed file matches what this produces.
 *
 * The .wat writes every multiply-accumulate as relaxed SIMD's
 * `f32x4.relaxed_madd`. The relaxed module keeps it (one fused instruction
 * where the CPU has FMA); the plain-SIMD module, for runtimes without relaxed
 * SIMD, gets each one expanded into `f32x4.add` of an `f32x4.mul`.
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";
import { isStartedScript } from "../startedScript.ts";

const libDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "convex", "lib");
export const mlpKernelWatPath = resolve(libDir, "mlpKernel.wat");
export const mlpKernelModulePath = resolve(libDir, "mlpKernelBytes.ts");

/** Browsers refuse synchronous compilation of larger modules on their main thread. */
const SYNC_COMPILE_LIMIT_BYTES = 4096;

/** The smallest module that uses relaxed SIMD: WebAssembly.validate on it says whether the runtime has the proposal. */
export const RELAXED_SIMD_PROBE_WAT =
  "(module (func (param v128 v128 v128) (result v128) (f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2))))";

const MADD = "(f32x4.relaxed_madd";

/** Index just past the parenthesised expression that opens at `text[start]`, skipping comments and strings. */
function expressionEnd(text: string, start: number): number {
  let depth = 0;
  let i = start;
  while (i < text.length) {
    const c = text[i];
    if (c === ";" && text[i + 1] === ";") {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? text.length : newline;
      continue;
    }
    if (c === "(" && text[i + 1] === ";") {
      const close = text.indexOf(";)", i + 2);
      if (close < 0) break;
      i = close + 2;
      continue;
    }
    if (c === '"') {
      i += 1;
      while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
      i += 1;
      continue;
    }
    if (c === "(") depth += 1;
    if (c === ")") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
    i += 1;
  }
  throw new Error(`mlpKernel.wat: the expression opened at offset ${start} is never closed`);
}

/** Index of the next character after whitespace and comments. */
function skipTrivia(text: string, from: number): number {
  let i = from;
  for (;;) {
    if (/\s/.test(text[i] ?? "")) i += 1;
    else if (text.startsWith(";;", i)) {
      const newline = text.indexOf("\n", i);
      i = newline < 0 ? text.length : newline;
    } else if (text.startsWith("(;", i)) {
      const close = text.indexOf(";)", i + 2);
      i = close < 0 ? text.length : close + 2;
    } else return i;
  }
}

function lineOf(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

/**
 * Rewrites every `(f32x4.relaxed_madd A B C)` (A·B + C) as
 * `(f32x4.add (f32x4.mul A B) C)`, which evaluates A, B, C in the same
 * order and gives the unfused result. Each operand must be a folded
 * (parenthesised) expression.
 */
export function expandRelaxedMadd(wat: string): string {
  let out = "";
  let from = 0;
  for (;;) {
    const at = wat.indexOf(MADD, from);
    if (at < 0) return out + wat.slice(from);
    out += wat.slice(from, at);
    let i = at + MADD.length;
    const operands: string[] = [];
    for (let k = 0; k < 3; k++) {
      i = skipTrivia(wat, i);
      if (wat[i] !== "(") throw new Error(`mlpKernel.wat line ${lineOf(wat, at)}: f32x4.relaxed_madd needs three parenthesised operands; operand ${k + 1} is not one`);
      const end = expressionEnd(wat, i);
      operands.push(expandRelaxedMadd(wat.slice(i, end)));
      i = end;
    }
    i = skipTrivia(wat, i);
    if (wat[i] !== ")") throw new Error(`mlpKernel.wat line ${lineOf(wat, at)}: f32x4.relaxed_madd takes exactly three operands`);
    out += `(f32x4.add (f32x4.mul ${operands[0]} ${operands[1]}) ${operands[2]})`;
    from = i + 1;
  }
}

export type KernelFeatures = "simd" | "relaxed-simd";

export async function assembleMlpKernel(watText: string, features: KernelFeatures = "simd"): Promise<Uint8Array> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat("mlpKernel.wat", watText, { simd: true, relaxed_simd: features === "relaxed-simd" });
  try {
    parsed.resolveNames();
    parsed.validate();
    const { buffer } = parsed.toBinary({ log: false, write_debug_names: false });
    return new Uint8Array(buffer);
  } finally {
    parsed.destroy();
  }
}

export interface MlpKernelModules {
  /** WebAssembly SIMD (the 2021 standard) only. */
  simd: Uint8Array;
  /** The same kernel with fused multiply-adds from relaxed SIMD. */
  relaxedSimd: Uint8Array;
  relaxedSimdProbe: Uint8Array;
}

export async function assembleMlpKernels(watText: string): Promise<MlpKernelModules> {
  return {
    simd: await assembleMlpKernel(expandRelaxedMadd(watText), "simd"),
    relaxedSimd: await assembleMlpKernel(watText, "relaxed-simd"),
    relaxedSimdProbe: await assembleMlpKernel(RELAXED_SIMD_PROBE_WAT, "relaxed-simd"),
  };
}

function byteArray(name: string, doc: string, bytes: Uint8Array): string[] {
  if (bytes.length > SYNC_COMPILE_LIMIT_BYTES) {
    throw new Error(`the MLP kernel module ${name} is ${bytes.length} bytes; keep it under ${SYNC_COMPILE_LIMIT_BYTES} so it compiles synchronously everywhere`);
  }
  // One base64 line a module: a third of the size of a number list, and no
  // diff noise across the two kernels that differ only in a few opcodes.
  return [`/** ${doc} (${bytes.length} bytes). */`, `export const ${name} = fromBase64("${Buffer.from(bytes).toString("base64")}");`, ""];
}

/** The TypeScript module text that carries the modules' bytes. */
export function renderMlpKernelModule(modules: MlpKernelModules): string {
  return [
    "// GENERATED FILE: the bytes of the MLP engine's WebAssembly modules, written by",
    "// `npm run build:kernel` (tools/build/buildMlpKernel.ts) from convex/lib/mlpKernel.wat.",
    "// Do not edit by hand; edit the .wat and regenerate. Loaded by mlpWasmKernel.ts.",
    "",
    "// Decoded here rather than with atob: the engine also runs where atob is missing (fresh vm contexts).",
    "function fromBase64(text: string): Uint8Array<ArrayBuffer> {",
    '  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";',
    '  const digits = text.replace(/=+$/, "");',
    "  const bytes = new Uint8Array(Math.floor((digits.length * 3) / 4));",
    "  let bits = 0;",
    "  let width = 0;",
    "  let at = 0;",
    "  for (const digit of digits) {",
    "    bits = (bits << 6) | alphabet.indexOf(digit);",
    "    width += 6;",
    "    if (width >= 8) {",
    "      width -= 8;",
    "      bytes[at++] = (bits >> width) & 0xff;",
    "    }",
    "  }",
    "  return bytes;",
    "}",
    "",
    ...byteArray("mlpKernelSimd", "The kernel with WebAssembly SIMD only", modules.simd),
    ...byteArray("mlpKernelRelaxedSimd", "The same kernel with relaxed SIMD's fused multiply-add", modules.relaxedSimd),
    ...byteArray("relaxedSimdProbe", "A module that validates only where the runtime has relaxed SIMD", modules.relaxedSimdProbe),
  ].join("\n");
}

export async function buildMlpKernelModule(): Promise<string> {
  return renderMlpKernelModule(await assembleMlpKernels(await readFile(mlpKernelWatPath, "utf8")));
}

if (isStartedScript(import.meta.url)) {
  await writeFile(mlpKernelModulePath, await buildMlpKernelModule());
  process.stdout.write(`wrote ${mlpKernelModulePath}\n`);
}
