/**
 * Starts the whole offline demo: the seeded in-memory backend on HTTP, and
 * Vite's dev server with VITE_DEMO=true, /api proxied to the backend and the
 * CLIP model folder served under /demo-models/. Used by `npm run demo`
 * (tools/demo/main.ts) and by the end-to-end tests.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { extname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer as createViteServer, type Plugin, type ViteDevServer } from "vite";
import { createDemoBackend } from "./demoBackend.ts";
import { seedDemo, type DemoSeedOptions, type DemoSeedSummary } from "./seed.ts";
import { startDemoServer, type DemoServer } from "./server.ts";

export const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
export const DEMO_MODELS_PATH = "/demo-models/";
export const TINY_CLIP_ID = "tiny-clip";

export interface DemoClipModel {
  /** The id the browser asks for and the settings record (`clipModelId`). */
  id: string;
  /** Folder with config.json, preprocessor_config.json and onnx/. */
  dir: string;
}

export interface StartDemoOptions {
  /** 0 picks a free port. */
  backendPort?: number;
  appPort?: number;
  clipModel?: DemoClipModel;
  seed?: DemoSeedOptions;
  logLevel?: "info" | "warn" | "error" | "silent";
  /** Enables /api/demo/faults/* for the e2e suite. */
  faultInjection?: boolean;
  /** Reload the page when sources change (default true); the e2e suite turns it off so edits cannot reload a page mid-journey. */
  watch?: boolean;
}

export interface RunningDemo {
  /** The dashboard, e.g. http://127.0.0.1:5173/ */
  appUrl: string;
  backendUrl: string;
  clipModel: DemoClipModel;
  seed: DemoSeedSummary;
  close(): Promise<void>;
}

export function defaultClipModel(): DemoClipModel {
  return { id: TINY_CLIP_ID, dir: resolve(projectRoot, "models", TINY_CLIP_ID) };
}

const contentTypes: Record<string, string> = {
  ".json": "application/json",
  ".onnx": "application/octet-stream",
  ".onnx_data": "application/octet-stream",
  ".txt": "text/plain",
};

/**
 * Serves the model folder with a real 404 for missing files: Vite's SPA
 * fallback would answer index.html, which transformers.js reports as
 * "Unexpected token '<'".
 */
export function demoModelsPlugin(clipModel: DemoClipModel): Plugin {
  const prefix = `${DEMO_MODELS_PATH}${clipModel.id}/`;
  const root = resolve(clipModel.dir);
  async function serve(request: IncomingMessage, response: ServerResponse, next: () => void): Promise<void> {
    const pathname = decodeURIComponent(new URL(request.url ?? "/", "http://127.0.0.1").pathname);
    if (!pathname.startsWith(DEMO_MODELS_PATH)) return next();
    const file = pathname.startsWith(prefix) ? resolve(root, pathname.slice(prefix.length)) : null;
    const info = file && (file === root || file.startsWith(root + sep)) ? await stat(file).catch(() => null) : null;
    if (!file || !info?.isFile()) {
      response.writeHead(404, { "Content-Type": "text/plain" });
      response.end(`No model file ${pathname}: the demo serves only ${prefix}* from ${root}`);
      return;
    }
    response.writeHead(200, {
      "Content-Type": contentTypes[extname(file)] ?? "application/octet-stream",
      "Content-Length": info.size,
      "Cross-Origin-Resource-Policy": "same-origin",
    });
    createReadStream(file).pipe(response);
  }
  return {
    name: "demo-clip-models",
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        serve(request, response, next).catch(next);
      });
    },
  };
}

export async function startDemo(options: StartDemoOptions = {}): Promise<RunningDemo> {
  const clipModel = options.clipModel ?? defaultClipModel();
  let seedSummary: DemoSeedSummary | undefined;
  const backend = await createDemoBackend({
    faultInjection: options.faultInjection,
    seed: async (context) => {
      seedSummary = await seedDemo(context, { clipModelId: clipModel.id, clipModelDir: clipModel.dir, ...options.seed });
    },
  });
  let server: DemoServer | undefined;
  let vite: ViteDevServer | undefined;
  try {
    server = await startDemoServer(backend, { port: options.backendPort });
    // Vite reads VITE_* from process.env when it loads the config, and bakes them into import.meta.env.
    process.env.VITE_DEMO = "true";
    process.env.VITE_CLIP_MODEL_ID = clipModel.id;
    process.env.VITE_CLIP_MODEL_HOST = DEMO_MODELS_PATH;
    vite = await createViteServer({
      root: projectRoot,
      configFile: resolve(projectRoot, "vite.config.ts"),
      clearScreen: false,
      logLevel: options.logLevel ?? "info",
      plugins: [demoModelsPlugin(clipModel)],
      // Scanning every source up front finds all dependencies before the first page
      // loads; one found later makes Vite re-bundle and reload the page.
      optimizeDeps: { entries: ["index.html", "src/**/*.{vue,ts}", "!src/**/*.test.ts"] },
      server: {
        host: "127.0.0.1",
        port: options.appPort ?? 5173,
        strictPort: options.appPort === 0 ? false : options.appPort !== undefined,
        proxy: { "/api": { target: server.url } },
        ...(options.watch === false ? { hmr: false, watch: null } : {}),
      },
    });
    await vite.listen();
  } catch (error) {
    await vite?.close();
    await server?.close();
    throw error;
  }
  const appUrl = vite.resolvedUrls?.local[0] ?? `http://127.0.0.1:${options.appPort ?? 5173}/`;
  const runningServer = server;
  const runningVite = vite;
  return {
    appUrl,
    backendUrl: runningServer.url,
    clipModel,
    seed: seedSummary!,
    async close() {
      await runningVite.close();
      await runningServer.close();
    },
  };
}
