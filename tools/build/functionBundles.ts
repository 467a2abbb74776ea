/**
 * What a Convex function module loads when it runs: it is bundled the way
 * `npx convex deploy` bundles it (esbuild, browser platform, ESM, the
 * "convex" and "module" conditions, syntax and identifier minification, as in
 * convex/dist/esm/bundler), without splitting, so the result is the whole
 * code an isolate evaluates for that module. `npm run bench` reports the
 * sizes; tests/build/functionBundles.test.ts keeps zod and Convex Auth out
 * of the hot modules.
 */
import { resolve } from "node:path";
import { build } from "esbuild";

export interface FunctionBundle {
  module: string;
  bytes: number;
  /** npm packages in the bundle, as "name" or "@scope/name", sorted. */
  packages: string[];
}

function packageOf(input: string): string | null {
  const at = input.lastIndexOf("node_modules/");
  if (at < 0) return null;
  const parts = input.slice(at + "node_modules/".length).split("/");
  return parts[0].startsWith("@") ? `${parts[0]}/${parts[1]}` : parts[0];
}

export async function bundleFunctionModule(projectDir: string, module: string): Promise<FunctionBundle> {
  const result = await build({
    entryPoints: [resolve(projectDir, "convex", `${module}.ts`)],
    absWorkingDir: projectDir,
    bundle: true,
    platform: "browser",
    format: "esm",
    target: "esnext",
    conditions: ["convex", "module"],
    minifySyntax: true,
    minifyIdentifiers: true,
    treeShaking: true,
    keepNames: true,
    define: { "process.env.NODE_ENV": '"production"' },
    write: false,
    metafile: true,
    logLevel: "silent",
  });
  const packages = new Set<string>();
  for (const input of Object.keys(result.metafile.inputs)) {
    const name = packageOf(input);
    if (name !== null) packages.add(name);
  }
  return { module, bytes: result.outputFiles.reduce((sum, file) => sum + file.contents.byteLength, 0), packages: [...packages].sort() };
}
