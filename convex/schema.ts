import { defineSchema, defineTable } from "convex/server";
import { v, type Infer } from "convex/values";
import { authTables } from "@convex-dev/auth/server";
import { rateLimitTables } from "convex-helpers/server/rateLimit";

/*
 * Shared shapes: exported once as validator + Infer type pairs, used by the
 * tables below and by function `args`/`returns`.
 */

export const roleValidator = v.union(v.literal("admin"), v.literal("labeller"), v.literal("analyst"));
export type Role = Infer<typeof roleValidator>;
export const roles: Role[] = ["admin", "labeller", "analyst"];

/** full: the (downscaled) original image; thumbnail: a small preview only; none: features only. */
export const privacyModeValidator = v.union(v.literal("full"), v.literal("thumbnail"), v.literal("none"));
export type PrivacyMode = Infer<typeof privacyModeValidator>;

export const pictureStatusValidator = v.union(
  v.literal("uploaded"),
  v.literal("classifying"),
  v.literal("classified"),
  v.literal("failed"),
);
export type PictureStatus = Infer<typeof pictureStatusValidator>;

export const inputSpecValidator = v.object({
  dim: v.number(),
  clipModel: v.string(),
  normalize: v.union(v.literal("none"), v.literal("l2")),
});

export const outputActivationValidator = v.union(
  v.literal("sigmoid-normalized"),
  v.literal("softmax"),
  v.literal("sigmoid"),
);

export const manifestSummaryValidator = v.object({
  name: v.string(),
  classes: v.array(v.string()),
  input: inputSpecValidator,
  outputActivation: outputActivationValidator,
  layerShapes: v.array(
    v.object({ inDim: v.number(), outDim: v.number(), activation: v.union(v.literal("relu"), v.literal("none")) }),
  ),
  parameterCount: v.number(),
});
export type ManifestSummaryDoc = Infer<typeof manifestSummaryValidator>;

/** Headline quality of a version on the labelled set, as stored at a point in time. */
export const headlineMetricsValidator = v.object({
  accuracy: v.union(v.number(), v.null()),
  macroF1: v.union(v.number(), v.null()),
  ece: v.union(v.number(), v.null()),
  itemCount: v.number(),
  computedAt: v.number(),
});
export type HeadlineMetrics = Infer<typeof headlineMetricsValidator>;

export const versionStatusValidator = v.union(v.literal("ready"), v.literal("archived"));
/** How a function names a version to a client: id, number and name, never the weights. */
export const versionRefValidator = v.object({ versionId: v.id("modelVersions"), number: v.number(), name: v.string() });
export type VersionRef = Infer<typeof versionRefValidator>;

export const auditActionValidator = v.union(
  v.literal("importVersion"),
  v.literal("activateVersion"),
  v.literal("rollback"),
  v.literal("archiveVersion"),
  v.literal("gateOverride"),
  v.literal("setRole"),
  v.literal("updateSettings"),
  v.literal("importLabelledSet"),
  v.literal("removeLabelledImport"),
  v.literal("startReplay"),
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

/** What a classification stores, as the classifier hands it over; the table adds the day it was counted under. */
export const storedClassificationValidator = v.object({
  pictureId: v.id("pictures"),
  versionId: v.id("modelVersions"),
  versionNumber: v.number(),
  probabilities: v.array(v.float64()),
  labelIndex: v.number(),
  label: v.string(),
  confidence: v.number(),
  features: v.array(v.float64()),
});
export type StoredClassification = Infer<typeof storedClassificationValidator>;

export const promotionThresholdsValidator = v.object({
  /** Largest allowed drop in accuracy versus the active version (absolute, 0..1). */
  maxAccuracyDrop: v.number(),
  /** Every class with support must keep at least this recall (0..1). */
  minPerClassRecall: v.number(),
  /** Largest allowed per-class recall drop versus the active version (absolute, 0..1). */
  maxPerClassRecallDrop: v.number(),
});
export type PromotionThresholds = Infer<typeof promotionThresholdsValidator>;

export const replayFilterValidator = v.object({
  from: v.optional(v.number()),
  to: v.optional(v.number()),
  sourceVersionId: v.optional(v.id("modelVersions")),
});

export default defineSchema({
  ...authTables,
  ...rateLimitTables,

  users: defineTable({
    name: v.optional(v.string()),
    image: v.optional(v.string()),
    email: v.optional(v.string()),
    emailVerificationTime: v.optional(v.number()),
    phone: v.optional(v.string()),
    phoneVerificationTime: v.optional(v.number()),
    isAnonymous: v.optional(v.boolean()),
    /** Absent until an admin assigns one; the first user to sign up becomes admin. */
    role: v.optional(roleValidator),
  })
    .index("email", ["email"])
    .index("phone", ["phone"])
    .index("by_role", ["role"]),

  pictures: defineTable({
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
    /**
     * The latest failed attempt of a picture that keeps its earlier result
     * (it stays `classified`); cleared by the next successful classification.
     */
    lastError: v.optional(v.string()),
    lastErrorAt: v.optional(v.number()),
    /** When the running attempt began; lets the cron in crons.ts release pictures stuck `classifying`. */
    classifyingSince: v.optional(v.number()),
    attempts: v.number(),
    /** The last features the browser sent, kept so a failed classification can be retried. */
    features: v.optional(v.array(v.float64())),
    latestClassificationId: v.optional(v.id("classifications")),
    /** Denormalised from the latest classification for the review queue and history filters. */
    label: v.optional(v.string()),
    confidence: v.optional(v.number()),
    versionId: v.optional(v.id("modelVersions")),
    labelled: v.boolean(),
    /** The human label, denormalised from `labels` for lists. */
    confirmedLabel: v.optional(v.string()),
    deleted: v.optional(v.boolean()),
  })
    .index("by_uploader", ["uploaderId"])
    .index("by_status", ["status"])
    .index("by_status_since", ["status", "classifyingSince"])
    .index("by_labelled_confidence", ["labelled", "status", "confidence"])
    .index("by_review_queue", ["deleted", "labelled", "status", "confidence"])
    .index("by_label", ["label"])
    .index("by_version", ["versionId"])
    .index("by_storage", ["storageId"]),

  classifications: defineTable({
    ...storedClassificationValidator.fields,
    /** UTC day (YYYY-MM-DD) the classification was counted under. */
    day: v.string(),
  })
    .index("by_picture", ["pictureId"])
    .index("by_version", ["versionId"])
    .index("by_day", ["day"]),

  shadowClassifications: defineTable({
    replayId: v.id("replays"),
    pictureId: v.id("pictures"),
    versionId: v.id("modelVersions"),
    sourceClassificationId: v.id("classifications"),
    probabilities: v.array(v.float64()),
    labelIndex: v.number(),
    label: v.string(),
    confidence: v.number(),
  })
    .index("by_replay", ["replayId"])
    .index("by_replay_picture", ["replayId", "pictureId"]),

  labels: defineTable({
    pictureId: v.id("pictures"),
    labellerId: v.id("users"),
    label: v.string(),
    predictedLabel: v.optional(v.string()),
    verdict: v.union(v.literal("accepted"), v.literal("corrected")),
    classificationId: v.optional(v.id("classifications")),
  }).index("by_picture", ["pictureId"]),

  modelVersions: defineTable({
    number: v.number(),
    name: v.string(),
    notes: v.string(),
    sha256: v.string(),
    /** The binary weights file. Never returned by a public function. */
    storageId: v.id("_storage"),
    byteLength: v.number(),
    summary: manifestSummaryValidator,
    status: versionStatusValidator,
    createdBy: v.id("users"),
    metrics: v.optional(headlineMetricsValidator),
  })
    .index("by_number", ["number"])
    .index("by_sha256", ["sha256"])
    .index("by_storage", ["storageId"]),

  /** A single document: the active version and the stack of earlier ones for rollback. */
  deployment: defineTable({
    activeVersionId: v.optional(v.id("modelVersions")),
    previousVersionIds: v.array(v.id("modelVersions")),
    updatedAt: v.number(),
  }),

  auditLog: defineTable({
    actorId: v.id("users"),
    action: auditActionValidator,
    fromVersionId: v.optional(v.id("modelVersions")),
    toVersionId: v.optional(v.id("modelVersions")),
    reason: v.optional(v.string()),
    details: v.optional(v.string()),
    metrics: v.optional(headlineMetricsValidator),
    at: v.number(),
  }).index("by_action", ["action"]),

  /** A single document; absent fields take the defaults in convex/lib/settings.ts. */
  settings: defineTable({
    privacyMode: privacyModeValidator,
    /** The CLIP model clients extract features with; versions must match it to be activated. */
    clipModelId: v.string(),
    featureDim: v.number(),
    promotion: promotionThresholdsValidator,
  }),

  /** Per-day × version × key counters, written in the same mutation as each classification. */
  dailyCounts: defineTable({
    day: v.string(),
    versionId: v.id("modelVersions"),
    /** "class" counts predicted labels; "confidence" counts top-confidence histogram bins. */
    kind: v.union(v.literal("class"), v.literal("confidence")),
    key: v.string(),
    count: v.number(),
  })
    .index("by_day_version_kind_key", ["day", "versionId", "kind", "key"])
    .index("by_kind_day", ["kind", "day"])
    .index("by_version_kind_day", ["versionId", "kind", "day"]),

  labelledItems: defineTable({
    source: v.union(v.literal("picture"), v.literal("import")),
    pictureId: v.optional(v.id("pictures")),
    importId: v.optional(v.id("labelledImports")),
    features: v.array(v.float64()),
    label: v.string(),
  })
    .index("by_picture", ["pictureId"])
    .index("by_source", ["source"])
    .index("by_import", ["importId"]),

  labelledImports: defineTable({
    name: v.string(),
    importedBy: v.id("users"),
    itemCount: v.number(),
  }).index("by_name", ["name"]),

  /**
   * Item counts per (import or pictures) × label, kept with every write so the
   * summary and the set-size cap never scan the items (each holds 512 floats).
   */
  labelledCounts: defineTable({
    source: v.union(v.literal("picture"), v.literal("import")),
    importId: v.optional(v.id("labelledImports")),
    label: v.string(),
    count: v.number(),
  }).index("by_import_label", ["importId", "label"]),

  replays: defineTable({
    versionId: v.id("modelVersions"),
    filter: replayFilterValidator,
    status: v.union(v.literal("running"), v.literal("done"), v.literal("failed")),
    processed: v.number(),
    total: v.number(),
    /** Pagination cursor of the next chunk; a failed replay resumes from here. */
    cursor: v.union(v.string(), v.null()),
    error: v.optional(v.string()),
    startedBy: v.id("users"),
  }),
});
