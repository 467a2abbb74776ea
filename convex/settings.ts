import { ConvexError, v } from "convex/values";
import { internalQuery } from "./_generated/server";
import { adminMutation, memberQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { loadSettings, loadStoredSettings } from "./model/settings";
import { applySettingsPatch, describeSettingsChanges, mergeSettings } from "./lib/settings";
import { settingsPatchValidator, settingsValidator } from "./lib/shapes";

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
  args: settingsPatchValidator.fields,
  returns: settingsValidator,
  handler: async (ctx, patch) => {
    const stored = await loadStoredSettings(ctx);
    const current = mergeSettings(stored);
    const { settings, problems } = applySettingsPatch(current, patch);
    if (problems.length > 0) throw new ConvexError(`Settings not saved: ${problems.join("; ")}.`);
    const changes = describeSettingsChanges(current, settings);
    if (changes.length === 0) return settings;
    if (stored === null) await ctx.db.insert("settings", settings);
    else await ctx.db.replace(stored._id, settings);
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "updateSettings", details: changes.join(", ") });
    return settings;
  },
});
