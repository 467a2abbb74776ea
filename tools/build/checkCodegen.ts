/**
 * `npm run codegen:check`: fails when convex/_generated is stale. It
 * regenerates the files offline in a scratch copy of the project and compares
 * them with the committed ones.
 *
 * The offline codegen and a real `npx convex dev` write different forms of
 * `api.js` and `api.d.ts`: the real CLI adds Convex components
 * (`componentsGeneric()`) and orders the declarations its own way. Both forms
 * are current when they name the same function modules, so those two files
 * are compared by what they declare; every other file byte for byte.
 */
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { isStartedScript } from "../startedScript.ts";

/** What an api file declares: the modules it types, and which of api/internal/components it exports. */
export interface ApiDeclarations {
  modules: string[];
  exports: string[];
}

export function apiDeclarations(text: string): ApiDeclarations {
  const modules = new Set<string>();
  for (const match of text.matchAll(/import type \* as \w+ from "\.\.\/([^"]+)\.js";/g)) modules.add(match[1]);
  const exports = new Set<string>();
  for (const match of text.matchAll(/export (?:declare )?const (\w+)/g)) exports.add(match[1]);
  // `components` is what the real CLI adds; its absence is the offline form, not staleness.
  exports.delete("components");
  return { modules: [...modules].sort(), exports: [...exports].sort() };
}

function sameDeclarations(a: string, b: string): boolean {
  return JSON.stringify(apiDeclarations(a)) === JSON.stringify(apiDeclarations(b));
}

const API_FILES = new Set(["api.js", "api.d.ts"]);

/** The names of committed files that differ from `fresh` (both maps: file name → text). */
export function staleFiles(fresh: ReadonlyMap<string, string>, committed: ReadonlyMap<string, string>): string[] {
  const names = new Set([...fresh.keys(), ...committed.keys()]);
  const stale: string[] = [];
  for (const name of names) {
    const a = fresh.get(name);
    const b = committed.get(name);
    if (a === undefined || b === undefined) stale.push(name);
    else if (a !== b && !(API_FILES.has(name) && sameDeclarations(a, b))) stale.push(name);
  }
  return stale.sort();
}

function readFolder(folder: string): Map<string, string> {
  const files = new Map<string, string>();
  if (!existsSync(folder)) return files;
  for (const name of readdirSync(folder)) files.set(name, readFileSync(join(folder, name), "utf8"));
  return files;
}

export function findStaleGeneratedFiles(projectDir: string): string[] {
  const scratch = mkdtempSync(join(tmpdir(), "codegen-check-"));
  try {
    cpSync(join(projectDir, "package.json"), join(scratch, "package.json"));
    cpSync(join(projectDir, "convex"), join(scratch, "convex"), { recursive: true });
    rmSync(join(scratch, "convex", "_generated"), { recursive: true, force: true });
    symlinkSync(join(projectDir, "node_modules"), join(scratch, "node_modules"), "dir");
    execFileSync(join(projectDir, "node_modules", ".bin", "convex"), ["codegen", "--system-udfs", "--typecheck", "disable"], {
      cwd: scratch,
      stdio: "pipe",
    });
    const fresh = readFolder(join(scratch, "convex", "_generated"));
    const committed = readFolder(join(projectDir, "convex", "_generated"));
    return staleFiles(fresh, committed).map((name) => `convex/_generated/${name}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (isStartedScript(import.meta.url)) {
  const stale = findStaleGeneratedFiles(resolve(import.meta.dirname, "..", ".."));
  if (stale.length > 0) {
    process.stderr.write(`convex/_generated is stale (${stale.join(", ")}): run \`npm run codegen\` (or \`npx convex dev\`) and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write("convex/_generated is up to date.\n");
}
