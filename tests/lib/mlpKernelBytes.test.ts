import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { mlpKernelRelaxedSimd, mlpKernelSimd, relaxedSimdProbe } from "../../convex/lib/mlpKernelBytes.ts";
import {
  assembleMlpKernel,
  assembleMlpKernels,
  buildMlpKernelModule,
  expandRelaxedMadd,
  mlpKernelModulePath,
  mlpKernelWatPath,
  renderMlpKernelModule,
} from "../../tools/build/buildMlpKernel.ts";
import { enableRelaxedSimd } from "../../tools/relaxedSimd.ts";

enableRelaxedSimd();

describe("the committed WebAssembly kernels", () => {
  it("are exactly what `npm run build:kernel` makes from convex/lib/mlpKernel.wat", async () => {
    const committed = await readFile(mlpKernelModulePath, "utf8");
    expect(committed).toBe(await buildMlpKernelModule());
    expect(committed.split("\n")[0]).toMatch(/^\/\/ GENERATED FILE/);
    const built = await assembleMlpKernels(await readFile(mlpKernelWatPath, "utf8"));
    expect(Array.from(mlpKernelSimd)).toEqual(Array.from(built.simd));
    expect(Array.from(mlpKernelRelaxedSimd)).toEqual(Array.from(built.relaxedSimd));
    expect(Array.from(relaxedSimdProbe)).toEqual(Array.from(built.relaxedSimdProbe));
  });

  it("stay small enough to compile synchronously on a browser's main thread, and compile here", () => {
    for (const bytes of [mlpKernelSimd, mlpKernelRelaxedSimd]) {
      expect(bytes.length).toBeLessThanOrEqual(4096);
      const module = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.exports(module).map((entry) => entry.name).sort()).toEqual(["dense", "memory", "prepare"]);
    }
  });

  it("keep relaxed SIMD out of the plain module: it assembles with the SIMD feature alone, and the relaxed one does not", async () => {
    const wat = await readFile(mlpKernelWatPath, "utf8");
    expect(wat).toContain("f32x4.relaxed_madd");
    expect(Array.from(await assembleMlpKernel(expandRelaxedMadd(wat), "simd"))).toEqual(Array.from(mlpKernelSimd));
    await expect(assembleMlpKernel(wat, "simd")).rejects.toThrow(/relaxed/);
  });

  it("refuses to emit a module too large to compile synchronously", () => {
    const modules = { simd: new Uint8Array(5000), relaxedSimd: mlpKernelRelaxedSimd, relaxedSimdProbe };
    expect(() => renderMlpKernelModule(modules)).toThrow("the MLP kernel module mlpKernelSimd is 5000 bytes; keep it under 4096 so it compiles synchronously everywhere");
  });

  it("rejects WAT that does not assemble, saying where", async () => {
    await expect(assembleMlpKernel("(module (func (result i32) (f32.const 1)))")).rejects.toThrow(/mlpKernel\.wat/);
  });
});

describe("expandRelaxedMadd", () => {
  it("rewrites a·b + c as an add of a multiply, keeping the operands' order, nested ones too", () => {
    expect(expandRelaxedMadd("(local.set $a (f32x4.relaxed_madd (local.get $x) (v128.load offset=16 (local.get $p)) (local.get $a)))")).toBe(
      "(local.set $a (f32x4.add (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $p))) (local.get $a)))",
    );
    expect(expandRelaxedMadd("(f32x4.relaxed_madd (local.get 0) (local.get 1)\n  ;; a comment with ( and )\n  (f32x4.relaxed_madd (local.get 2) (local.get 3) (local.get 4)))")).toBe(
      "(f32x4.add (f32x4.mul (local.get 0) (local.get 1)) (f32x4.add (f32x4.mul (local.get 2) (local.get 3)) (local.get 4)))",
    );
    expect(expandRelaxedMadd("(f32x4.add (local.get 0) (local.get 1))")).toBe("(f32x4.add (local.get 0) (local.get 1))");
  });

  it("says which line is wrong when an operand is not a folded expression or there are too many", () => {
    expect(() => expandRelaxedMadd("(module\n  (f32x4.relaxed_madd $x (local.get 1) (local.get 2)))")).toThrow(
      "mlpKernel.wat line 2: f32x4.relaxed_madd needs three parenthesised operands; operand 1 is not one",
    );
    expect(() => expandRelaxedMadd("(f32x4.relaxed_madd (local.get 0) (local.get 1) (local.get 2) (local.get 3))")).toThrow(
      "mlpKernel.wat line 1: f32x4.relaxed_madd takes exactly three operands",
    );
    expect(() => expandRelaxedMadd("(f32x4.relaxed_madd (local.get 0")).toThrow("never closed");
  });
});
