import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { mlpKernelWasm } from "../../convex/lib/mlpKernelWasm.ts";
import { assembleMlpKernel, buildMlpKernelModule, mlpKernelModulePath, mlpKernelWatPath, renderMlpKernelModule } from "../../tools/buildMlpKernel.ts";

describe("the committed WebAssembly kernel", () => {
  it("is exactly what `npm run build:kernel` makes from convex/lib/mlpKernel.wat", async () => {
    const committed = await readFile(mlpKernelModulePath, "utf8");
    expect(committed).toBe(await buildMlpKernelModule());
    expect(Array.from(mlpKernelWasm)).toEqual(Array.from(await assembleMlpKernel(await readFile(mlpKernelWatPath, "utf8"))));
  });

  it("stays small enough to compile synchronously on a browser's main thread, and compiles here", () => {
    expect(mlpKernelWasm.length).toBeLessThanOrEqual(4096);
    const module = new WebAssembly.Module(mlpKernelWasm);
    expect(WebAssembly.Module.exports(module).map((entry) => entry.name).sort()).toEqual(["dense", "memory", "prepare"]);
  });

  it("refuses to emit a module too large to compile synchronously", () => {
    expect(() => renderMlpKernelModule(new Uint8Array(5000))).toThrow("the MLP kernel is 5000 bytes; keep it under 4096 so it compiles synchronously everywhere");
  });

  it("rejects WAT that does not assemble, saying where", async () => {
    await expect(assembleMlpKernel("(module (func (result i32) (f32.const 1)))")).rejects.toThrow(/mlpKernel\.wat/);
  });
});
