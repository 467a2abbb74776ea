/**
 * The audit view: every change to versions, roles, invitations, settings,
 * labels, the labelled set and replays, newest first, with who, when and
 * what changed (before → after).
 */
import { ConvexError, v } from "convex/values";
import { paginationOptsValidator, paginationResultValidator } from "convex/server";
import { adminQuery } from "./functions";
import { auditEntryValidator, toAuditEntries } from "./model/audit";
import type { AuditAction } from "./lib/shapes";

/** What the audit view filters by, each a set of actions. */
export const AUDIT_GROUPS: Record<string, readonly AuditAction[]> = {
  versions: ["importVersion", "activateVersion", "rollback", "archiveVersion", "gateOverride", "startReplay"],
  labels: ["setLabel", "removeLabel", "findSuspects", "fixSuspectLabel", "keepSuspectLabel"],
  users: ["setRole", "invite", "revokeInvitation"],
  settings: ["updateSettings"],
  labelledSet: ["importLabelledSet", "removeLabelledImport", "removeLabelledItem"],
};
/** Entries read per call when a group is chosen; a page may then hold fewer (or none) and not be done. */
const GROUP_SCAN_ROWS = 200;
const MAX_PAGE = 100;

const groupValidator = v.union(v.literal("all"), v.literal("versions"), v.literal("labels"), v.literal("users"), v.literal("settings"), v.literal("labelledSet"));

export const list = adminQuery({
  args: { group: groupValidator, paginationOpts: paginationOptsValidator },
  returns: paginationResultValidator(auditEntryValidator),
  handler: async (ctx, { group, paginationOpts }) => {
    if (!Number.isInteger(paginationOpts.numItems) || paginationOpts.numItems < 1 || paginationOpts.numItems > MAX_PAGE) {
      throw new ConvexError(`An audit page holds 1 to ${MAX_PAGE} entries, not ${paginationOpts.numItems}.`);
    }
    const actions = group === "all" ? null : new Set(AUDIT_GROUPS[group]);
    const page = await ctx.db
      .query("auditLog")
      .order("desc")
      .paginate(actions === null ? paginationOpts : { ...paginationOpts, numItems: GROUP_SCAN_ROWS });
    const matching = actions === null ? page.page : page.page.filter((entry) => actions.has(entry.action));
    return { ...page, page: await toAuditEntries(ctx, matching) };
  },
});
