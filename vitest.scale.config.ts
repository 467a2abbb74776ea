import { defineConfig } from "vitest/config";

// The scale suite (npm run test:scale): the Convex functions under convex-test
// with Convex's production limits, on a year's worth of data. Slow (minutes,
// gigabytes), so not part of `npm test`. Files run one after another: each
// holds hundreds of thousands of documents in memory, and two at once on a
// 2-core machine only make both slower.
export default defineConfig({
  test: {
    name: "scale",
    environment: "edge-runtime",
    include: ["tests/scale/**/*.scale.test.ts"],
    server: { deps: { inline: ["convex-test"] } },
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
  },
});
