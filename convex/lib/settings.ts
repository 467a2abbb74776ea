import { DEFAULT_CLIP_MODEL_ID, DEFAULT_FEATURE_DIM } from "./weightsFormat";

export type PrivacyMode = "full" | "thumbnail" | "none";

export interface PromotionThresholdSettings {
  maxAccuracyDrop: number;
  minPerClassRecall: number;
  maxPerClassRecallDrop: number;
}

export interface DeploymentSettings {
  privacyMode: PrivacyMode;
  clipModelId: string;
  featureDim: number;
  promotion: PromotionThresholdSettings;
}

/** What a fresh deployment uses until an admin saves settings. */
export const defaultSettings: DeploymentSettings = {
  privacyMode: "full",
  clipModelId: DEFAULT_CLIP_MODEL_ID,
  featureDim: DEFAULT_FEATURE_DIM,
  promotion: { maxAccuracyDrop: 0.01, minPerClassRecall: 0.5, maxPerClassRecallDrop: 0.05 },
};

/** Convex arrays (function arguments included) hold at most 8192 values. */
export const MAX_FEATURE_DIM = 8192;
export const MAX_CLIP_MODEL_ID_LENGTH = 200;

export interface SettingsPatch {
  privacyMode?: PrivacyMode;
  clipModelId?: string;
  featureDim?: number;
  promotion?: Partial<PromotionThresholdSettings>;
}

/**
 * Stored settings over the defaults, field by field, so a document written
 * before a field existed still yields a complete value.
 */
export function mergeSettings(stored: Partial<Omit<DeploymentSettings, "promotion">> & { promotion?: Partial<PromotionThresholdSettings> } | null): DeploymentSettings {
  return {
    privacyMode: stored?.privacyMode ?? defaultSettings.privacyMode,
    clipModelId: stored?.clipModelId ?? defaultSettings.clipModelId,
    featureDim: stored?.featureDim ?? defaultSettings.featureDim,
    promotion: { ...defaultSettings.promotion, ...stored?.promotion },
  };
}

/** Applies a patch and returns every problem with the result (empty when valid). */
export function applySettingsPatch(current: DeploymentSettings, patch: SettingsPatch): { settings: DeploymentSettings; problems: string[] } {
  const settings: DeploymentSettings = {
    privacyMode: patch.privacyMode ?? current.privacyMode,
    clipModelId: patch.clipModelId === undefined ? current.clipModelId : patch.clipModelId.trim(),
    featureDim: patch.featureDim ?? current.featureDim,
    promotion: { ...current.promotion, ...patch.promotion },
  };
  const problems: string[] = [];
  if (settings.clipModelId.length === 0) problems.push("clipModelId must not be empty (e.g. \"Xenova/clip-vit-base-patch32\")");
  if (settings.clipModelId.length > MAX_CLIP_MODEL_ID_LENGTH) {
    problems.push(`clipModelId must be at most ${MAX_CLIP_MODEL_ID_LENGTH} characters, got ${settings.clipModelId.length}`);
  }
  if (!Number.isInteger(settings.featureDim) || settings.featureDim < 1 || settings.featureDim > MAX_FEATURE_DIM) {
    problems.push(`featureDim must be an integer in [1, ${MAX_FEATURE_DIM}], got ${settings.featureDim}`);
  }
  for (const [key, value] of Object.entries(settings.promotion)) {
    if (!Number.isFinite(value) || value < 0 || value > 1) problems.push(`promotion.${key} must be a number in [0, 1], got ${value}`);
  }
  return { settings, problems };
}
