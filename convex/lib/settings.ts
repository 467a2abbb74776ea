import type { DeploymentSettings, PromotionThresholds, SettingsPatch } from "./shapes.ts";
import { DEFAULT_CLIP_MODEL_ID, DEFAULT_FEATURE_DIM } from "./weightsFormat.ts";

export type { DeploymentSettings, PromotionThresholds, SettingsPatch };

export const DEFAULT_PROMOTION_THRESHOLDS: PromotionThresholds = {
  rule: "floors",
  nonInferiorityMargin: 0.01,
  maxAccuracyDrop: 0.01,
  minPerClassRecall: 0.5,
  maxPerClassRecallDrop: 0.05,
};
/** A non-inferiority margin above this would call a large loss "no regression". */
export const MAX_NON_INFERIORITY_MARGIN = 0.2;

/** What a fresh deployment uses until an admin saves settings. */
export const defaultSettings: DeploymentSettings = {
  privacyMode: "full",
  clipModelId: DEFAULT_CLIP_MODEL_ID,
  featureDim: DEFAULT_FEATURE_DIM,
  promotion: DEFAULT_PROMOTION_THRESHOLDS,
  signUp: "open",
};

/** Convex arrays (function arguments included) hold at most 8192 values. */
export const MAX_FEATURE_DIM = 8192;
export const MAX_CLIP_MODEL_ID_LENGTH = 200;

/** A stored settings document, possibly written before some field existed. */
export type StoredSettings = Partial<Omit<DeploymentSettings, "promotion">> & { promotion?: Partial<PromotionThresholds> };

/** Stored settings over the defaults, field by field, so an older document still yields a complete value. */
export function mergeSettings(stored: StoredSettings | null): DeploymentSettings {
  return {
    privacyMode: stored?.privacyMode ?? defaultSettings.privacyMode,
    clipModelId: stored?.clipModelId ?? defaultSettings.clipModelId,
    featureDim: stored?.featureDim ?? defaultSettings.featureDim,
    promotion: { ...defaultSettings.promotion, ...stored?.promotion },
    signUp: stored?.signUp ?? defaultSettings.signUp,
  };
}

/** Applies a patch and returns every problem with the result (empty when valid). */
export function applySettingsPatch(current: DeploymentSettings, patch: SettingsPatch): { settings: DeploymentSettings; problems: string[] } {
  const settings: DeploymentSettings = {
    privacyMode: patch.privacyMode ?? current.privacyMode,
    clipModelId: patch.clipModelId === undefined ? current.clipModelId : patch.clipModelId.trim(),
    featureDim: patch.featureDim ?? current.featureDim,
    promotion: { ...current.promotion, ...definedFields(patch.promotion ?? {}) },
    signUp: patch.signUp ?? current.signUp,
  };
  const problems: string[] = [];
  if (settings.clipModelId.length === 0) problems.push('clipModelId must not be empty (e.g. "Xenova/clip-vit-base-patch32")');
  if (settings.clipModelId.length > MAX_CLIP_MODEL_ID_LENGTH) {
    problems.push(`clipModelId must be at most ${MAX_CLIP_MODEL_ID_LENGTH} characters, got ${settings.clipModelId.length}`);
  }
  if (!Number.isInteger(settings.featureDim) || settings.featureDim < 1 || settings.featureDim > MAX_FEATURE_DIM) {
    problems.push(`featureDim must be a whole number from 1 to ${MAX_FEATURE_DIM}, got ${settings.featureDim}`);
  }
  for (const key of ["maxAccuracyDrop", "minPerClassRecall", "maxPerClassRecallDrop"] as const) {
    const value = settings.promotion[key];
    if (!Number.isFinite(value) || value < 0 || value > 1) problems.push(`promotion.${key} must be a number from 0 to 1, got ${value}`);
  }
  const margin = settings.promotion.nonInferiorityMargin;
  if (!(Number.isFinite(margin) && margin > 0 && margin <= MAX_NON_INFERIORITY_MARGIN)) {
    problems.push(`promotion.nonInferiorityMargin must be a number above 0 and at most ${MAX_NON_INFERIORITY_MARGIN}, got ${margin}`);
  }
  return { settings, problems };
}

/** "privacyMode: full → none" for every field that differs, for the audit log. */
export function describeSettingsChanges(before: DeploymentSettings, after: DeploymentSettings): string[] {
  const flatten = (settings: DeploymentSettings): Record<string, string | number> => ({
    privacyMode: settings.privacyMode,
    clipModelId: settings.clipModelId,
    featureDim: settings.featureDim,
    signUp: settings.signUp,
    ...Object.fromEntries(Object.entries(settings.promotion).map(([key, value]) => [`promotion.${key}`, value])),
  });
  const old = flatten(before);
  return Object.entries(flatten(after))
    .filter(([key, value]) => old[key] !== value)
    .map(([key, value]) => `${key}: ${old[key]} → ${value}`);
}

function definedFields<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}
