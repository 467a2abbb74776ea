/**
 * Fails when convex/_generated is stale: regenerates it offline in a scratch
 * copy of the project and compares byte for byte with the committed files.
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

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
    const fresh = join(scratch, "convex", "_generated");
    const committed = join(projectDir, "convex", "_generated");
    const names = new Set([...readdirSync(fresh), ...(existsSync(committed) ? readdirSync(committed) : [])]);
    const stale: string[] = [];
    for (const name of names) {
      const a = join(fresh, name);
      const b = join(committed, name);
      if (!existsSync(a) || !existsSync(b) || !readFileSync(a).equals(readFileSync(b))) stale.push(`convex/_generated/${name}`);
    }
    return stale.sort();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const stale = findStaleGeneratedFiles(resolve(import.meta.dirname, ".."));
if (stale.length > 0) {
  process.stderr.write(`convex/_generated is stale (${stale.join(", ")}): run \`npm run codegen\` and commit the result.\n`);
  process.exit(1);
}
process.stdout.write("convex/_generated is up to date.\n");
