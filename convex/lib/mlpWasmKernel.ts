import { mlpKernelRelaxedSimd, mlpKernelSimd, relaxedSimdProbe } from "./mlpKernelBytes.ts";
import type { MlpModel } from "./weightsFormat.ts";

/**
 * The WebAssembly SIMD kernel's JavaScript side (mlpForward.ts decides when
 * to use it): compile a module once per module scope, give each model its
 * own instance whose linear memory holds the model's weights (padded for
 * SIMD) and two activation buffers, and run the layers.
 *
 * There are two builds of the same kernel (convex/lib/mlpKernel.wat): one
 * with relaxed SIMD's fused multiply-add, for runtimes that offer the
 * proposal (V8 from 11.4, so Node 22 and later; Node 20 only with
 * --experimental-wasm-relaxed-simd), and one with plain SIMD. Which one a
 * runtime has is asked once, with WebAssembly.validate on a 37-byte probe
 * module, so no compile error is needed to find out.
 *
 * Convex's default runtime may not allow WebAssembly (unverified, see
 * docs/performance.md), so everything here degrades to `null` and the
 * caller uses the JavaScript kernel. Modules are compiled synchronously:
 * each is far below the 4 KB browsers allow for that on their main thread.
 */

/** "relaxed-simd": fused multiply-adds; "simd": the plain build. */
export type WasmKernelVariant = "relaxed-simd" | "simd";

const variantBytes: Record<WasmKernelVariant, Uint8Array<ArrayBuffer>> = { "relaxed-simd": mlpKernelRelaxedSimd, simd: mlpKernelSimd };

interface KernelExports {
  memory: WebAssembly.Memory;
  dense(w: number, b: number, x: number, y: number, inPad: number, outPad: number, rows: number, relu: number): number;
  prepare(x: number, rows: number, inPad: number, l2: number): number;
}

interface WasmLayer {
  /** Byte offsets of the padded weight matrix and bias. */
  weightAt: number;
  biasAt: number;
  inPad: number;
  outPad: number;
  relu: number;
}

export interface WasmMlp {
  variant: WasmKernelVariant;
  exports: KernelExports;
  /** View over the instance's whole memory (it never grows after set-up). */
  memory: Float32Array;
  layers: WasmLayer[];
  /** Byte offsets of the two activation buffers; input rows go into the first. */
  bufferAt: [number, number];
  /** Rows one call can take. */
  rowCapacity: number;
  /** The first layer's padded width: the stride of input rows. */
  inputStride: number;
}

/**
 * The kernel computes in float32, like PyTorch. Inputs and pre-activations
 * beyond this magnitude go to the float64 JavaScript kernel instead, whose
 * ±1e200 activation cap defines what huge inputs give; below it float32
 * cannot overflow, and real activations are many orders of magnitude smaller.
 */
export const WASM_MAGNITUDE_LIMIT = 1e30;

/** Rows per kernel call for batches: bounds each instance's activation buffers. */
const ROW_CAPACITY = 128;
const PAGE_BYTES = 65536;

interface CompiledVariant {
  module: WebAssembly.Module | null;
  /** Why `module` is null. */
  reason: string;
}

const compiled = new Map<WasmKernelVariant, CompiledVariant>();
const kernels = new WeakMap<MlpModel, Map<WasmKernelVariant, WasmMlp | null>>();

function roundUpTo8(n: number): number {
  return (n + 7) & ~7;
}

function hasWebAssembly(): boolean {
  return typeof WebAssembly === "object" && WebAssembly !== null;
}

function relaxedSimdRefusal(): string | null {
  try {
    if (WebAssembly.validate(relaxedSimdProbe)) return null;
    return "the runtime does not offer relaxed SIMD (WebAssembly.validate refused a module using f32x4.relaxed_madd)";
  } catch (error) {
    return `WebAssembly.validate failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

function compileVariant(variant: WasmKernelVariant): CompiledVariant {
  if (!hasWebAssembly()) return { module: null, reason: "there is no WebAssembly global" };
  if (variant === "relaxed-simd") {
    const refusal = relaxedSimdRefusal();
    if (refusal !== null) return { module: null, reason: refusal };
  }
  try {
    return { module: new WebAssembly.Module(variantBytes[variant]), reason: "" };
  } catch (error) {
    return { module: null, reason: `compiling the ${variant === "simd" ? "SIMD" : "relaxed-SIMD"} module failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function compiledKernel(variant: WasmKernelVariant): CompiledVariant {
  let entry = compiled.get(variant);
  if (!entry) {
    entry = compileVariant(variant);
    compiled.set(variant, entry);
  }
  return entry;
}

/** Why this variant of the WebAssembly kernel cannot run here, or null when it can. */
export function wasmKernelUnavailableReason(variant: WasmKernelVariant): string | null {
  const entry = compiledKernel(variant);
  return entry.module === null ? entry.reason : null;
}

/** The fastest variant this runtime runs: relaxed SIMD, else plain SIMD, else null (JavaScript only). */
export function preferredWasmKernel(): WasmKernelVariant | null {
  if (wasmKernelUnavailableReason("relaxed-simd") === null) return "relaxed-simd";
  if (wasmKernelUnavailableReason("simd") === null) return "simd";
  return null;
}

function buildKernel(model: MlpModel, module: WebAssembly.Module, variant: WasmKernelVariant): WasmMlp {
  const exports = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
  const layers: WasmLayer[] = [];
  let bytes = 0;
  let widest = 0;
  for (const layer of model.layers) {
    const inPad = roundUpTo8(layer.inDim);
    const outPad = roundUpTo8(layer.outDim);
    layers.push({ weightAt: bytes, biasAt: bytes + inPad * outPad * 4, inPad, outPad, relu: layer.activation === "relu" ? 1 : 0 });
    bytes += (inPad * outPad + outPad) * 4;
    widest = Math.max(widest, inPad, outPad);
  }
  const bufferBytes = ROW_CAPACITY * widest * 4;
  const bufferAt: [number, number] = [bytes, bytes + bufferBytes];
  const totalBytes = bytes + 2 * bufferBytes;
  const pages = Math.ceil(totalBytes / PAGE_BYTES);
  const current = exports.memory.buffer.byteLength / PAGE_BYTES;
  if (pages > current) exports.memory.grow(pages - current);
  const memory = new Float32Array(exports.memory.buffer);
  model.layers.forEach((layer, l) => {
    const { weightAt, biasAt, inPad } = layers[l];
    for (let o = 0; o < layer.outDim; o++) memory.set(layer.weight.subarray(o * layer.inDim, (o + 1) * layer.inDim), weightAt / 4 + o * inPad);
    memory.set(layer.bias, biasAt / 4);
  });
  return { variant, exports, memory, layers, bufferAt, rowCapacity: ROW_CAPACITY, inputStride: layers[0].inPad };
}

/** The model's instance of this kernel variant (built on first use, then cached), or null where it cannot run. */
export function wasmKernelFor(model: MlpModel, variant: WasmKernelVariant): WasmMlp | null {
  let byVariant = kernels.get(model);
  if (!byVariant) {
    byVariant = new Map();
    kernels.set(model, byVariant);
  }
  const cached = byVariant.get(variant);
  if (cached !== undefined) return cached;
  const { module } = compiledKernel(variant);
  let kernel: WasmMlp | null = null;
  if (module) {
    try {
      kernel = buildKernel(model, module, variant);
    } catch {
      // An instance needs memory for the padded weights; if the runtime refuses it, this model runs in JavaScript.
      kernel = null;
    }
  }
  byVariant.set(variant, kernel);
  return kernel;
}

/**
 * Copies `rows` rows of `dim` values, starting at `features[from]`, into the
 * kernel's input buffer as they are, zeroing each row's padding (an earlier
 * layer's outputs may have overwritten it).
 */
export function copyWasmInputRows(kernel: WasmMlp, features: ArrayLike<number>, from: number, rows: number, dim: number): void {
  const memory = kernel.memory;
  const stride = kernel.inputStride;
  const at = kernel.bufferAt[0] / 4;
  if (features instanceof Float32Array && stride === dim) {
    memory.set(features.subarray(from, from + rows * dim), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const rowAt = at + r * stride;
    const rowFrom = from + r * dim;
    for (let i = 0; i < dim; i++) memory[rowAt + i] = features[rowFrom + i];
    memory.fill(0, rowAt + dim, rowAt + stride);
  }
}

/**
 * L2-normalises (when asked) the first `rows` input rows in place, in
 * float32. False when a row's sum of squares is outside what float32 holds
 * comfortably, or a value is NaN or beyond WASM_MAGNITUDE_LIMIT: the caller
 * then prepares the rows in float64 instead.
 */
export function prepareWasmInputRows(kernel: WasmMlp, rows: number, l2: boolean): boolean {
  return kernel.exports.prepare(kernel.bufferAt[0], rows, kernel.inputStride, l2 ? 1 : 0) <= WASM_MAGNITUDE_LIMIT;
}

/**
 * Copies one input row, times `scale`, into the kernel's input buffer
 * (zeroing its padding, which an earlier layer's outputs may have
 * overwritten). Returns false when a value is NaN or beyond
 * WASM_MAGNITUDE_LIMIT.
 */
export function writeWasmInputRow(kernel: WasmMlp, row: number, source: ArrayLike<number>, from: number, dim: number, scale = 1): boolean {
  const memory = kernel.memory;
  const at = kernel.bufferAt[0] / 4 + row * kernel.inputStride;
  let inRange = true;
  for (let i = 0; i < dim; i++) {
    const v = source[from + i] * scale;
    if (!(v <= WASM_MAGNITUDE_LIMIT && v >= -WASM_MAGNITUDE_LIMIT)) inRange = false;
    memory[at + i] = v;
  }
  for (let i = dim; i < kernel.inputStride; i++) memory[at + i] = 0;
  return inRange;
}

/**
 * Runs every layer over the first `rows` input rows. Returns the float
 * offset of the logits in `kernel.memory` (row stride: the last layer's
 * padded width), or -1 when a pre-activation left the safe range.
 */
export function runWasmLayers(kernel: WasmMlp, rows: number): number {
  let which = 0;
  for (const layer of kernel.layers) {
    const peak = kernel.exports.dense(layer.weightAt, layer.biasAt, kernel.bufferAt[which], kernel.bufferAt[which ^ 1], layer.inPad, layer.outPad, rows, layer.relu);
    if (!(peak <= WASM_MAGNITUDE_LIMIT)) return -1;
    which ^= 1;
  }
  return kernel.bufferAt[which] / 4;
}

/** Row stride of the logits `runWasmLayers` leaves. */
export function wasmLogitStride(kernel: WasmMlp): number {
  return kernel.layers[kernel.layers.length - 1].outPad;
}
