import type { BackendClient } from "./backendClient";

/**
 * The one place that picks the backend. The offline demo (VITE_DEMO=true) uses the
 * in-memory harness client from src/demo/demoBackendClient.ts; the glob sits inside the
 * branch so a production build never bundles it.
 */
export async function createBackend(): Promise<BackendClient> {
  if (import.meta.env.VITE_DEMO === "true") {
    const demoModules = import.meta.glob<{ createDemoBackendClient: () => BackendClient }>("../demo/demoBackendClient.ts");
    const loadDemo = demoModules["../demo/demoBackendClient.ts"];
    if (!loadDemo) throw new Error("VITE_DEMO is true but src/demo/demoBackendClient.ts (createDemoBackendClient) is missing.");
    return (await loadDemo()).createDemoBackendClient();
  }
  const url = import.meta.env.VITE_CONVEX_URL;
  if (!url) {
    throw new Error("VITE_CONVEX_URL is not set: put your deployment URL (https://<name>.convex.cloud) in .env.local, or run `npm run demo` for the offline demo.");
  }
  const { createConvexBackend } = await import("./convexBackend");
  return createConvexBackend(url);
}
