import type { QueryCtx } from "../_generated/server";
import type { Doc } from "../_generated/dataModel";
import { mergeSettings, type DeploymentSettings } from "../lib/settings";

export async function loadStoredSettings(ctx: QueryCtx): Promise<Doc<"settings"> | null> {
  return ctx.db.query("settings").first();
}

/** The effective settings: the stored document (there is at most one) over the defaults. */
export async function loadSettings(ctx: QueryCtx): Promise<DeploymentSettings> {
  return mergeSettings(await loadStoredSettings(ctx));
}
