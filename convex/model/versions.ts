import { ConvexError, v, type Infer } from "convex/values";
import type { MutationCtx, QueryCtx } from "../_generated/server";
import type { Doc, Id } from "../_generated/dataModel";
import { manifestSummaryValidator, versionStatusValidator, type VersionRef } from "../lib/shapes";
import { checkText, REASON_MAX_LENGTH } from "../lib/versionChecks";

/** What server-side code needs to load and run a version. Internal only: it names the weights. */
export const runnableVersionValidator = v.object({
  _id: v.id("modelVersions"),
  number: v.number(),
  name: v.string(),
  status: versionStatusValidator,
  /** Hex, as computed at registration; checked against the bytes on every load. */
  sha256: v.string(),
  storageId: v.id("_storage"),
  summary: manifestSummaryValidator,
});
export type RunnableVersion = Infer<typeof runnableVersionValidator>;

export function toRunnable(version: Doc<"modelVersions">): RunnableVersion {
  return {
    _id: version._id,
    number: version.number,
    name: version.name,
    status: version.status,
    sha256: version.sha256,
    storageId: version.storageId,
    summary: version.summary,
  };
}

export function toVersionRef(version: Pick<Doc<"modelVersions">, "_id" | "number" | "name">): VersionRef {
  return { versionId: version._id, number: version.number, name: version.name };
}

export async function requireVersion(ctx: QueryCtx, versionId: Id<"modelVersions">): Promise<Doc<"modelVersions">> {
  const version = await ctx.db.get(versionId);
  if (version === null) throw new ConvexError(`No model version with id ${versionId}: it may have been removed. Reload the page.`);
  return version;
}

/** Version references by id, read once each (a timeline names the same versions many times). */
export function versionRefReader(ctx: QueryCtx): (versionId: Id<"modelVersions"> | undefined) => Promise<VersionRef | null> {
  const cache = new Map<Id<"modelVersions">, VersionRef | null>();
  return async (versionId) => {
    if (versionId === undefined) return null;
    if (!cache.has(versionId)) {
      const version = await ctx.db.get(versionId);
      cache.set(versionId, version === null ? null : toVersionRef(version));
    }
    return cache.get(versionId) ?? null;
  };
}

/** Emails by user id, read once each. */
export function emailReader(ctx: QueryCtx): (userId: Id<"users">) => Promise<string | null> {
  const cache = new Map<Id<"users">, string | null>();
  return async (userId) => {
    if (!cache.has(userId)) cache.set(userId, (await ctx.db.get(userId))?.email ?? null);
    return cache.get(userId) ?? null;
  };
}


/** The next free version number. */
export async function nextVersionNumber(ctx: MutationCtx): Promise<number> {
  const last = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").first();
  return (last?.number ?? 0) + 1;
}

/** The trimmed reason an admin gave, or a ConvexError saying what is wrong with it. */
export function requireReason(field: string, value: string): string {
  const trimmed = value.trim();
  const problems = checkText(field, trimmed, REASON_MAX_LENGTH, true);
  if (problems.length > 0) throw new ConvexError(`${problems[0]}.`);
  return trimmed;
}
