/**
 * The production build must not contain the demo's backend adapter or sign-in
 * (they load only behind VITE_DEMO === "true"), nor anything of the Node
 * harness. Built for real with `vite build`, once with and once without
 * VITE_DEMO, so the markers are shown to be findable when they are there.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoSignInUrl } from "../../src/demo/demoBackendClient";
import { FAKE_STORAGE_ORIGIN } from "../../tools/demo/demoBackend";
import { projectRoot } from "./session";

const run = promisify(execFile);

/** Strings only the demo adapter and sign-in page contain (checked against their sources below). */
const adapterMarkers = [demoSignInUrl(), "/api/events", "In-memory demo backend"];
/** Only the Node harness has these; no build may contain them. */
const harnessMarkers = [FAKE_STORAGE_ORIGIN, "convex-test"];

async function buildApp(outDir: string, env: Record<string, string>): Promise<string> {
  const viteEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("VITE_")));
  await run(resolve(projectRoot, "node_modules/.bin/vite"), ["build", "--outDir", outDir, "--emptyOutDir", "--logLevel", "error"], {
    cwd: projectRoot,
    env: { ...viteEnv, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  const files = await readdir(outDir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(
    files.filter((file) => file.isFile() && /\.(js|html|css)$/.test(file.name)).map((file) => readFile(join(file.parentPath, file.name), "utf8")),
  );
  return texts.join("\n");
}

describe("production build", () => {
  let workDir: string;
  let production: string;
  let demo: string;

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), "dashboard-build-"));
    production = await buildApp(join(workDir, "production"), { VITE_CONVEX_URL: "https://example-123.convex.cloud" });
    demo = await buildApp(join(workDir, "demo"), { VITE_DEMO: "true" });
  }, 180_000);

  afterAll(async () => {
    await rm(workDir, { recursive: true, force: true });
  });

  it("the markers come from the demo adapter and sign-in sources", async () => {
    const sources = (await Promise.all(["src/demo/demoBackendClient.ts", "src/demo/DemoSignIn.vue"].map((path) => readFile(resolve(projectRoot, path), "utf8")))).join("\n");
    for (const marker of adapterMarkers) {
      const literal = marker === demoSignInUrl() ? "/api/demo/signIn" : marker;
      expect(sources).toContain(literal);
    }
  });

  it("a VITE_DEMO build contains the adapter and sign-in", () => {
    for (const marker of adapterMarkers) expect(demo).toContain(marker);
  });

  it("the production build contains neither, nor the harness", () => {
    for (const marker of [...adapterMarkers, ...harnessMarkers]) expect(production).not.toContain(marker);
    for (const marker of harnessMarkers) expect(demo).not.toContain(marker);
  });
});
