/**
 * Relaxed SIMD shipped in V8 11.4 (Node 22 and later); Node 20's V8 11.3 has
 * it only behind --experimental-wasm-relaxed-simd. The bench and the kernel
 * tests turn the flag on for their own process (nothing changes where the
 * runtime already has it), so the engine's relaxed-SIMD kernel can be
 * measured and tested on every supported Node.
 */
import { setFlagsFromString } from "node:v8";
import { relaxedSimdProbe } from "../convex/lib/mlpKernelBytes.ts";

export type RelaxedSimdSource = "built in" | "--experimental-wasm-relaxed-simd";

/** Call before the engine first compiles its kernels in this module scope; says where relaxed SIMD came from, or throws where it cannot be had. */
export function enableRelaxedSimd(): RelaxedSimdSource {
  if (WebAssembly.validate(relaxedSimdProbe)) return "built in";
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  if (WebAssembly.validate(relaxedSimdProbe)) return "--experimental-wasm-relaxed-simd";
  throw new Error(`relaxed SIMD is unavailable in Node ${process.versions.node} (V8 ${process.versions.v8}), even with --experimental-wasm-relaxed-simd`);
}
