/**
 * A chain of scheduled steps (a replay's chunks, a suspect search's folds)
 * records the job it scheduled last (`jobId`) and when a step last reported
 * (`updatedAt`). A step that dies without scheduling the next one (a server
 * restart, an out-of-memory) leaves the chain "running" for ever; the crons
 * use these to tell a live chain from a broken one.
 */
import type { Id } from "../_generated/dataModel";
import type { DatabaseReader } from "../_generated/server";

interface Chain {
  _creationTime: number;
  jobId?: Id<"_scheduled_functions">;
  updatedAt?: number;
}

/** True while the chain's last scheduled step is still pending or running. */
export async function isChainAlive(db: DatabaseReader, chain: Chain): Promise<boolean> {
  if (chain.jobId === undefined) return false;
  const job = await db.system.get(chain.jobId);
  return job !== null && (job.state.kind === "pending" || job.state.kind === "inProgress");
}

/** A chain that has not reported for `stallMs` and whose last step is no longer scheduled or running. */
export async function hasChainBroken(db: DatabaseReader, chain: Chain, stallMs: number): Promise<boolean> {
  if ((chain.updatedAt ?? chain._creationTime) > Date.now() - stallMs) return false;
  return !(await isChainAlive(db, chain));
}
