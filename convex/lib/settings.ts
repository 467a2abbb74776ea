import { DEFAULT_CLIP_MODEL_ID, DEFAULT_FEATURE_DIM } from "./weightsFormat";

export type PrivacyMode = "full" | "thumbnail" | "none";

export interface DeploymentSettings {
  privacyMode: PrivacyMode;
  clipModelId: string;
  featureDim: number;
  promotion: { maxAccuracyDrop: number; minPerClassRecall: number };
}

/** What a fresh deployment uses until an admin saves settings. */
export const defaultSettings: DeploymentSettings = {
  privacyMode: "full",
  clipModelId: DEFAULT_CLIP_MODEL_ID,
  featureDim: DEFAULT_FEATURE_DIM,
  promotion: { maxAccuracyDrop: 0.01, minPerClassRecall: 0.5 },
};
