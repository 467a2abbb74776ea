import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";

/** Rollback history kept on the deployment document (bounded: it is one document). */
export const MAX_ROLLBACK_HISTORY = 100;

/** The single deployment document, or null before the first activation. */
export async function loadDeployment(ctx: QueryCtx): Promise<Doc<"deployment"> | null> {
  return ctx.db.query("deployment").first();
}

export async function loadActiveVersion(ctx: QueryCtx): Promise<Doc<"modelVersions"> | null> {
  const deployment = await loadDeployment(ctx);
  return deployment?.activeVersionId ? ctx.db.get(deployment.activeVersionId) : null;
}

export async function writeDeployment(
  ctx: MutationCtx,
  deployment: Doc<"deployment"> | null,
  activeVersionId: Id<"modelVersions">,
  previousVersionIds: Id<"modelVersions">[],
): Promise<void> {
  const fields = { activeVersionId, previousVersionIds: previousVersionIds.slice(-MAX_ROLLBACK_HISTORY), updatedAt: Date.now() };
  if (deployment === null) await ctx.db.insert("deployment", fields);
  else await ctx.db.patch(deployment._id, fields);
}
