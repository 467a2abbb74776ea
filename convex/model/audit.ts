import type { MutationCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";

export type AuditEntry = Omit<Doc<"auditLog">, "_id" | "_creationTime" | "at">;

/** Every change to versions, roles, settings, labels or the labelled set goes through here, in the same transaction. */
export async function writeAudit(ctx: MutationCtx, entry: AuditEntry): Promise<void> {
  await ctx.db.insert("auditLog", { ...entry, at: Date.now() });
}
