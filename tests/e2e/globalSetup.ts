/**
 * Starts the demo (seeded harness + Vite) and one Chromium for the whole e2e
 * run; test files reach both through `inject("appUrl")` / `inject("browserEndpoint")`.
 */
import type { TestProject } from "vitest/node";
import { chromium } from "playwright-core";
import { startDemo } from "../../tools/demo/startDemo";
import { CHROMIUM_PATH, chromiumArgs } from "./browser";

declare module "vitest" {
  export interface ProvidedContext {
    appUrl: string;
    browserEndpoint: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const demo = await startDemo({
    appPort: 0,
    backendPort: 0,
    // E2E_VITE_LOG_LEVEL=info shows Vite's dependency optimisation and reloads when a journey flakes.
    logLevel: process.env.E2E_VITE_LOG_LEVEL === "info" ? "info" : "warn",
    faultInjection: true,
    watch: false,
  });
  const browserServer = await chromium.launchServer({
    executablePath: CHROMIUM_PATH,
    args: chromiumArgs(),
    headless: true,
  });
  project.provide("appUrl", demo.appUrl);
  project.provide("browserEndpoint", browserServer.wsEndpoint());
  return async () => {
    await browserServer.close();
    await demo.close();
  };
}
