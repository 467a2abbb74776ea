import { defineSchema, defineTable } from "convex/server";
import { v } from "convex/values";
import { authTables } from "@convex-dev/auth/server";
import { rateLimitTables } from "convex-helpers/server/rateLimit";
import {
  auditActionValidator,
  classificationOutcomeFields,
  headlineMetricsValidator,
  labelledSourceValidator,
  labelVerdictValidator,
  manifestSummaryValidator,
  pictureFields,
  replayFilterValidator,
  replayStatusValidator,
  roleValidator,
  storedSettingsValidator,
  suspectMethodValidator,
  versionStatusValidator,
} from "./lib/shapes";

/*
 * The tables. Shared shapes come from lib/shapes.ts (see there why not from
 * this file). Every index a list or filter uses is named for what it serves;
 * indexes whose first field is `deleted` hold live pictures (no such field)
 * in one range, so removed pictures cost a list nothing.
 */
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
    /** Absent until an admin assigns one (or ADMIN_EMAILS / an invitation gives one at sign-up). */
    role: v.optional(roleValidator),
  })
    .index("email", ["email"])
    .index("phone", ["phone"])
    .index("by_role", ["role"]),

  /** An admin's invitation: the email may sign up (even when sign-up is invite-only) and gets the role. */
  invitations: defineTable({
    /** Lower-cased. */
    email: v.string(),
    role: roleValidator,
    invitedBy: v.id("users"),
  }).index("by_email", ["email"]),

  pictures: defineTable(pictureFields)
    .index("by_live", ["deleted"])
    .index("by_live_class", ["deleted", "classLabel"])
    .index("by_live_version", ["deleted", "versionId"])
    .index("by_live_labelled", ["deleted", "labelled"])
    .index("by_review_queue", ["deleted", "labelled", "status", "confidence"])
    .index("by_status_since", ["status", "statusSince"])
    .index("by_storage", ["storageId"]),

  /** CLIP feature vectors, stored once as little-endian float32 bytes; pictures, classifications and labelled items point here. */
  features: defineTable({
    vector: v.bytes(),
    dim: v.number(),
    /** The picture it was extracted from; absent for imported labelled items. */
    pictureId: v.optional(v.id("pictures")),
  }).index("by_picture", ["pictureId"]),

  classifications: defineTable({
    ...classificationOutcomeFields,
    /** UTC day (YYYY-MM-DD) the classification was counted under. */
    day: v.string(),
    /** True while this is the latest classification of a live picture: what the analytics count and replays re-score. */
    current: v.boolean(),
  })
    .index("by_picture", ["pictureId"])
    .index("by_current", ["current"])
    .index("by_current_version", ["current", "versionId"]),

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
    verdict: labelVerdictValidator,
    classificationId: v.optional(v.id("classifications")),
    /** The version whose prediction was confirmed or corrected: the analytics version filter applies to it. */
    versionId: v.optional(v.id("modelVersions")),
  })
    .index("by_picture", ["pictureId"])
    .index("by_version", ["versionId"]),

  modelVersions: defineTable({
    number: v.number(),
    name: v.string(),
    notes: v.string(),
    sha256: v.string(),
    /** The immutable binary weights file as imported. Never returned by a public function. */
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

  /**
   * The same weights bytes in documents under 1 MiB, read by the actions
   * through one internal query: repeat reads are cached query results, not
   * file egress on every classification (docs/performance.md, cost at scale).
   */
  weightsChunks: defineTable({
    versionId: v.id("modelVersions"),
    index: v.number(),
    bytes: v.bytes(),
  }).index("by_version_index", ["versionId", "index"]),

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

  /** A single document: the pending recomputation of headline metrics after the labelled set changed (at most one at a time). */
  metricsRefresh: defineTable({
    jobId: v.id("_scheduled_functions"),
  }),

  /** A single document; absent fields take the defaults in lib/settings.ts. */
  settings: defineTable(storedSettingsValidator),

  /**
   * Analytics counters, written in the same mutation as each classification.
   * Per day and per month (so a year-long chart reads months, not days), and
   * per version and for all versions together (versionId absent: one row
   * where a chart over every version would otherwise read one per version).
   */
  analyticsCounts: defineTable({
    period: v.union(v.literal("day"), v.literal("month")),
    /** "2026-12-02" for a day, "2026-12" for a month. */
    bucket: v.string(),
    versionId: v.optional(v.id("modelVersions")),
    /** "class" counts predicted labels; "confidence" counts top-confidence histogram bins. */
    kind: v.union(v.literal("class"), v.literal("confidence")),
    key: v.string(),
    count: v.number(),
  })
    .index("by_scope", ["period", "versionId", "kind", "bucket", "key"])
    .index("by_period_kind_bucket", ["period", "kind", "bucket"]),

  labelledItems: defineTable({
    source: labelledSourceValidator,
    pictureId: v.optional(v.id("pictures")),
    importId: v.optional(v.id("labelledImports")),
    featuresId: v.id("features"),
    label: v.string(),
    /** sha256 of the label and the float32 features, so importing the same item twice is refused. */
    contentKey: v.optional(v.string()),
  })
    .index("by_picture", ["pictureId"])
    .index("by_import", ["importId"])
    .index("by_content", ["contentKey"]),

  labelledImports: defineTable({
    name: v.string(),
    importedBy: v.id("users"),
    itemCount: v.number(),
  }).index("by_name", ["name"]),

  /**
   * Item counts per (import or pictures) × label, kept with every write so the
   * summary and the set-size cap never scan the items.
   */
  labelledCounts: defineTable({
    source: labelledSourceValidator,
    importId: v.optional(v.id("labelledImports")),
    label: v.string(),
    count: v.number(),
  }).index("by_import_label", ["importId", "label"]),

  /** A search for likely mislabelled items in the labelled set (suspects.ts). */
  suspectRuns: defineTable({
    method: suspectMethodValidator,
    status: replayStatusValidator,
    /** The classes the probabilities are over: the set's labels (k-fold) or the versions' shared classes. */
    classes: v.array(v.string()),
    folds: v.number(),
    foldsDone: v.number(),
    /** For method "versions": the versions whose outputs are averaged. */
    versionIds: v.array(v.id("modelVersions")),
    itemCount: v.number(),
    flaggedCount: v.optional(v.number()),
    error: v.optional(v.string()),
    startedBy: v.id("users"),
    jobId: v.optional(v.id("_scheduled_functions")),
    updatedAt: v.number(),
  }).index("by_status", ["status"]),

  /** One fold's out-of-sample probabilities, as float32 bytes in item order (itemIds). */
  suspectFolds: defineTable({
    runId: v.id("suspectRuns"),
    fold: v.number(),
    itemIds: v.array(v.id("labelledItems")),
    probabilities: v.bytes(),
  }).index("by_run", ["runId"]),

  /** A flagged item: open until a labeller keeps its label or fixes it. */
  suspects: defineTable({
    runId: v.id("suspectRuns"),
    itemId: v.id("labelledItems"),
    pictureId: v.optional(v.id("pictures")),
    givenLabel: v.string(),
    suspectedLabel: v.string(),
    score: v.number(),
    status: v.union(v.literal("open"), v.literal("kept"), v.literal("fixed")),
    resolvedBy: v.optional(v.id("users")),
  })
    .index("by_run_status_score", ["runId", "status", "score"])
    .index("by_item", ["itemId"]),

  replays: defineTable({
    versionId: v.id("modelVersions"),
    filter: replayFilterValidator,
    status: replayStatusValidator,
    processed: v.number(),
    total: v.number(),
    /** Pagination cursor of the next chunk; a stopped replay resumes from here. */
    cursor: v.union(v.string(), v.null()),
    error: v.optional(v.string()),
    startedBy: v.id("users"),
    /** The scheduled chunk that carries the replay on; the cron checks it to find replays whose chain broke. */
    jobId: v.optional(v.id("_scheduled_functions")),
    updatedAt: v.optional(v.number()),
  }).index("by_status", ["status"]),
});
