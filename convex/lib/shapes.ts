/**
 * Every shape shared by tables, functions and the client, defined once as a
 * Convex validator with its `Infer` type. schema.ts builds the tables from
 * these; function `args`/`returns` use them; the browser imports the types.
 *
 * They live here rather than in schema.ts because schema.ts imports Convex
 * Auth's tables: a function module that imported its validators from
 * schema.ts would load @convex-dev/auth on every call (the classify action
 * included). This module imports only convex/values and convex-helpers' validators.
 */
import { literals } from "convex-helpers/validators";
import { v, type Infer } from "convex/values";

export const roleValidator = literals("admin", "labeller", "analyst");
export type Role = Infer<typeof roleValidator>;
export const ROLES: readonly Role[] = ["labeller", "analyst", "admin"];

/** full: the (downscaled) original image; thumbnail: a small preview only; none: features only. */
export const privacyModeValidator = literals("full", "thumbnail", "none");
export type PrivacyMode = Infer<typeof privacyModeValidator>;
export const PRIVACY_MODES: readonly PrivacyMode[] = ["full", "thumbnail", "none"];

/** open: anyone may create an account (it has no role until an admin gives one); invite: only invited emails and ADMIN_EMAILS. */
export const signUpModeValidator = literals("open", "invite");
export type SignUpMode = Infer<typeof signUpModeValidator>;

/**
 * floors: the accuracy may drop by at most maxAccuracyDrop; noSignificantRegression:
 * the candidate must be shown non-inferior (Tango's score test, margin
 * nonInferiorityMargin, one-sided α 0.05) instead. Per-class recall rules apply in both.
 */
export const gateRuleValidator = literals("floors", "noSignificantRegression");
export type GateRule = Infer<typeof gateRuleValidator>;

export const promotionThresholdsValidator = v.object({
  rule: gateRuleValidator,
  /** δ for noSignificantRegression: the largest accuracy loss that still counts as none (absolute, 0..1). */
  nonInferiorityMargin: v.number(),
  /** Largest allowed drop in accuracy versus the baseline (absolute, 0..1), under the floors rule. */
  maxAccuracyDrop: v.number(),
  /** Every class with support must keep at least this recall (0..1), unless the baseline is below it too. */
  minPerClassRecall: v.number(),
  /** Largest allowed per-class recall drop versus the baseline (absolute, 0..1). */
  maxPerClassRecallDrop: v.number(),
});
export type PromotionThresholds = Infer<typeof promotionThresholdsValidator>;

export const settingsValidator = v.object({
  privacyMode: privacyModeValidator,
  /** The CLIP model clients extract features with; versions must match it to be activated. */
  clipModelId: v.string(),
  featureDim: v.number(),
  promotion: promotionThresholdsValidator,
  signUp: signUpModeValidator,
});
export type DeploymentSettings = Infer<typeof settingsValidator>;

/** The settings document as stored: fields added after a deployment first saved settings may be missing. */
export const storedSettingsValidator = v.object({
  ...settingsValidator.fields,
  signUp: v.optional(signUpModeValidator),
  promotion: v.object({
    ...promotionThresholdsValidator.fields,
    rule: v.optional(gateRuleValidator),
    nonInferiorityMargin: v.optional(v.number()),
  }),
});

/** What an admin may change in one call: any field, promotion thresholds one by one. */
export const settingsPatchValidator = v.object({
  privacyMode: v.optional(privacyModeValidator),
  clipModelId: v.optional(v.string()),
  featureDim: v.optional(v.number()),
  promotion: v.optional(
    v.object({
      rule: v.optional(gateRuleValidator),
      nonInferiorityMargin: v.optional(v.number()),
      maxAccuracyDrop: v.optional(v.number()),
      minPerClassRecall: v.optional(v.number()),
      maxPerClassRecallDrop: v.optional(v.number()),
    }),
  ),
  signUp: v.optional(signUpModeValidator),
});
export type SettingsPatch = Infer<typeof settingsPatchValidator>;

export const pictureStatusValidator = literals("uploaded", "classifying", "classified", "failed");
export type PictureStatus = Infer<typeof pictureStatusValidator>;

export const labelVerdictValidator = literals("accepted", "corrected");
export type LabelVerdict = Infer<typeof labelVerdictValidator>;

export const inputSpecValidator = v.object({
  dim: v.number(),
  clipModel: v.string(),
  normalize: literals("none", "l2"),
});

export const outputActivationValidator = literals("sigmoid-normalized", "softmax", "sigmoid");

export const manifestSummaryValidator = v.object({
  name: v.string(),
  classes: v.array(v.string()),
  input: inputSpecValidator,
  outputActivation: outputActivationValidator,
  layerShapes: v.array(v.object({ inDim: v.number(), outDim: v.number(), activation: literals("relu", "none") })),
  parameterCount: v.number(),
});
export type ManifestSummaryDoc = Infer<typeof manifestSummaryValidator>;

/** Headline quality of a version on the labelled set, as stored at a point in time. */
export const headlineMetricsValidator = v.object({
  accuracy: v.union(v.number(), v.null()),
  macroF1: v.union(v.number(), v.null()),
  ece: v.union(v.number(), v.null()),
  /** Items the figures were computed on (the version knows their labels). */
  itemCount: v.number(),
  /** Items of the set left out because their label is not one of the version's classes. */
  excludedItemCount: v.optional(v.number()),
  computedAt: v.number(),
});
export type HeadlineMetrics = Infer<typeof headlineMetricsValidator>;

export const versionStatusValidator = literals("ready", "archived");
/** How a function names a version to a client: id, number and name, never the weights. */
export const versionRefValidator = v.object({ versionId: v.id("modelVersions"), number: v.number(), name: v.string() });
export type VersionRef = Infer<typeof versionRefValidator>;

export const auditActionValidator = literals(
  "importVersion",
  "activateVersion",
  "rollback",
  "archiveVersion",
  "gateOverride",
  "setRole",
  "invite",
  "revokeInvitation",
  "updateSettings",
  "importLabelledSet",
  "removeLabelledImport",
  "removeLabelledItem",
  "startReplay",
  "setLabel",
  "removeLabel",
  "findSuspects",
  "fixSuspectLabel",
  "keepSuspectLabel",
);
export type AuditAction = Infer<typeof auditActionValidator>;

/** What the UI gets back from a classification: top-k, rounded (see docs/security.md). */
export const classScoreValidator = v.object({ label: v.string(), probability: v.number() });
export const classificationResultValidator = v.object({
  label: v.string(),
  confidence: v.number(),
  top: v.array(classScoreValidator),
  versionId: v.id("modelVersions"),
  versionNumber: v.number(),
  versionName: v.string(),
});
export type ClassificationResult = Infer<typeof classificationResultValidator>;

export const replayFilterValidator = v.object({
  from: v.optional(v.number()),
  to: v.optional(v.number()),
  sourceVersionId: v.optional(v.id("modelVersions")),
});
export type ReplayFilter = Infer<typeof replayFilterValidator>;

/** What a classification records of its outcome; the table adds the day it was counted under and whether it is current. */
export const classificationOutcomeFields = {
  pictureId: v.id("pictures"),
  versionId: v.id("modelVersions"),
  versionNumber: v.number(),
  probabilities: v.array(v.float64()),
  labelIndex: v.number(),
  label: v.string(),
  confidence: v.number(),
  featuresId: v.id("features"),
};

/** Where a labelled-set item came from: a labelled picture, or an imported file of features. */
export const labelledSourceValidator = literals("picture", "import");
export type LabelledSource = Infer<typeof labelledSourceValidator>;

/** kfold: out-of-sample probabilities of a small head trained k-fold on the set; versions: registered versions' averaged outputs (no training, in-sample). */
export const suspectMethodValidator = literals("kfold", "versions");
export type SuspectMethod = Infer<typeof suspectMethodValidator>;

export const replayStatusValidator = literals("running", "done", "failed");

/** Table fields of `pictures`; pictures.list returns most of them, so the summary is built from these. */
export const pictureFields = {
  uploaderId: v.id("users"),
  fileName: v.string(),
  contentType: v.string(),
  width: v.optional(v.number()),
  height: v.optional(v.number()),
  /** Which image was kept, per the privacy setting at upload time. */
  storageMode: privacyModeValidator,
  storageId: v.optional(v.id("_storage")),
  status: pictureStatusValidator,
  /** Why the picture is `failed`: set only while it has no counted result. */
  error: v.optional(v.string()),
  /** The latest failed attempt of a picture that keeps its earlier result (it stays `classified`); cleared by the next success. */
  lastError: v.optional(v.string()),
  lastErrorAt: v.optional(v.number()),
  /**
   * When the current status began (recording for `uploaded`, the attempt for
   * `classifying`): the cron releases pictures stuck in either, so none stays
   * waiting forever after a closed tab or a lost action.
   */
  statusSince: v.optional(v.number()),
  attempts: v.number(),
  /** The picture's latest CLIP features (in `features`), kept so a failed classification can be retried. */
  featuresId: v.optional(v.id("features")),
  latestClassificationId: v.optional(v.id("classifications")),
  /** Denormalised from the latest classification for lists and filters. */
  label: v.optional(v.string()),
  confidence: v.optional(v.number()),
  versionId: v.optional(v.id("modelVersions")),
  labelled: v.boolean(),
  /** The human label, denormalised from `labels` for lists. */
  confirmedLabel: v.optional(v.string()),
  /** confirmedLabel when labelled, else the predicted label: what the class filter matches. */
  classLabel: v.optional(v.string()),
  /** Set on removal; live pictures have no such field, so indexes starting with it hold live pictures in one range. */
  deleted: v.optional(v.boolean()),
};

export const pictureSummaryValidator = v.object({
  _id: v.id("pictures"),
  _creationTime: v.number(),
  uploaderId: pictureFields.uploaderId,
  fileName: pictureFields.fileName,
  contentType: pictureFields.contentType,
  width: pictureFields.width,
  height: pictureFields.height,
  storageMode: pictureFields.storageMode,
  imageUrl: v.union(v.string(), v.null()),
  status: pictureFields.status,
  error: pictureFields.error,
  lastError: pictureFields.lastError,
  lastErrorAt: pictureFields.lastErrorAt,
  attempts: pictureFields.attempts,
  /** Whether the server holds features to retry with; without them, retry means extracting again from the image. */
  hasFeatures: v.boolean(),
  label: pictureFields.label,
  confidence: pictureFields.confidence,
  versionId: pictureFields.versionId,
  labelled: pictureFields.labelled,
  confirmedLabel: pictureFields.confirmedLabel,
});
export type PictureSummary = Infer<typeof pictureSummaryValidator>;
