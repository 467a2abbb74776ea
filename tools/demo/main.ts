/**
 * `npm run demo`: the dashboard with an in-memory backend, no Convex account
 * or network needed.
 *
 *   DEMO_APP_PORT       Vite's port (default 5173)
 *   DEMO_BACKEND_PORT   the harness's port (default 3210)
 *   DEMO_CLIP_MODEL_DIR a real CLIP model folder (config.json, preprocessor_config.json, onnx/)
 *   DEMO_CLIP_MODEL_ID  its id (default Xenova/clip-vit-base-patch32)
 */
import { resolve } from "node:path";
import { z } from "zod";
import { DEFAULT_CLIP_MODEL_ID } from "../../src/clip/clipConfig.ts";
import { DEFAULT_DEMO_BACKEND_PORT } from "./server.ts";
import { defaultClipModel, startDemo, type DemoClipModel } from "./startDemo.ts";

const portSchema = z.coerce.number().int().min(0).max(65_535);
const envSchema = z.object({
  DEMO_APP_PORT: portSchema.default(5173),
  DEMO_BACKEND_PORT: portSchema.default(DEFAULT_DEMO_BACKEND_PORT),
  DEMO_CLIP_MODEL_DIR: z.string().trim().min(1).optional(),
  DEMO_CLIP_MODEL_ID: z.string().trim().min(1).default(DEFAULT_CLIP_MODEL_ID),
});

function readEnv(): z.infer<typeof envSchema> {
  const input = Object.fromEntries(
    Object.keys(envSchema.shape).flatMap((key) => (process.env[key] ? [[key, process.env[key]]] : [])),
  );
  const parsed = envSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${String(issue.path[0])} ${issue.message}, found ${JSON.stringify(input[String(issue.path[0])])}`);
    throw new Error(`Invalid demo settings: ${problems.join("; ")}`);
  }
  return parsed.data;
}

async function main(): Promise<void> {
  const env = readEnv();
  const clipModel: DemoClipModel = env.DEMO_CLIP_MODEL_DIR
    ? { id: env.DEMO_CLIP_MODEL_ID, dir: resolve(env.DEMO_CLIP_MODEL_DIR) }
    : defaultClipModel();
  process.stdout.write(`Seeding the in-memory demo backend (CLIP model "${clipModel.id}" from ${clipModel.dir})…\n`);
  const demo = await startDemo({ appPort: env.DEMO_APP_PORT, backendPort: env.DEMO_BACKEND_PORT, clipModel, logLevel: "warn" });
  for (const note of demo.seed.notes) process.stdout.write(`Note: ${note}\n`);
  process.stdout.write(
    [
      "",
      `  Demo dashboard: ${demo.appUrl}`,
      `  Backend:        ${demo.backendUrl} (in memory: everything is lost when this process exits)`,
      "  Sign in as labeller, admin or analyst. Press Ctrl+C to stop.",
      "",
    ].join("\n"),
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    demo.close().finally(() => process.exit(0));
  };
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.once(signal, stop);
  // `kill <npm's pid>` reaches npm, which passes it to the shell it ran this
  // in, not always to this process: when our parent goes away, so do we,
  // instead of serving the ports as an orphan.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) stop();
  }, 500).unref();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  const portHint = /EADDRINUSE|already in use/i.test(message) ? " (another demo or dev server is running? choose other ports with DEMO_APP_PORT and DEMO_BACKEND_PORT)" : "";
  process.stderr.write(`npm run demo failed: ${message}${portHint}\n`);
  process.exit(1);
});
