import {
  copyWasmInputRows,
  preferredWasmKernel,
  prepareWasmInputRows,
  runWasmLayers,
  wasmKernelFor,
  wasmKernelUnavailableReason,
  wasmLogitStride,
  writeWasmInputRow,
  type WasmKernelVariant,
  type WasmMlp,
} from "./mlpWasmKernel.ts";
import type { FeatureNormalization, MlpLayer, MlpModel, OutputActivation } from "./weightsFormat.ts";
import { softmaxInPlace } from "./softmax.ts";

/**
 * The MLP forward pass, for Convex's default runtime and the browser.
 *
 * Three kernels compute the dense layers. Where WebAssembly is available, a
 * SIMD kernel (convex/lib/mlpKernel.wat, driven by mlpWasmKernel.ts) does it
 * in float32, as PyTorch does: with relaxed SIMD's fused multiply-add where
 * the runtime offers it, plain SIMD otherwise. Inputs or activations too
 * large for float32 fall back to the JavaScript kernel for that vector or
 * chunk. The JavaScript kernel below is the fallback everywhere else.
 *
 * Speed matters (a classify call decodes and runs the model every time), so
 * the JavaScript kernels keep independent accumulators (the adds of one dot
 * product do not wait on each other), the one-vector kernel computes four
 * outputs per pass so each input value it loads serves four weight rows
 * (about 1.6× faster than eight accumulators on one row in `npm run bench`'s
 * paired trials), and the batch kernel reuses each weight
 * it loads for four inputs (and each input load for two outputs). Activations are kept in Float64 so rounding stays
 * well inside the 1e-5 tolerance against PyTorch's float32.
 *
 * The model's `input.normalize` is applied here, so callers pass raw CLIP
 * features; L2 normalisation is idempotent, so pre-normalised input is fine.
 */

export interface MlpPrediction {
  probabilities: number[];
  labelIndex: number;
  label: string;
  confidence: number;
}

/** The input and the two buffers layers alternate between: one vector's (kept per model) or one batch chunk's (per call). */
interface Scratch {
  input: Float64Array;
  buffers: [Float64Array, Float64Array];
}

const scratchByModel = new WeakMap<MlpModel, Scratch>();

function widestLayer(model: MlpModel): number {
  return model.layers.reduce((max, layer) => Math.max(max, layer.inDim, layer.outDim), 0);
}

function scratchFor(model: MlpModel): Scratch {
  let scratch = scratchByModel.get(model);
  const width = widestLayer(model);
  if (!scratch || scratch.buffers[0].length < width || scratch.input.length !== model.layers[0].inDim) {
    scratch = { input: new Float64Array(model.layers[0].inDim), buffers: [new Float64Array(width), new Float64Array(width)] };
    scratchByModel.set(model, scratch);
  }
  return scratch;
}

/** y = act(W·x + b) for one vector; x and y must not alias. */
function denseVector(layer: MlpLayer, x: Float64Array, y: Float64Array): void {
  const { weight: w, bias: b, inDim, outDim } = layer;
  const relu = layer.activation === "relu";
  const pairEnd = inDim - (inDim % 2);
  let o = 0;
  // Four outputs at a time: each input value is loaded once for four weight rows.
  for (; o + 4 <= outDim; o += 4) {
    const w0 = o * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    let i = 0;
    for (; i < pairEnd; i += 2) {
      const x0 = x[i], x1 = x[i + 1];
      a0 += w[w0 + i] * x0;
      a1 += w[w1 + i] * x0;
      a2 += w[w2 + i] * x0;
      a3 += w[w3 + i] * x0;
      c0 += w[w0 + i + 1] * x1;
      c1 += w[w1 + i + 1] * x1;
      c2 += w[w2 + i + 1] * x1;
      c3 += w[w3 + i + 1] * x1;
    }
    if (i < inDim) {
      const x0 = x[i];
      a0 += w[w0 + i] * x0;
      a1 += w[w1 + i] * x0;
      a2 += w[w2 + i] * x0;
      a3 += w[w3 + i] * x0;
    }
    const s0 = b[o] + (a0 + c0), s1 = b[o + 1] + (a1 + c1), s2 = b[o + 2] + (a2 + c2), s3 = b[o + 3] + (a3 + c3);
    y[o] = relu && s0 < 0 ? 0 : s0;
    y[o + 1] = relu && s1 < 0 ? 0 : s1;
    y[o + 2] = relu && s2 < 0 ? 0 : s2;
    y[o + 3] = relu && s3 < 0 ? 0 : s3;
  }
  for (; o < outDim; o++) {
    const base = o * inDim;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    let i = 0;
    for (; i + 4 <= inDim; i += 4) {
      a0 += w[base + i] * x[i];
      a1 += w[base + i + 1] * x[i + 1];
      a2 += w[base + i + 2] * x[i + 2];
      a3 += w[base + i + 3] * x[i + 3];
    }
    for (; i < inDim; i++) a0 += w[base + i] * x[i];
    const sum = b[o] + (a0 + a1 + (a2 + a3));
    y[o] = relu && sum < 0 ? 0 : sum;
  }
}

/**
 * Y = act(X·Wᵀ + b) for `count` row-major vectors. The inner loop computes
 * a 4-input × 2-output tile: each weight load serves four inputs and each
 * input load two outputs, with eight independent sums. Leftover outputs and
 * rows take the narrower loops below.
 */
function denseBatch(layer: MlpLayer, x: Float64Array, y: Float64Array, count: number): void {
  const { weight: w, bias: b, inDim, outDim } = layer;
  const relu = layer.activation === "relu";
  const pairedOut = outDim - (outDim % 2);
  let r = 0;
  for (; r + 4 <= count; r += 4) {
    const x0 = r * inDim, x1 = x0 + inDim, x2 = x1 + inDim, x3 = x2 + inDim;
    const y0 = r * outDim, y1 = y0 + outDim, y2 = y1 + outDim, y3 = y2 + outDim;
    for (let o = 0; o < pairedOut; o += 2) {
      const p = o * inDim;
      const q = p + inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0, c0 = 0, c1 = 0, c2 = 0, c3 = 0;
      for (let i = 0; i < inDim; i++) {
        const wa = w[p + i];
        const wc = w[q + i];
        const v0 = x[x0 + i], v1 = x[x1 + i], v2 = x[x2 + i], v3 = x[x3 + i];
        a0 += wa * v0;
        a1 += wa * v1;
        a2 += wa * v2;
        a3 += wa * v3;
        c0 += wc * v0;
        c1 += wc * v1;
        c2 += wc * v2;
        c3 += wc * v3;
      }
      const ba = b[o];
      const bc = b[o + 1];
      let s = ba + a0;
      y[y0 + o] = relu && s < 0 ? 0 : s;
      s = ba + a1;
      y[y1 + o] = relu && s < 0 ? 0 : s;
      s = ba + a2;
      y[y2 + o] = relu && s < 0 ? 0 : s;
      s = ba + a3;
      y[y3 + o] = relu && s < 0 ? 0 : s;
      s = bc + c0;
      y[y0 + o + 1] = relu && s < 0 ? 0 : s;
      s = bc + c1;
      y[y1 + o + 1] = relu && s < 0 ? 0 : s;
      s = bc + c2;
      y[y2 + o + 1] = relu && s < 0 ? 0 : s;
      s = bc + c3;
      y[y3 + o + 1] = relu && s < 0 ? 0 : s;
    }
    if (pairedOut < outDim) {
      const o = pairedOut;
      const p = o * inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      for (let i = 0; i < inDim; i++) {
        const wa = w[p + i];
        a0 += wa * x[x0 + i];
        a1 += wa * x[x1 + i];
        a2 += wa * x[x2 + i];
        a3 += wa * x[x3 + i];
      }
      const ba = b[o];
      y[y0 + o] = relu && ba + a0 < 0 ? 0 : ba + a0;
      y[y1 + o] = relu && ba + a1 < 0 ? 0 : ba + a1;
      y[y2 + o] = relu && ba + a2 < 0 ? 0 : ba + a2;
      y[y3 + o] = relu && ba + a3 < 0 ? 0 : ba + a3;
    }
  }
  for (; r < count; r++) {
    const xr = r * inDim;
    const yr = r * outDim;
    for (let o = 0; o < outDim; o++) {
      const base = o * inDim;
      let a0 = 0, a1 = 0, a2 = 0, a3 = 0;
      let i = 0;
      for (; i + 4 <= inDim; i += 4) {
        a0 += w[base + i] * x[xr + i];
        a1 += w[base + i + 1] * x[xr + i + 1];
        a2 += w[base + i + 2] * x[xr + i + 2];
        a3 += w[base + i + 3] * x[xr + i + 3];
      }
      for (; i < inDim; i++) a0 += w[base + i] * x[xr + i];
      const sum = b[o] + (a0 + a1 + (a2 + a3));
      y[yr + o] = relu && sum < 0 ? 0 : sum;
    }
  }
}

/** log(sigmoid(z)) without overflow for any finite z. */
function logSigmoid(z: number): number {
  return z < 0 ? z - Math.log1p(Math.exp(z)) : -Math.log1p(Math.exp(-z));
}

/**
 * True when every logit is above -700 (NaN is not): each sigmoid is then at
 * least e^-700, far from float64's underflow, and dividing the sigmoids by
 * their sum directly is as accurate as doing it in log space.
 */
function sigmoidsStayNormal(z: ArrayLike<number>, zOffset: number, n: number): boolean {
  for (let k = 0; k < n; k++) if (!(z[zOffset + k] > -700)) return false;
  return true;
}

/**
 * Writes probabilities for one logit vector. sigmoid-normalized divides the
 * sigmoids by their sum; where a logit is so negative that sigmoids could
 * underflow to 0, it does so in log space, so a vector whose sigmoids all
 * underflow still gives a proper distribution instead of 0/0.
 */
function writeProbabilities(
  z: ArrayLike<number>,
  zOffset: number,
  n: number,
  activation: OutputActivation,
  out: { [index: number]: number },
  outOffset: number,
): void {
  if (activation === "sigmoid") {
    for (let k = 0; k < n; k++) {
      const v = z[zOffset + k];
      out[outOffset + k] = v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v));
    }
    return;
  }
  if (activation === "sigmoid-normalized" && sigmoidsStayNormal(z, zOffset, n)) {
    // One exp per class instead of the log-space path's three transcendental calls.
    let sum = 0;
    for (let k = 0; k < n; k++) {
      const s = 1 / (1 + Math.exp(-z[zOffset + k]));
      out[outOffset + k] = s;
      sum += s;
    }
    for (let k = 0; k < n; k++) out[outOffset + k] /= sum;
    return;
  }
  for (let k = 0; k < n; k++) out[outOffset + k] = activation === "softmax" ? z[zOffset + k] : logSigmoid(z[zOffset + k]);
  softmaxInPlace(out, outOffset, n);
}

function argmax(values: ArrayLike<number>, offset: number, n: number): number {
  let best = 0;
  for (let k = 1; k < n; k++) if (values[offset + k] > values[offset + best]) best = k;
  return best;
}

function l2Normalize(x: Float64Array, offset: number, n: number): void {
  let sumSquares = 0;
  for (let i = 0; i < n; i++) sumSquares += x[offset + i] * x[offset + i];
  if (sumSquares < Infinity && sumSquares > 1e-290) {
    const scale = 1 / Math.sqrt(sumSquares);
    for (let i = 0; i < n; i++) x[offset + i] *= scale;
    return;
  }
  // Squares beyond ~1e154 overflow (and below ~1e-154 underflow): divide by the largest magnitude first.
  let largest = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(x[offset + i]));
  if (largest === 0) return;
  let scaledSquares = 0;
  for (let i = 0; i < n; i++) {
    const v = x[offset + i] / largest;
    x[offset + i] = v;
    scaledSquares += v * v;
  }
  const scale = 1 / Math.sqrt(scaledSquares);
  for (let i = 0; i < n; i++) x[offset + i] *= scale;
}

/**
 * The largest magnitude an activation may take. Finite but huge features can
 * push a dot product past Number.MAX_VALUE, and Infinity - Infinity then makes
 * the probabilities NaN. Below this bound a layer's sums stay finite even with
 * float32's largest weights (3.4e38 × 1e200 × any realistic width), and real
 * activations are hundreds of orders of magnitude smaller, so they never change.
 */
const ACTIVATION_LIMIT = 1e200;

function clampActivations(x: Float64Array, length: number): void {
  for (let i = 0; i < length; i++) {
    const v = x[i];
    if (v > ACTIVATION_LIMIT) x[i] = ACTIVATION_LIMIT;
    else if (v < -ACTIVATION_LIMIT) x[i] = -ACTIVATION_LIMIT;
  }
}

/** A copy of `features` scaled to unit L2 norm ("l2"), or unchanged ("none"). An all-zero vector stays zero. */
export function normalizeFeatures(features: ArrayLike<number>, mode: FeatureNormalization): Float32Array {
  if (mode === "none") return Float32Array.from(features);
  const scratch = Float64Array.from(features);
  l2Normalize(scratch, 0, scratch.length);
  return Float32Array.from(scratch);
}

function checkModelInput(model: MlpModel, length: number, what: string): void {
  if (model.layers.length === 0) throw new Error("the model has no layers");
  const dim = model.layers[0].inDim;
  if (length !== dim) throw new Error(`${what}: expected ${dim} features, got ${length}`);
}

function predictionFrom(model: MlpModel, probabilities: number[]): MlpPrediction {
  const labelIndex = argmax(probabilities, 0, probabilities.length);
  return { probabilities, labelIndex, label: model.classes[labelIndex], confidence: probabilities[labelIndex] };
}

/** "wasm-relaxed": WebAssembly with relaxed SIMD's fused multiply-add; "wasm": plain WebAssembly SIMD; "js": JavaScript. */
export type MlpKernel = "wasm-relaxed" | "wasm" | "js";
export type MlpKernelChoice = "auto" | MlpKernel;

const wasmVariantOf: Record<Exclude<MlpKernel, "js">, WasmKernelVariant> = { "wasm-relaxed": "relaxed-simd", wasm: "simd" };
const kernelOfVariant: Record<WasmKernelVariant, Exclude<MlpKernel, "js">> = { "relaxed-simd": "wasm-relaxed", simd: "wasm" };
const kernelNames: Record<Exclude<MlpKernel, "js">, string> = { "wasm-relaxed": "relaxed-SIMD", wasm: "SIMD" };

let kernelChoice: MlpKernelChoice = "auto";

/**
 * Chooses the dense-layer kernel for every later call in this module scope:
 * "auto" (the default) uses the fastest the runtime allows (relaxed SIMD,
 * then SIMD, then JavaScript); "js" forces JavaScript; "wasm" and
 * "wasm-relaxed" force a WebAssembly build and throw here, saying why,
 * where it cannot run. Tests and the bench use it to check every kernel.
 */
export function setMlpKernel(choice: MlpKernelChoice): void {
  if (choice === "wasm" || choice === "wasm-relaxed") {
    const reason = wasmKernelUnavailableReason(wasmVariantOf[choice]);
    if (reason !== null) throw new Error(`setMlpKernel("${choice}"): the WebAssembly ${kernelNames[choice]} kernel cannot run here: ${reason}`);
  }
  kernelChoice = choice;
}

function chosenVariant(): WasmKernelVariant | null {
  if (kernelChoice === "js") return null;
  if (kernelChoice === "auto") return preferredWasmKernel();
  return wasmVariantOf[kernelChoice];
}

/** The kernel the next call will use for its dense layers (before any per-call fallback for huge magnitudes). */
export function activeMlpKernel(): MlpKernel {
  const variant = chosenVariant();
  return variant === null ? "js" : kernelOfVariant[variant];
}

function wasmKernelIfChosen(model: MlpModel): WasmMlp | null {
  const variant = chosenVariant();
  if (variant === null) return null;
  const kernel = wasmKernelFor(model, variant);
  // Under "auto", a model whose relaxed-SIMD instance could not be built still gets the plain one.
  if (kernel === null && kernelChoice === "auto" && variant === "relaxed-simd") return wasmKernelFor(model, "simd");
  return kernel;
}

/**
 * Writes features[from, from + dim) into the kernel's input row `row`,
 * L2-normalised if the model asks for it; false when a value is out of the
 * kernel's range. The common case scales while copying (one pass after the
 * sum of squares); squares that overflow or underflow take l2Normalize's
 * careful path.
 */
function writeWasmRow(kernel: WasmMlp, model: MlpModel, features: ArrayLike<number>, from: number, row: number): boolean {
  const dim = model.layers[0].inDim;
  if (model.input.normalize !== "l2") return writeWasmInputRow(kernel, row, features, from, dim);
  let sumSquares = 0;
  for (let i = 0; i < dim; i++) {
    const v = features[from + i];
    sumSquares += v * v;
  }
  if (sumSquares < Infinity && sumSquares > 1e-290) return writeWasmInputRow(kernel, row, features, from, dim, 1 / Math.sqrt(sumSquares));
  const input = scratchFor(model).input;
  for (let i = 0; i < dim; i++) input[i] = features[from + i];
  l2Normalize(input, 0, dim);
  return writeWasmInputRow(kernel, row, input, 0, dim);
}

/**
 * Fills the kernel's first `rows` input rows from feature rows [start, start + rows):
 * copied as they are and L2-normalised in float32 inside the kernel, or, when
 * float32 cannot hold a row's sum of squares, in float64 as the JavaScript
 * kernel does. False when a value is out of the kernel's range.
 */
function writeWasmRows(kernel: WasmMlp, model: MlpModel, features: ArrayLike<number>, start: number, rows: number): boolean {
  const dim = model.layers[0].inDim;
  copyWasmInputRows(kernel, features, start * dim, rows, dim);
  if (prepareWasmInputRows(kernel, rows, model.input.normalize === "l2")) return true;
  for (let r = 0; r < rows; r++) if (!writeWasmRow(kernel, model, features, (start + r) * dim, r)) return false;
  return true;
}

/** Probabilities for `features` through the WebAssembly kernel, or null when a magnitude needs the float64 path. */
function wasmForward(kernel: WasmMlp, model: MlpModel, features: ArrayLike<number>): number[] | null {
  if (!writeWasmRows(kernel, model, features, 0, 1)) return null;
  const logitsAt = runWasmLayers(kernel, 1);
  if (logitsAt < 0) return null;
  const classCount = model.layers[model.layers.length - 1].outDim;
  const probabilities = new Array<number>(classCount);
  writeProbabilities(kernel.memory, logitsAt, classCount, model.outputActivation, probabilities, 0);
  return probabilities;
}

/** One feature vector → class probabilities and the top class. */
export function mlpForward(model: MlpModel, features: ArrayLike<number>): MlpPrediction {
  checkModelInput(model, features.length, "mlpForward");
  const kernel = wasmKernelIfChosen(model);
  if (kernel) {
    const probabilities = wasmForward(kernel, model, features);
    if (probabilities) return predictionFrom(model, probabilities);
  }
  const scratch = scratchFor(model);
  const input = scratch.input;
  for (let i = 0; i < input.length; i++) input[i] = features[i];
  if (model.input.normalize === "l2") l2Normalize(input, 0, input.length);
  clampActivations(input, input.length);
  let x = input;
  let which = 0;
  for (const layer of model.layers) {
    const y = scratch.buffers[which];
    denseVector(layer, x, y);
    clampActivations(y, layer.outDim);
    x = y;
    which ^= 1;
  }
  const classCount = model.layers[model.layers.length - 1].outDim;
  const probabilities = new Array<number>(classCount);
  writeProbabilities(x, 0, classCount, model.outputActivation, probabilities, 0);
  return predictionFrom(model, probabilities);
}

/** JavaScript kernel: rows [start, start + rows) of `features` → their probabilities in `output`. */
function jsProbabilitiesChunk(model: MlpModel, features: ArrayLike<number>, start: number, rows: number, output: Float64Array, scratch: Scratch): void {
  const dim = model.layers[0].inDim;
  const classCount = model.layers[model.layers.length - 1].outDim;
  const { input, buffers } = scratch;
  const from = start * dim;
  for (let i = 0; i < rows * dim; i++) input[i] = features[from + i];
  if (model.input.normalize === "l2") for (let r = 0; r < rows; r++) l2Normalize(input, r * dim, dim);
  clampActivations(input, rows * dim);
  let x = input;
  let which = 0;
  for (const layer of model.layers) {
    const y = buffers[which];
    denseBatch(layer, x, y, rows);
    clampActivations(y, rows * layer.outDim);
    x = y;
    which ^= 1;
  }
  for (let r = 0; r < rows; r++) writeProbabilities(x, r * classCount, classCount, model.outputActivation, output, (start + r) * classCount);
}

/** WebAssembly kernel for the same chunk; false (output untouched) when a magnitude needs the float64 path. */
function wasmProbabilitiesChunk(kernel: WasmMlp, model: MlpModel, features: ArrayLike<number>, start: number, rows: number, output: Float64Array): boolean {
  const classCount = model.layers[model.layers.length - 1].outDim;
  if (!writeWasmRows(kernel, model, features, start, rows)) return false;
  const logitsAt = runWasmLayers(kernel, rows);
  if (logitsAt < 0) return false;
  const stride = wasmLogitStride(kernel);
  for (let r = 0; r < rows; r++) writeProbabilities(kernel.memory, logitsAt + r * stride, classCount, model.outputActivation, output, (start + r) * classCount);
  return true;
}

/**
 * Probabilities for `count` feature vectors stored row-major in `features`
 * (count × dim), as one row-major count × classes array. The fast path for
 * batches: no per-row objects.
 */
export function mlpProbabilitiesBatch(model: MlpModel, features: ArrayLike<number>, count: number): Float64Array {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`mlpForwardBatch: count must be a non-negative integer, got ${count}`);
  const dim = model.layers.length > 0 ? model.layers[0].inDim : 0;
  checkModelInput(model, count === 0 ? dim : features.length / count, "mlpForwardBatch (features.length / count)");
  const classCount = model.layers[model.layers.length - 1].outDim;
  const output = new Float64Array(count * classCount);
  if (count === 0) return output;
  const kernel = wasmKernelIfChosen(model);
  // Work through the batch in chunks so scratch memory stays bounded for huge inputs.
  const chunkRows = kernel ? kernel.rowCapacity : Math.max(4, Math.min(count, 256));
  let scratch: Scratch | null = null;
  for (let start = 0; start < count; start += chunkRows) {
    const rows = Math.min(chunkRows, count - start);
    if (kernel && wasmProbabilitiesChunk(kernel, model, features, start, rows, output)) continue;
    if (!scratch) {
      const width = widestLayer(model);
      scratch = { input: new Float64Array(chunkRows * dim), buffers: [new Float64Array(chunkRows * width), new Float64Array(chunkRows * width)] };
    }
    jsProbabilitiesChunk(model, features, start, rows, output, scratch);
  }
  return output;
}

/** `count` feature vectors (row-major count × dim) → one prediction each, in order. */
export function mlpForwardBatch(model: MlpModel, features: ArrayLike<number>, count: number): MlpPrediction[] {
  const probabilities = mlpProbabilitiesBatch(model, features, count);
  const classCount = count === 0 ? 0 : probabilities.length / count;
  const predictions: MlpPrediction[] = new Array(count);
  for (let r = 0; r < count; r++) {
    predictions[r] = predictionFrom(model, Array.from(probabilities.subarray(r * classCount, (r + 1) * classCount)));
  }
  return predictions;
}
