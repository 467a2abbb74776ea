import { v } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { auditActionValidator, headlineMetricsValidator, versionRefValidator } from "../lib/shapes";
import { emailReader, versionRefReader } from "./versions";

export type AuditEntry = Omit<Doc<"auditLog">, "_id" | "_creationTime" | "at">;

/** Every change to versions, roles, settings, labels or the labelled set goes through here, in the same transaction. */
export async function writeAudit(ctx: MutationCtx, entry: AuditEntry): Promise<void> {
  await ctx.db.insert("auditLog", { ...entry, at: Date.now() });
}

/** How an audit entry reaches an admin: who by email, versions by number and name. */
export const auditEntryValidator = v.object({
  _id: v.id("auditLog"),
  action: auditActionValidator,
  at: v.number(),
  actorEmail: v.union(v.string(), v.null()),
  from: v.union(versionRefValidator, v.null()),
  to: v.union(versionRefValidator, v.null()),
  reason: v.union(v.string(), v.null()),
  details: v.union(v.string(), v.null()),
  metrics: v.union(headlineMetricsValidator, v.null()),
});

/** Entries as auditEntryValidator describes them, reading each user and version once. */
export async function toAuditEntries(ctx: QueryCtx, entries: Doc<"auditLog">[]) {
  const emailOf = emailReader(ctx);
  const versionRef = versionRefReader(ctx);
  const result = [];
  for (const entry of entries) {
    result.push({
      _id: entry._id,
      action: entry.action,
      at: entry.at,
      actorEmail: await emailOf(entry.actorId),
      from: await versionRef(entry.fromVersionId),
      to: await versionRef(entry.toVersionId),
      reason: entry.reason ?? null,
      details: entry.details ?? null,
      metrics: entry.metrics ?? null,
    });
  }
  return result;
}
