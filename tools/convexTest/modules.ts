import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const defaultConvexDir = resolve(fileURLToPath(new URL("../../convex", import.meta.url)));

type ModuleLoader = () => Promise<Record<string, unknown>>;

/**
 * Node has no `import.meta.glob`, so the module map convex-test wants is built
 * from the folder: every .ts/.js file including `_generated`, but no tests or
 * declaration files.
 */
export async function loadConvexModules(convexDir: string = defaultConvexDir): Promise<Record<string, ModuleLoader>> {
  const modules: Record<string, ModuleLoader> = {};
  const entries = await readdir(convexDir, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const name = entry.name;
    if (!/\.(ts|js)$/.test(name) || name.endsWith(".d.ts") || /\.test\.(ts|js)$/.test(name)) continue;
    const absolute = join(entry.parentPath, name);
    modules[absolute] = () => import(pathToFileURL(absolute).href) as Promise<Record<string, unknown>>;
  }
  if (!Object.keys(modules).some((path) => path.includes("_generated"))) {
    throw new Error(`No convex/_generated files under ${convexDir}: run \`npm run codegen\` first.`);
  }
  return modules;
}
