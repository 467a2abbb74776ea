import { defineConfig } from "vitest/config";
import vue from "@vitejs/plugin-vue";

// Three environments: Convex functions run under edge-runtime (convex-test),
// Vue components under jsdom, everything else (pure lib, tools, transformers.js
// in Node) under plain node. transformers.js must not see a DOM.
export default defineConfig({
  plugins: [vue()],
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "convex",
          environment: "edge-runtime",
          include: ["convex/**/*.test.ts", "tests/convex/**/*.test.ts"],
          server: { deps: { inline: ["convex-test"] } },
        },
      },
      {
        extends: true,
        test: {
          name: "dom",
          environment: "jsdom",
          include: ["src/**/*.test.ts", "tests/dom/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "node",
          environment: "node",
          include: ["tests/**/*.test.ts"],
          exclude: ["tests/convex/**", "tests/dom/**", "tests/e2e/**", "tests/scale/**"],
          testTimeout: 60_000,
        },
      },
    ],
  },
});
