/**
 * Relaxed SIMD shipped in V8 11.4; Node 20's V8 11.3 has it behind
 * --experimental-wasm-relaxed-simd. Tests of the relaxed-SIMD kernel turn the
 * flag on for their process (a no-op where the runtime already has it), so
 * every kernel runs here whatever the Node version.
 */
import { setFlagsFromString } from "node:v8";
import { relaxedSimdProbe } from "../../convex/lib/mlpKernelBytes.ts";

/** Call before the engine first compiles its kernels in this module scope. */
export function enableRelaxedSimd(): void {
  if (WebAssembly.validate(relaxedSimdProbe)) return;
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  if (!WebAssembly.validate(relaxedSimdProbe)) {
    throw new Error(`relaxed SIMD is unavailable in Node ${process.versions.node} (V8 ${process.versions.v8}) even with --experimental-wasm-relaxed-simd`);
  }
}
