import { ConvexError, v } from "convex/values";
import { internalQuery, type QueryCtx } from "./_generated/server";
import { adminMutation, memberQuery } from "./functions";
import { writeAudit } from "./audit";
import { privacyModeValidator, promotionThresholdsValidator } from "./schema";
import { applySettingsPatch, mergeSettings, type DeploymentSettings } from "./lib/settings";

export const settingsValidator = v.object({
  privacyMode: privacyModeValidator,
  clipModelId: v.string(),
  featureDim: v.number(),
  promotion: promotionThresholdsValidator,
});

/** The effective settings: the stored document (there is at most one) over the defaults. */
export async function loadSettings(ctx: QueryCtx): Promise<DeploymentSettings> {
  const stored = await ctx.db.query("settings").first();
  return mergeSettings(stored);
}

export const get = memberQuery({
  args: {},
  returns: settingsValidator,
  handler: async (ctx) => loadSettings(ctx),
});

/** For actions, which have no ctx.db. */
export const getInternal = internalQuery({
  args: {},
  returns: settingsValidator,
  handler: async (ctx) => loadSettings(ctx),
});

export const update = adminMutation({
  args: {
    privacyMode: v.optional(privacyModeValidator),
    clipModelId: v.optional(v.string()),
    featureDim: v.optional(v.number()),
    promotion: v.optional(
      v.object({
        maxAccuracyDrop: v.optional(v.number()),
        minPerClassRecall: v.optional(v.number()),
        maxPerClassRecallDrop: v.optional(v.number()),
      }),
    ),
  },
  returns: settingsValidator,
  handler: async (ctx, patch) => {
    const stored = await ctx.db.query("settings").first();
    const current = mergeSettings(stored);
    const { settings, problems } = applySettingsPatch(current, patch);
    if (problems.length > 0) throw new ConvexError(`Settings not saved: ${problems.join("; ")}.`);
    const changes = describeChanges(current, settings);
    if (changes.length === 0) return settings;
    if (stored === null) await ctx.db.insert("settings", settings);
    else await ctx.db.replace(stored._id, settings);
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "updateSettings", details: changes.join(", ") });
    return settings;
  },
});

function describeChanges(before: DeploymentSettings, after: DeploymentSettings): string[] {
  const flatten = (settings: DeploymentSettings): Record<string, string | number> => ({
    privacyMode: settings.privacyMode,
    clipModelId: settings.clipModelId,
    featureDim: settings.featureDim,
    ...Object.fromEntries(Object.entries(settings.promotion).map(([key, value]) => [`promotion.${key}`, value])),
  });
  const old = flatten(before);
  return Object.entries(flatten(after))
    .filter(([key, value]) => old[key] !== value)
    .map(([key, value]) => `${key}: ${old[key]} → ${value}`);
}
