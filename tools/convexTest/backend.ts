/**
 * The project's Convex functions under convex-test with Convex's production
 * limits: the one way tests, the demo and the bench make a backend.
 * convex-test enforces the per-transaction limits (documents and bytes read
 * and written, queries, scheduled functions, files); withValueLimits adds the
 * argument and return-value limits it does not.
 */
import { convexTest, type TestConvex } from "convex-test";
import type { TransactionMetrics } from "convex-test/dist/transactionMetrics.js";
import schema from "../../convex/schema.ts";
import { withValueLimits } from "./valueLimits.ts";

export type ConvexTestBackend = TestConvex<typeof schema>;
export type ConvexTestModules = Record<string, () => Promise<unknown>>;

/** Convex's per-transaction limits (docs.convex.dev/production/state/limits; convex-test's defaults). */
const MiB = 1024 * 1024;
export const PRODUCTION_LIMITS: TransactionMetrics = {
  bytesRead: 16 * MiB,
  bytesWritten: 16 * MiB,
  documentsRead: 32_000,
  databaseQueries: 4_096,
  documentsWritten: 16_000,
  functionsScheduled: 1000,
  scheduledFunctionArgsBytes: 16 * MiB,
  filesWritten: 10,
  fileWriteBytes: 16 * MiB,
  filesRead: 10,
  fileReadBytes: 16 * MiB,
};
export type TransactionLimits = Partial<TransactionMetrics>;

/** A fresh backend over `modules`. `tighter` narrows limits (for one test); nothing here can loosen one. */
export function createLimitedBackend(modules: ConvexTestModules, tighter: TransactionLimits = {}): ConvexTestBackend {
  for (const [name, value] of Object.entries(tighter)) {
    const limit = PRODUCTION_LIMITS[name as keyof TransactionMetrics];
    if (!(value <= limit)) throw new Error(`a backend may only tighten Convex's limits: ${name} ${value} is above ${limit}.`);
  }
  return withValueLimits(convexTest({ schema, modules, transactionLimits: tighter }));
}
