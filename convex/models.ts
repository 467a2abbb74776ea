/**
 * Model versions: immutable weights files in Convex storage, the deployment
 * pointer (active version + rollback stack), and the evidence admins decide
 * with (headline metrics, comparisons, the promotion gate).
 *
 * Weight bytes are read only inside actions here, and no public function
 * returns a weights storage id, a storage URL or weight bytes.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalAction, internalMutation, internalQuery, type ActionCtx, type MutationCtx, type QueryCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminAction, adminMutation, adminQuery, memberQuery } from "./functions";
import { writeAudit } from "./audit";
import { loadSettings } from "./settings";
import { LABELLED_PAGE_SIZE } from "./labelledSet";
import {
  auditActionValidator,
  headlineMetricsValidator,
  manifestSummaryValidator,
  promotionThresholdsValidator,
  versionStatusValidator,
  versionRefValidator,
  type HeadlineMetrics,
  type VersionRef,
} from "./schema";
import { decodeRegisteredWeights, decodeWeights, sha256Hex, WeightsDecodeError } from "./lib/weightsBinary";
import { summarizeModel } from "./lib/mlpModel";
import { mlpForwardBatch } from "./lib/mlpForward";
import type { MlpModel } from "./lib/weightsFormat";
import {
  checkDecodedModel,
  checkText,
  describeInputMismatch,
  hexToBase64,
  REASON_MAX_LENGTH,
  VERSION_NAME_MAX_LENGTH,
  VERSION_NOTES_MAX_LENGTH,
} from "./lib/versionChecks";
import { compareOnLabelledSet, evaluateVersionOnSet, headlineMetrics, type ModelOutput } from "./lib/labelledEvaluation";
import type { DeploymentSettings } from "./lib/settings";

/** The real MLP is ~0.7 MB; anything far bigger is a mistake and would strain the action's 64 MiB. */
export const MAX_WEIGHTS_BYTES = 32 * 1024 * 1024;
/** Rollback history kept on the deployment document (bounded: it is one document). */
export const MAX_ROLLBACK_HISTORY = 100;
export const DISAGREEMENT_LIMIT = 100;
const MAX_LISTED_VERSIONS = 500;

function versionLabel(version: Pick<Doc<"modelVersions">, "number" | "name">): string {
  return `version ${version.number} '${version.name}'`;
}

/** "512→256→128→12" */
function describeShapes(layerShapes: ReadonlyArray<{ inDim: number; outDim: number }>): string {
  return [layerShapes[0]?.inDim, ...layerShapes.map((shape) => shape.outDim)].join("→");
}

function checkReason(field: string, value: string, required: boolean): string {
  const trimmed = value.trim();
  const problems = checkText(field, trimmed, REASON_MAX_LENGTH, required);
  if (problems.length > 0) throw new ConvexError(`${problems[0]}.`);
  return trimmed;
}

async function loadDeployment(ctx: QueryCtx): Promise<Doc<"deployment"> | null> {
  return ctx.db.query("deployment").first();
}

// ---------------------------------------------------------------- public shapes


const publicVersionValidator = v.object({
  _id: v.id("modelVersions"),
  number: v.number(),
  name: v.string(),
  notes: v.string(),
  sha256: v.string(),
  byteLength: v.number(),
  summary: manifestSummaryValidator,
  status: versionStatusValidator,
  createdByEmail: v.union(v.string(), v.null()),
  createdAt: v.number(),
  metrics: v.union(headlineMetricsValidator, v.null()),
  isActive: v.boolean(),
  /** The version `rollback` would return to. */
  isRollbackTarget: v.boolean(),
});

async function toPublicVersions(ctx: QueryCtx, versions: Doc<"modelVersions">[]): Promise<Infer<typeof publicVersionValidator>[]> {
  const deployment = await loadDeployment(ctx);
  const rollbackTarget = deployment?.previousVersionIds.at(-1) ?? null;
  const emails = new Map<Id<"users">, string | null>();
  for (const version of versions) {
    if (!emails.has(version.createdBy)) emails.set(version.createdBy, (await ctx.db.get(version.createdBy))?.email ?? null);
  }
  return versions.map((version) => ({
    _id: version._id,
    number: version.number,
    name: version.name,
    notes: version.notes,
    sha256: version.sha256,
    byteLength: version.byteLength,
    summary: version.summary,
    status: version.status,
    createdByEmail: emails.get(version.createdBy) ?? null,
    createdAt: version._creationTime,
    metrics: version.metrics ?? null,
    isActive: deployment?.activeVersionId === version._id,
    isRollbackTarget: rollbackTarget === version._id,
  }));
}

// ---------------------------------------------------------------- upload and registration

/** The URL accepts one upload (write-only); it cannot be used to read any file. */
export const generateUploadUrl = adminMutation({
  args: {},
  returns: v.string(),
  handler: async (ctx) => ctx.storage.generateUploadUrl(),
});

export const registerVersion = adminAction({
  args: { storageId: v.id("_storage"), name: v.string(), notes: v.string() },
  returns: versionRefValidator,
  handler: async (ctx, args): Promise<VersionRef> => {
    try {
      return await registerUpload(ctx, args, ctx.caller.userId);
    } catch (error) {
      await discardUpload(ctx, args.storageId);
      throw error;
    }
  },
});

async function registerUpload(
  ctx: ActionCtx,
  args: { storageId: Id<"_storage">; name: string; notes: string },
  createdBy: Id<"users">,
): Promise<VersionRef> {
  const name = args.name.trim();
  const notes = args.notes.trim();
  const textProblems = [
    ...checkText("name", name, VERSION_NAME_MAX_LENGTH, true),
    ...checkText("notes", notes, VERSION_NOTES_MAX_LENGTH, false),
  ];
  if (textProblems.length > 0) throw new ConvexError(`Version not registered: ${textProblems.join("; ")}.`);

  const blob = await ctx.storage.get(args.storageId);
  if (blob === null) throw new ConvexError("Version not registered: the uploaded file is gone from storage. Upload the weights again.");
  if (blob.size > MAX_WEIGHTS_BYTES) {
    throw new ConvexError(`Version not registered: the file is ${blob.size} bytes; the limit is ${MAX_WEIGHTS_BYTES} bytes.`);
  }
  const bytes = new Uint8Array(await blob.arrayBuffer());
  const sha256 = await sha256Hex(bytes);
  const duplicate: VersionRef | null = await ctx.runQuery(internal.models.versionBySha256, { sha256 });
  if (duplicate !== null) throw duplicateError(duplicate);

  let model: MlpModel;
  try {
    model = decodeWeights(bytes);
  } catch (error) {
    if (error instanceof WeightsDecodeError) {
      throw new ConvexError(`Version not registered: the uploaded file is not valid MLP weights: ${error.message}. Convert the weights with the import dialog or \`mlp\` CLI and upload the .mlpw binary.`);
    }
    throw error;
  }
  const modelProblems = checkDecodedModel(model);
  if (modelProblems.length > 0) throw new ConvexError(`Version not registered: ${modelProblems.join("; ")}.`);

  return ctx.runMutation(internal.models.insertVersion, {
    storageId: args.storageId,
    sha256,
    byteLength: bytes.byteLength,
    name,
    notes,
    summary: summarizeModel(model),
    createdBy,
  });
}

function duplicateError(existing: VersionRef): ConvexError<string> {
  return new ConvexError(`Version not registered: these weights are identical to ${versionLabel(existing)} (same sha256).`);
}

/**
 * A rejected upload is deleted so nothing is stored on failure, unless the
 * id belongs to something else (an existing version, or a labeller's picture
 * passed by mistake): those files must never be lost.
 */
async function discardUpload(ctx: ActionCtx, storageId: Id<"_storage">) {
  const owner: string | null = await ctx.runQuery(internal.models.storageOwner, { storageId });
  if (owner !== null) return;
  try {
    await ctx.storage.delete(storageId);
  } catch {
    // Already gone (e.g. the "file is gone" rejection): nothing left to clean.
  }
}

export const storageOwner = internalQuery({
  args: { storageId: v.id("_storage") },
  returns: v.union(v.literal("version"), v.literal("picture"), v.null()),
  handler: async (ctx, { storageId }) => {
    const version = await ctx.db.query("modelVersions").withIndex("by_storage", (q) => q.eq("storageId", storageId)).first();
    if (version !== null) return "version" as const;
    const picture = await ctx.db.query("pictures").withIndex("by_storage", (q) => q.eq("storageId", storageId)).first();
    return picture !== null ? ("picture" as const) : null;
  },
});

export const versionBySha256 = internalQuery({
  args: { sha256: v.string() },
  returns: v.union(versionRefValidator, v.null()),
  handler: async (ctx, { sha256 }) => {
    const version = await ctx.db.query("modelVersions").withIndex("by_sha256", (q) => q.eq("sha256", sha256)).first();
    return version === null ? null : { versionId: version._id, number: version.number, name: version.name };
  },
});

export const insertVersion = internalMutation({
  args: {
    storageId: v.id("_storage"),
    sha256: v.string(),
    byteLength: v.number(),
    name: v.string(),
    notes: v.string(),
    summary: manifestSummaryValidator,
    createdBy: v.id("users"),
  },
  returns: versionRefValidator,
  handler: async (ctx, args) => {
    // Re-checked here: two concurrent registrations of the same bytes both pass the action's early check.
    const duplicate = await ctx.db.query("modelVersions").withIndex("by_sha256", (q) => q.eq("sha256", args.sha256)).first();
    if (duplicate !== null) throw duplicateError({ versionId: duplicate._id, number: duplicate.number, name: duplicate.name });
    const stored = await ctx.db.system.get(args.storageId);
    if (stored === null) throw new ConvexError("Version not registered: the uploaded file is gone from storage. Upload the weights again.");
    if (stored.sha256 && stored.sha256 !== hexToBase64(args.sha256)) {
      throw new ConvexError("Version not registered: the stored file's checksum differs from the bytes that were validated. Upload the weights again.");
    }
    const last = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").first();
    const number = (last?.number ?? 0) + 1;
    const versionId = await ctx.db.insert("modelVersions", { ...args, number, status: "ready" });
    await writeAudit(ctx, {
      actorId: args.createdBy,
      action: "importVersion",
      toVersionId: versionId,
      details: `${versionLabel({ number, name: args.name })}: ${describeShapes(args.summary.layerShapes)}, ${args.summary.classes.length} classes, sha256 ${args.sha256.slice(0, 12)}`,
    });
    await ctx.scheduler.runAfter(0, internal.models.computeMetrics, { versionId });
    return { versionId, number, name: args.name };
  },
});

// ---------------------------------------------------------------- reading versions

export const listVersions = adminQuery({
  args: {},
  returns: v.array(publicVersionValidator),
  handler: async (ctx) => {
    const versions = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").take(MAX_LISTED_VERSIONS);
    return toPublicVersions(ctx, versions);
  },
});

export const getVersion = adminQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.union(publicVersionValidator, v.null()),
  handler: async (ctx, { versionId }) => {
    const version = await ctx.db.get(versionId);
    return version === null ? null : (await toPublicVersions(ctx, [version]))[0];
  },
});

const versionChoiceValidator = v.object({
  _id: v.id("modelVersions"),
  number: v.number(),
  name: v.string(),
  status: versionStatusValidator,
  isActive: v.boolean(),
});

/**
 * Versions to pick from in filters, for every role: classifications name their
 * version, so labellers and analysts filter by it too. Only what a picker shows;
 * hashes, files, notes and metrics stay with the admin-only `listVersions`.
 */
export const versionChoices = memberQuery({
  args: {},
  returns: v.array(versionChoiceValidator),
  handler: async (ctx) => {
    const versions = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").take(MAX_LISTED_VERSIONS);
    const activeVersionId = (await loadDeployment(ctx))?.activeVersionId ?? null;
    return versions.map((version) => ({
      _id: version._id,
      number: version.number,
      name: version.name,
      status: version.status,
      isActive: version._id === activeVersionId,
    }));
  },
});

/** What server-side code needs to load and run a version. Internal only: it carries the storage id. */
const runnableVersionValidator = v.object({
  _id: v.id("modelVersions"),
  number: v.number(),
  name: v.string(),
  status: versionStatusValidator,
  /** Hex, as computed at registration; checked against the stored bytes on every load. */
  sha256: v.string(),
  storageId: v.id("_storage"),
  summary: manifestSummaryValidator,
});
export type RunnableVersion = Infer<typeof runnableVersionValidator>;

function toRunnable(version: Doc<"modelVersions">): RunnableVersion {
  return {
    _id: version._id,
    number: version.number,
    name: version.name,
    status: version.status,
    sha256: version.sha256,
    storageId: version.storageId,
    summary: version.summary,
  };
}

/** For classification: the active version, or null when none is active. */
export const activeVersion = internalQuery({
  args: {},
  returns: v.union(runnableVersionValidator, v.null()),
  handler: async (ctx) => {
    const deployment = await loadDeployment(ctx);
    const version = deployment?.activeVersionId ? await ctx.db.get(deployment.activeVersionId) : null;
    return version === null ? null : toRunnable(version);
  },
});

/** For replays: any version (archived ones too, for looking back), or null. */
export const versionForReplay = internalQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.union(runnableVersionValidator, v.null()),
  handler: async (ctx, { versionId }) => {
    const version = await ctx.db.get(versionId);
    return version === null ? null : toRunnable(version);
  },
});

// ---------------------------------------------------------------- evaluation on the labelled set

/** Re-hashed against the registered sha256 like classification and replays: evaluation must measure the weights that were imported. */
async function loadModel(ctx: ActionCtx, version: RunnableVersion): Promise<MlpModel> {
  const blob = await ctx.storage.get(version.storageId);
  if (blob === null) throw new ConvexError(`The weights file of ${versionLabel(version)} is missing from storage.`);
  try {
    return await decodeRegisteredWeights(new Uint8Array(await blob.arrayBuffer()), version);
  } catch (error) {
    if (!(error instanceof WeightsDecodeError)) throw error;
    throw new ConvexError(`${error.message.charAt(0).toUpperCase()}${error.message.slice(1)}.`);
  }
}

function errorText(error: unknown): string {
  if (error instanceof ConvexError && typeof error.data === "string") return error.data;
  return error instanceof Error ? error.message : String(error);
}

interface SetPredictions {
  labels: string[];
  pictureIds: (Id<"pictures"> | null)[];
  /** outputs[m][i]: model m's output for item i. */
  outputs: ModelOutput[][];
  /** Items whose feature count differs from the models' input (the featureDim setting changed since). */
  skippedItemCount: number;
}

/**
 * Streams the labelled set page by page through every model, keeping only
 * predictions: the features of the whole set would not fit in an action.
 * The pages are separate reads, so a set edited meanwhile may be seen partly.
 */
async function predictLabelledSet(ctx: ActionCtx, models: MlpModel[]): Promise<SetPredictions> {
  const dim = models[0].layers[0].inDim;
  const result: SetPredictions = { labels: [], pictureIds: [], outputs: models.map(() => []), skippedItemCount: 0 };
  let cursor: string | null = null;
  for (;;) {
    const page: { page: { features: number[]; label: string; pictureId: Id<"pictures"> | null }[]; isDone: boolean; continueCursor: string } =
      await ctx.runQuery(internal.labelledSet.page, { paginationOpts: { numItems: LABELLED_PAGE_SIZE, cursor } });
    const usable = page.page.filter((item) => item.features.length === dim);
    result.skippedItemCount += page.page.length - usable.length;
    const features = new Float64Array(usable.length * dim);
    usable.forEach((item, index) => features.set(item.features, index * dim));
    models.forEach((model, m) => {
      for (const prediction of mlpForwardBatch(model, features, usable.length)) result.outputs[m].push(prediction);
    });
    for (const item of usable) {
      result.labels.push(item.label);
      result.pictureIds.push(item.pictureId);
    }
    if (page.isDone) return result;
    cursor = page.continueCursor;
  }
}

function headlineFor(predictions: SetPredictions, modelIndex: number, classes: readonly string[]): HeadlineMetrics {
  const { report } = evaluateVersionOnSet(predictions.labels, predictions.outputs[modelIndex], classes);
  return { ...headlineMetrics(report), computedAt: Date.now() };
}

export const computeMetrics = internalAction({
  args: { versionId: v.id("modelVersions") },
  returns: v.null(),
  handler: async (ctx, { versionId }) => {
    const version: RunnableVersion | null = await ctx.runQuery(internal.models.versionForReplay, { versionId });
    if (version === null) return null;
    const predictions = await predictLabelledSet(ctx, [await loadModel(ctx, version)]);
    await ctx.runMutation(internal.models.storeMetrics, { versionId, metrics: headlineFor(predictions, 0, version.summary.classes) });
    return null;
  },
});

export const storeMetrics = internalMutation({
  args: { versionId: v.id("modelVersions"), metrics: headlineMetricsValidator },
  returns: v.null(),
  handler: async (ctx, { versionId, metrics }) => {
    if ((await ctx.db.get(versionId)) !== null) await ctx.db.patch(versionId, { metrics });
    return null;
  },
});

/** Recomputes every version's headline metrics, e.g. after the labelled set changed. */
export const refreshMetrics = adminMutation({
  args: {},
  returns: v.object({ scheduled: v.number() }),
  handler: async (ctx) => {
    const versions = await ctx.db.query("modelVersions").take(MAX_LISTED_VERSIONS);
    for (const version of versions) await ctx.scheduler.runAfter(0, internal.models.computeMetrics, { versionId: version._id });
    return { scheduled: versions.length };
  },
});

// ---------------------------------------------------------------- comparison

const nullableNumber = v.union(v.number(), v.null());
const classificationReportValidator = v.object({
  itemCount: v.number(),
  classCount: v.number(),
  correctCount: v.number(),
  accuracy: nullableNumber,
  macroF1: nullableNumber,
  perClass: v.array(
    v.object({
      classIndex: v.number(),
      precision: nullableNumber,
      recall: nullableNumber,
      f1: nullableNumber,
      support: v.number(),
      predictedCount: v.number(),
    }),
  ),
  confusion: v.array(v.array(v.number())),
  expectedCalibrationError: nullableNumber,
  reliability: v.array(
    v.object({ lower: v.number(), upper: v.number(), count: v.number(), meanConfidence: nullableNumber, accuracy: nullableNumber }),
  ),
});

const gateVerdictValidator = v.object({ allowed: v.boolean(), reasons: v.array(v.string()) });

export const comparisonValidator = v.object({
  candidate: versionRefValidator,
  baseline: versionRefValidator,
  /** Shared class list: report class indices, confusion rows/columns and per-class entries refer to it. */
  classes: v.array(v.string()),
  itemCount: v.number(),
  skippedItemCount: v.number(),
  candidateReport: classificationReportValidator,
  baselineReport: classificationReportValidator,
  accuracyDifference: nullableNumber,
  agreementRate: nullableNumber,
  disagreementCount: v.number(),
  disagreements: v.array(
    v.object({
      index: v.number(),
      pictureId: v.union(v.id("pictures"), v.null()),
      trueLabel: v.string(),
      baselineLabel: v.string(),
      candidateLabel: v.string(),
      baselineConfidence: v.number(),
      candidateConfidence: v.number(),
      margin: v.number(),
      correct: v.union(v.literal("baseline"), v.literal("candidate"), v.literal("neither")),
    }),
  ),
  mcnemar: v.object({ baselineOnlyCorrect: v.number(), candidateOnlyCorrect: v.number(), pValue: v.number() }),
  gate: v.object({ allowed: v.boolean(), reasons: v.array(v.string()), thresholds: promotionThresholdsValidator }),
});
type Comparison = Infer<typeof comparisonValidator>;

function checkComparable(candidate: RunnableVersion, baseline: RunnableVersion) {
  if (candidate.summary.input.dim !== baseline.summary.input.dim) {
    throw new ConvexError(
      `${versionLabel(candidate)} takes ${candidate.summary.input.dim} features but ${versionLabel(baseline)} takes ${baseline.summary.input.dim}: they cannot be compared on the same labelled set.`,
    );
  }
}

async function compareRunnable(ctx: ActionCtx, candidate: RunnableVersion, baseline: RunnableVersion, thresholds: DeploymentSettings["promotion"]): Promise<Comparison> {
  checkComparable(candidate, baseline);
  return compareLoaded(ctx, candidate, await loadModel(ctx, candidate), baseline, await loadModel(ctx, baseline), thresholds);
}

async function compareLoaded(
  ctx: ActionCtx,
  candidate: RunnableVersion,
  candidateModel: MlpModel,
  baseline: RunnableVersion,
  baselineModel: MlpModel,
  thresholds: DeploymentSettings["promotion"],
): Promise<Comparison> {
  const predictions = await predictLabelledSet(ctx, [baselineModel, candidateModel]);
  const comparison = compareOnLabelledSet({
    labels: predictions.labels,
    pictureIds: predictions.pictureIds,
    baselineClasses: baseline.summary.classes,
    baselineOutputs: predictions.outputs[0],
    candidateClasses: candidate.summary.classes,
    candidateOutputs: predictions.outputs[1],
    thresholds,
    disagreementLimit: DISAGREEMENT_LIMIT,
  });
  return {
    candidate: { versionId: candidate._id, number: candidate.number, name: candidate.name },
    baseline: { versionId: baseline._id, number: baseline.number, name: baseline.name },
    classes: comparison.classes,
    itemCount: comparison.itemCount,
    skippedItemCount: predictions.skippedItemCount,
    candidateReport: comparison.candidate,
    baselineReport: comparison.baseline,
    accuracyDifference: comparison.accuracyDifference,
    agreementRate: comparison.agreementRate,
    disagreementCount: comparison.disagreementCount,
    disagreements: comparison.disagreements,
    mcnemar: comparison.mcnemar,
    gate: { ...comparison.gate, thresholds },
  };
}

export const comparisonPlan = internalQuery({
  args: { candidateId: v.id("modelVersions"), baselineId: v.optional(v.id("modelVersions")) },
  returns: v.object({ candidate: runnableVersionValidator, baseline: runnableVersionValidator, thresholds: promotionThresholdsValidator }),
  handler: async (ctx, { candidateId, baselineId }) => {
    const candidate = await ctx.db.get(candidateId);
    if (candidate === null) throw new ConvexError(`No model version with id ${candidateId}.`);
    const resolvedBaselineId = baselineId ?? (await loadDeployment(ctx))?.activeVersionId;
    if (resolvedBaselineId === undefined) throw new ConvexError("No version is active to compare against: choose a baseline version.");
    const baseline = await ctx.db.get(resolvedBaselineId);
    if (baseline === null) throw new ConvexError(`No model version with id ${resolvedBaselineId}.`);
    return { candidate: toRunnable(candidate), baseline: toRunnable(baseline), thresholds: (await loadSettings(ctx)).promotion };
  },
});

/** Candidate versus baseline (default: the active version) on the labelled set. */
export const compareVersions = adminAction({
  args: { candidateId: v.id("modelVersions"), baselineId: v.optional(v.id("modelVersions")) },
  returns: comparisonValidator,
  handler: async (ctx, args): Promise<Comparison> => {
    const plan: { candidate: RunnableVersion; baseline: RunnableVersion; thresholds: DeploymentSettings["promotion"] } = await ctx.runQuery(
      internal.models.comparisonPlan,
      args,
    );
    return compareRunnable(ctx, plan.candidate, plan.baseline, plan.thresholds);
  },
});

// ---------------------------------------------------------------- activation, rollback, archive

/** Throws the reason a version may not become active now. */
async function checkActivatable(ctx: QueryCtx, version: Doc<"modelVersions"> | null, versionId: Id<"modelVersions">, activeId: Id<"modelVersions"> | null) {
  if (version === null) throw new ConvexError(`No model version with id ${versionId}.`);
  if (version.status === "archived") throw new ConvexError(`${versionLabel(version)} is archived and cannot be activated.`);
  if (activeId === version._id) throw new ConvexError(`${versionLabel(version)} is already active.`);
  const mismatch = describeInputMismatch(versionLabel(version), version.summary.input, await loadSettings(ctx));
  if (mismatch !== null) throw new ConvexError(`Cannot activate: ${mismatch}`);
  return version;
}

export const activationPlan = internalQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.object({
    candidate: runnableVersionValidator,
    active: v.union(runnableVersionValidator, v.null()),
    thresholds: promotionThresholdsValidator,
  }),
  handler: async (ctx, { versionId }) => {
    const deployment = await loadDeployment(ctx);
    const activeId = deployment?.activeVersionId ?? null;
    const candidate = await checkActivatable(ctx, await ctx.db.get(versionId), versionId, activeId);
    const active = activeId === null ? null : await ctx.db.get(activeId);
    return {
      candidate: toRunnable(candidate),
      active: active === null ? null : toRunnable(active),
      thresholds: (await loadSettings(ctx)).promotion,
    };
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
export const activateVersion = adminAction({
  args: { versionId: v.id("modelVersions"), reason: v.string(), overrideReason: v.optional(v.string()) },
  returns: activationResultValidator,
  handler: async (ctx, args): Promise<ActivationResult> => {
    const reason = checkReason("reason", args.reason, true);
    const overrideReason = args.overrideReason === undefined ? undefined : checkReason("overrideReason", args.overrideReason, true);
    const plan: { candidate: RunnableVersion; active: RunnableVersion | null; thresholds: DeploymentSettings["promotion"] } = await ctx.runQuery(
      internal.models.activationPlan,
      { versionId: args.versionId },
    );
    const { candidate, active, thresholds } = plan;

    let metrics: HeadlineMetrics;
    let gate: ActivationResult["gate"] = null;
    let gateSkipped: string | null = null;
    const candidateModel = await loadModel(ctx, candidate);
    let activeModel: MlpModel | null = null;
    if (active !== null && active.summary.input.dim === candidate.summary.input.dim) {
      try {
        activeModel = await loadModel(ctx, active);
      } catch (error) {
        // A broken active version must not lock admins out of replacing it:
        // without a readable baseline the gate cannot run, and the audit says so.
        gateSkipped = `promotion gate skipped: ${errorText(error)}`;
      }
    }
    if (active === null || activeModel === null) {
      // No baseline the candidate can be measured against: record its own quality only.
      const predictions = await predictLabelledSet(ctx, [candidateModel]);
      metrics = headlineFor(predictions, 0, candidate.summary.classes);
    } else {
      const comparison = await compareLoaded(ctx, candidate, candidateModel, active, activeModel, thresholds);
      metrics = { ...headlineMetrics(comparison.candidateReport), computedAt: Date.now() };
      if (comparison.itemCount > 0) {
        gate = { allowed: comparison.gate.allowed, reasons: comparison.gate.reasons, overridden: false, itemCount: comparison.itemCount };
        if (!gate.allowed) {
          if (overrideReason === undefined) {
            throw new ConvexError(
              `Activation blocked by the promotion gate: ${versionLabel(candidate)} is worse than the active ${versionLabel(active)} on the labelled set (${comparison.itemCount} items): ${gate.reasons.join("; ")}. To activate anyway, give an override reason.`,
            );
          }
          gate.overridden = true;
        }
      }
    }

    await ctx.runMutation(internal.models.commitActivation, {
      versionId: candidate._id,
      expectedActiveVersionId: active?._id ?? null,
      actorId: ctx.caller.userId,
      reason,
      metrics,
      gateOverride: gate?.overridden && overrideReason !== undefined ? { reason: overrideReason, details: gate.reasons.join("; ") } : null,
      ...(gateSkipped === null ? {} : { details: gateSkipped }),
    });
    return { version: { versionId: candidate._id, number: candidate.number, name: candidate.name }, gate, gateSkipped };
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
    await checkActivatable(ctx, await ctx.db.get(args.versionId), args.versionId, activeId);
    const previousVersionIds = activeId === null ? deployment?.previousVersionIds ?? [] : [...(deployment?.previousVersionIds ?? []), activeId];
    await writeDeployment(ctx, deployment, args.versionId, previousVersionIds.slice(-MAX_ROLLBACK_HISTORY));
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

async function writeDeployment(ctx: MutationCtx, deployment: Doc<"deployment"> | null, activeVersionId: Id<"modelVersions">, previousVersionIds: Id<"modelVersions">[]) {
  const fields = { activeVersionId, previousVersionIds, updatedAt: Date.now() };
  if (deployment === null) await ctx.db.insert("deployment", fields);
  else await ctx.db.patch(deployment._id, fields);
}

/** Back to the version that was active before the current one. */
export const rollback = adminMutation({
  args: {
    reason: v.string(),
    /** The active version the admin saw; when given, a pointer moved by someone else refuses the rollback. */
    expectedActiveVersionId: v.optional(v.id("modelVersions")),
  },
  returns: v.object({ from: versionRefValidator, to: versionRefValidator }),
  handler: async (ctx, args) => {
    const reason = checkReason("reason", args.reason, true);
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
      throw new ConvexError(`Cannot roll back: the previous ${versionLabel(target)} is archived. Activate a ready version instead.`);
    }
    const mismatch = describeInputMismatch(versionLabel(target), target.summary.input, await loadSettings(ctx));
    if (mismatch !== null) throw new ConvexError(`Cannot roll back: ${mismatch}`);
    await writeDeployment(ctx, deployment, targetId, deployment.previousVersionIds.slice(0, -1));
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "rollback", fromVersionId: activeId, toVersionId: targetId, reason, metrics: target.metrics });
    return {
      from: { versionId: activeId, number: active?.number ?? 0, name: active?.name ?? "" },
      to: { versionId: target._id, number: target.number, name: target.name },
    };
  },
});

export const archiveVersion = adminMutation({
  args: { versionId: v.id("modelVersions"), reason: v.string() },
  returns: v.null(),
  handler: async (ctx, args) => {
    const reason = checkReason("reason", args.reason, true);
    const version = await ctx.db.get(args.versionId);
    if (version === null) throw new ConvexError(`No model version with id ${args.versionId}.`);
    if (version.status === "archived") throw new ConvexError(`${versionLabel(version)} is already archived.`);
    const deployment = await loadDeployment(ctx);
    if (deployment?.activeVersionId === version._id) {
      throw new ConvexError(`${versionLabel(version)} is active and cannot be archived: activate another version or roll back first.`);
    }
    await ctx.db.patch(version._id, { status: "archived" });
    await writeAudit(ctx, { actorId: ctx.caller.userId, action: "archiveVersion", toVersionId: version._id, reason, metrics: version.metrics });
    return null;
  },
});

// ---------------------------------------------------------------- timeline

const timelineActions = ["importVersion", "activateVersion", "rollback", "archiveVersion", "gateOverride"] as const;
const DEFAULT_TIMELINE_LIMIT = 200;
const MAX_TIMELINE_LIMIT = 1000;

export const timeline = adminQuery({
  args: { limit: v.optional(v.number()) },
  returns: v.array(
    v.object({
      _id: v.id("auditLog"),
      action: auditActionValidator,
      at: v.number(),
      actorEmail: v.union(v.string(), v.null()),
      from: v.union(versionRefValidator, v.null()),
      to: v.union(versionRefValidator, v.null()),
      reason: v.union(v.string(), v.null()),
      details: v.union(v.string(), v.null()),
      metrics: v.union(headlineMetricsValidator, v.null()),
    }),
  ),
  handler: async (ctx, args) => {
    const limit = Math.max(1, Math.min(Math.floor(args.limit ?? DEFAULT_TIMELINE_LIMIT), MAX_TIMELINE_LIMIT));
    const perAction = await Promise.all(
      timelineActions.map((action) => ctx.db.query("auditLog").withIndex("by_action", (q) => q.eq("action", action)).order("desc").take(limit)),
    );
    const entries = perAction
      .flat()
      .sort((a, b) => b.at - a.at || b._creationTime - a._creationTime)
      .slice(0, limit);
    const emails = new Map<Id<"users">, string | null>();
    const versions = new Map<Id<"modelVersions">, VersionRef | null>();
    const versionRef = async (versionId: Id<"modelVersions"> | undefined): Promise<VersionRef | null> => {
      if (versionId === undefined) return null;
      if (!versions.has(versionId)) {
        const version = await ctx.db.get(versionId);
        versions.set(versionId, version === null ? null : { versionId, number: version.number, name: version.name });
      }
      return versions.get(versionId) ?? null;
    };
    const result = [];
    for (const entry of entries) {
      if (!emails.has(entry.actorId)) emails.set(entry.actorId, (await ctx.db.get(entry.actorId))?.email ?? null);
      result.push({
        _id: entry._id,
        action: entry.action,
        at: entry.at,
        actorEmail: emails.get(entry.actorId) ?? null,
        from: await versionRef(entry.fromVersionId),
        to: await versionRef(entry.toVersionId),
        reason: entry.reason ?? null,
        details: entry.details ?? null,
        metrics: entry.metrics ?? null,
      });
    }
    return result;
  },
});
