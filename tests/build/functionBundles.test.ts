import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { bundleFunctionModule } from "../../tools/build/functionBundles";

const projectDir = resolve(import.meta.dirname, "../..");

describe("what a Convex function module loads", () => {
  // The modules that run on every classification, replay chunk and comparison.
  for (const module of ["classifications", "replays", "evaluation", "pictures", "analytics", "suspects", "suspectSearch", "embeddings"]) {
    it(`${module} loads neither zod nor Convex Auth, and stays small`, async () => {
      const bundle = await bundleFunctionModule(projectDir, module);
      expect(bundle.packages).not.toContain("zod");
      expect(bundle.packages.filter((name) => name.startsWith("@convex-dev/auth") || name.startsWith("@auth/"))).toEqual([]);
      // 100-160 KB as Convex bundles it (identifiers minified, whitespace kept), with convex and
      // convex-helpers only; the classify module was 540 KB with zod and Convex Auth.
      expect(bundle.bytes).toBeLessThan(200_000);
    });
  }

  it("sees what a module does load (the auth module bundles Convex Auth)", async () => {
    const bundle = await bundleFunctionModule(projectDir, "auth");
    expect(bundle.packages).toContain("@convex-dev/auth");
    expect(bundle.bytes).toBeGreaterThan(250_000);
  });
});
