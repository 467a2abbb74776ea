import type { MutationCtx } from "../_generated/server";
import { internal } from "../_generated/api";

/**
 * After the labelled set changes, the headline metrics of the versions an
 * admin looks at are recomputed once things settle: an import of 10,000
 * items arrives as 50 calls, and each call only makes sure one refresh is
 * pending, so the set is evaluated once, not 50 times.
 */
export const METRICS_REFRESH_DELAY_MS = 30_000;

export async function scheduleMetricsRefresh(ctx: MutationCtx): Promise<void> {
  const pending = await ctx.db.query("metricsRefresh").first();
  if (pending !== null) {
    const job = await ctx.db.system.get(pending.jobId);
    if (job !== null && job.state.kind === "pending") return;
  }
  const jobId = await ctx.scheduler.runAfter(METRICS_REFRESH_DELAY_MS, internal.evaluation.refreshAfterSetChange, {});
  if (pending === null) await ctx.db.insert("metricsRefresh", { jobId });
  else await ctx.db.patch(pending._id, { jobId });
}
