/**
 * The deployment: which version answers classifications, and how admins
 * move it — activate (behind the promotion gate), roll back — with every
 * move on the timeline.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalMutation, internalQuery, type QueryCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminAction, adminMutation, adminQuery } from "./functions";
import { auditEntryValidator, toAuditEntries, writeAudit } from "./model/audit";
import { loadDeployment, writeDeployment } from "./model/deployment";
import { compareOnLabelledSet, evaluateOnLabelledSet } from "./model/evaluation";
import { loadSettings } from "./model/settings";
import { requireReason, requireVersion, runnableVersionValidator, toRunnable, toVersionRef, type RunnableVersion } from "./model/versions";
import { loadVersionModel } from "./model/weights";
import { decideActivation } from "./lib/activationGate";
import { headlineMetrics } from "./lib/labelledEvaluation";
import { headlineMetricsValidator, promotionThresholdsValidator, versionRefValidator, type HeadlineMetrics, type PromotionThresholds } from "./lib/shapes";
import { describeInputMismatch } from "./lib/versionChecks";
import { versionLabel } from "./lib/versionLabel";
import type { MlpModel } from "./lib/weightsFormat";
import { errorSentence } from "./lib/errorMessage";

/** Throws the reason a version may not become active now. */
async function checkActivatable(ctx: QueryCtx, versionId: Id<"modelVersions">, activeId: Id<"modelVersions"> | null): Promise<Doc<"modelVersions">> {
  const version = await requireVersion(ctx, versionId);
  if (version.status === "archived") throw new ConvexError(`${versionLabel(version)} is archived and cannot be activated.`);
  if (activeId === version._id) throw new ConvexError(`${versionLabel(version)} is already active.`);
  const mismatch = describeInputMismatch(versionLabel(version), version.summary.input, await loadSettings(ctx));
  if (mismatch !== null) throw new ConvexError(`Cannot activate: ${mismatch}`);
  return version;
}

export const activationPlan = internalQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.object({ candidate: runnableVersionValidator, active: v.union(runnableVersionValidator, v.null()), thresholds: promotionThresholdsValidator }),
  handler: async (ctx, { versionId }) => {
    const activeId = (await loadDeployment(ctx))?.activeVersionId ?? null;
    const candidate = await checkActivatable(ctx, versionId, activeId);
    const active = activeId === null ? null : await ctx.db.get(activeId);
    return { candidate: toRunnable(candidate), active: active === null ? null : toRunnable(active), thresholds: (await loadSettings(ctx)).promotion };
  },
});

const activationResultValidator = v.object({
  version: versionRefValidator,
  /** Null when the gate did not apply: no active version, or an empty labelled set. */
  gate: v.union(v.null(), v.object({ allowed: v.boolean(), reasons: v.array(v.string()), overridden: v.boolean(), itemCount: v.number() })),
  /** Why the gate was skipped although a version was active (its weights could not be read), else null. */
  gateSkipped: v.union(v.null(), v.string()),
});
type ActivationResult = Infer<typeof activationResultValidator>;


/**
 * An action because the promotion gate runs both versions over the labelled
 * set; the pointer is then written by one mutation that fails if another
 * admin moved it meanwhile, so the gate's verdict is never applied to a
 * different active version than the one it compared against.
 */
export const activate = adminAction({
  args: { versionId: v.id("modelVersions"), reason: v.string(), overrideReason: v.optional(v.string()) },
  returns: activationResultValidator,
  handler: async (ctx, args): Promise<ActivationResult> => {
    const reason = requireReason("reason", args.reason);
    const overrideReason = args.overrideReason === undefined ? undefined : requireReason("overrideReason", args.overrideReason);
    const plan: { candidate: RunnableVersion; active: RunnableVersion | null; thresholds: PromotionThresholds } = await ctx.runQuery(
      internal.deployment.activationPlan,
      { versionId: args.versionId },
    );
    const { candidate, active, thresholds } = plan;
    const candidateModel = await loadVersionModel(ctx, candidate);
    let activeModel: MlpModel | null = null;
    let gateSkipped: string | null = null;
    if (active !== null && active.summary.input.dim === candidate.summary.input.dim) {
      try {
        activeModel = await loadVersionModel(ctx, active);
      } catch (error) {
        // A broken active version must not lock admins out of replacing it:
        // without a readable baseline the gate cannot run, and the audit says so.
        gateSkipped = `promotion gate skipped: ${errorSentence(error)}`;
      }
    }

    let metrics: HeadlineMetrics;
    let verdict = null;
    if (active === null || activeModel === null) {
      const { report, excluded } = await evaluateOnLabelledSet(ctx, candidate.summary.classes, candidateModel);
      metrics = { ...headlineMetrics(report, excluded), computedAt: Date.now() };
    } else {
      const comparison = await compareOnLabelledSet(
        ctx,
        { classes: active.summary.classes, model: activeModel },
        { classes: candidate.summary.classes, model: candidateModel },
        thresholds,
        "the active version",
      );
      metrics = { ...headlineMetrics(comparison.candidateOwn.report, comparison.candidateOwn.excluded), computedAt: Date.now() };
      verdict = { ...comparison.gate, itemCount: comparison.itemCount, excludedItemCount: comparison.excluded.itemCount };
    }

    const decision = decideActivation({
      candidateLabel: versionLabel(candidate),
      activeLabel: active === null ? null : versionLabel(active),
      verdict,
      gateSkipped,
      overrideReason,
    });
    if (decision.kind === "blocked") throw new ConvexError(decision.message);
    await ctx.runMutation(internal.deployment.commitActivation, {
      versionId: candidate._id,
      expectedActiveVersionId: active?._id ?? null,
      actorId: ctx.caller.userId,
      reason,
      metrics,
      gateOverride: decision.override,
      ...(decision.gateSkipped === null ? {} : { details: decision.gateSkipped }),
    });
    return { version: toVersionRef(candidate), gate: decision.gate, gateSkipped: decision.gateSkipped };
  },
});

export const commitActivation = internalMutation({
  args: {
    versionId: v.id("modelVersions"),
    expectedActiveVersionId: v.union(v.id("modelVersions"), v.null()),
    actorId: v.id("users"),
    reason: v.string(),
    metrics: headlineMetricsValidator,
    gateOverride: v.union(v.null(), v.object({ reason: v.string(), details: v.string() })),
    /** Recorded on the activation's audit entry, e.g. why the gate was skipped. */
    details: v.optional(v.string()),
  },
  returns: v.null(),
  handler: async (ctx, args) => {
    const deployment = await loadDeployment(ctx);
    const activeId = deployment?.activeVersionId ?? null;
    if (activeId !== args.expectedActiveVersionId) {
      throw new ConvexError("The active version changed while you were deciding: reload and try again.");
    }
    // Archiving or a settings change may have happened while the action ran.
    await checkActivatable(ctx, args.versionId, activeId);
    const previousVersionIds = activeId === null ? (deployment?.previousVersionIds ?? []) : [...(deployment?.previousVersionIds ?? []), activeId];
    await writeDeployment(ctx, deployment, args.versionId, previousVersionIds);
    await ctx.db.patch(args.versionId, { metrics: args.metrics });
    const fromVersionId = activeId ?? undefined;
    if (args.gateOverride !== null) {
      await writeAudit(ctx, {
        actorId: args.actorId,
        action: "gateOverride",
        fromVersionId,
        toVersionId: args.versionId,
        reason: args.gateOverride.reason,
        details: args.gateOverride.details,
        metrics: args.metrics,
      });
    }
    await writeAudit(ctx, {
      actorId: args.actorId,
      action: "activateVersion",
      fromVersionId,
      toVersionId: args.versionId,
      reason: args.reason,
      metrics: args.metrics,
      ...(args.details === undefined ? {} : { details: args.details }),
    });
    return null;
  },
});

/** Back to the version that was active before the current one. */
export const rollback = adminMutation({
  args: {
    reason: v.string(),
    /** The active version the admin saw; when given, a pointer moved by someone else refuses the rollback. */
    expectedActiveVersionId: v.optional(v.id("modelVersions")),
  },
  returns: v.object({ from: versionRefValidator, to: versionRefValidator }),
  handler: async (ctx, args) => {
    const reason = requireReason("reason", args.reason);
    const deployment = await loadDeployment(ctx);
    const activeId = deployment?.activeVersionId;
    if (deployment === null || activeId === undefined) throw new ConvexError("No version is active, so there is nothing to roll back.");
    if (args.expectedActiveVersionId !== undefined && args.expectedActiveVersionId !== activeId) {
      throw new ConvexError("The active version changed while you were deciding: reload and try again.");
    }
    const active = await ctx.db.get(activeId);
    const targetId = deployment.previousVersionIds.at(-1);
    if (targetId === undefined) {
      throw new ConvexError(`Nothing to roll back to: ${active ? versionLabel(active) : "the active version"} is the only version that has been active.`);
    }
    const target = await ctx.db.get(targetId);
    if (target === null) throw new ConvexError(`Cannot roll back: the previous version ${targetId} no longer exists.`);
    if (target.status === "archived") {
      throw new ConvexError(`Cannot roll back: the previous version, ${versionLabel(target)}, is archived. Activate a ready version instead.`);
    }
    const mismatch = describeInputMismatch(versionLabel(target), target.summary.input, await loadSettings(ctx));
    if (mismatch !== null) throw new ConvexError(`Cannot roll back: ${mismatch}`);
    await writeDeployment(ctx, deployment, targetId, deployment.previousVersionIds.slice(0, -1));
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "rollback", fromVersionId: activeId, toVersionId: targetId, reason, metrics: target.metrics });
    return {
      from: active === null ? { versionId: activeId, number: 0, name: "" } : toVersionRef(active),
      to: toVersionRef(target),
    };
  },
});

const timelineActions = ["importVersion", "activateVersion", "rollback", "archiveVersion", "gateOverride"] as const;
const DEFAULT_TIMELINE_LIMIT = 200;
const MAX_TIMELINE_LIMIT = 1000;

export const timeline = adminQuery({
  args: { limit: v.optional(v.number()) },
  returns: v.array(auditEntryValidator),
  handler: async (ctx, args) => {
    const limit = Math.max(1, Math.min(Math.floor(args.limit ?? DEFAULT_TIMELINE_LIMIT), MAX_TIMELINE_LIMIT));
    const perAction = await Promise.all(
      timelineActions.map((action) => ctx.db.query("auditLog").withIndex("by_action", (q) => q.eq("action", action)).order("desc").take(limit)),
    );
    const entries = perAction
      .flat()
      .sort((a, b) => b.at - a.at || b._creationTime - a._creationTime)
      .slice(0, limit);
    return toAuditEntries(ctx, entries);
  },
});
