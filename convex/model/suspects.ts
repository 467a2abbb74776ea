/** What the suspect-label search (suspectSearch.ts) and its queue (suspects.ts) share. */
import { internal } from "../_generated/api";
import type { Doc, Id } from "../_generated/dataModel";
import type { MutationCtx, QueryCtx } from "../_generated/server";

export const SUSPECT_FOLDS = 5;
/** Flagged items stored per run at most (the worst first); a set with more wrong labels than this needs relabelling, not a queue. */
export const MAX_STORED_SUSPECTS = 2000;
/** Open flagged items a comparison leaves out at most (an argument array stays under Convex's 8,192). */
export const MAX_EXCLUDED_SUSPECTS = 8000;
/** A running search whose step has not reported for this long is checked against its scheduled job. */
export const SUSPECT_STALL_MS = 10 * 60_000;
export const SUSPECT_INTERRUPTED_MESSAGE = "the search stopped mid-way (a step ended without handing over, e.g. a server restart): start it again";

/** Fold of an item: FNV-1a of its id, so every fold action assigns it the same fold whatever the order it reads the set in. */
export function foldOfItem(itemId: string, folds: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < itemId.length; i++) {
    hash ^= itemId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % folds;
}

/** Schedules a run's next step and returns the fields that let the cron tell a live chain from a broken one. */
export async function scheduleSuspectStep(ctx: MutationCtx, runId: Id<"suspectRuns">, step: "fold" | "finish", fold = 0) {
  const jobId =
    step === "fold"
      ? await ctx.scheduler.runAfter(0, internal.suspectSearch.runFold, { runId, fold })
      : await ctx.scheduler.runAfter(0, internal.suspectSearch.finish, { runId });
  return { jobId, updatedAt: Date.now() };
}

/** The latest finished run: the one whose flagged items the queue and comparisons use. */
export async function latestDoneRun(ctx: QueryCtx): Promise<Doc<"suspectRuns"> | null> {
  return ctx.db.query("suspectRuns").withIndex("by_status", (q) => q.eq("status", "done")).order("desc").first();
}
