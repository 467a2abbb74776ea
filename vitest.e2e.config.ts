import { defineConfig } from "vitest/config";

// End-to-end journeys in Debian's Chromium against `npm run demo`'s stack. One
// demo and one browser for the whole run (tests/e2e/globalSetup.ts); files run
// one after another because they share the demo's in-memory data.
export default defineConfig({
  test: {
    name: "e2e",
    environment: "node",
    include: ["tests/e2e/**/*.e2e.ts"],
    globalSetup: ["tests/e2e/globalSetup.ts"],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
