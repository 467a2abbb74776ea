/**
 * Model versions: immutable weights files, registered after validation,
 * listed for admins and picked from by everyone, archived when done.
 * Activation and rollback live in deployment.ts; metrics and comparisons in
 * evaluation.ts.
 *
 * Weight bytes are read only inside actions, and no public function returns
 * a weights storage id, a storage URL or weight bytes.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalMutation, internalQuery, type ActionCtx } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { adminAction, adminMutation, adminQuery, memberQuery } from "./functions";
import { writeAudit } from "./model/audit";
import { loadDeployment, loadActiveVersion } from "./model/deployment";
import { loadSettings } from "./model/settings";
import { storageOwner } from "./model/storage";
import { emailReader, nextVersionNumber, requireReason, requireVersion, runnableVersionValidator, toRunnable, toVersionRef } from "./model/versions";
import { MAX_WEIGHTS_BYTES, readWeightsChunks, storeWeightsChunks } from "./model/weights";
import { headlineMetricsValidator, manifestSummaryValidator, versionRefValidator, versionStatusValidator, type VersionRef } from "./lib/shapes";
import { decodeWeights, sha256Hex, WeightsDecodeError } from "./lib/weightsBinary";
import { describeLayerShapes, summarizeModel } from "./lib/mlpModel";
import type { MlpModel } from "./lib/weightsFormat";
import { checkDecodedModel, checkText, describeInputMismatch, hexToBase64, VERSION_NAME_MAX_LENGTH, VERSION_NOTES_MAX_LENGTH } from "./lib/versionChecks";
import { versionLabel } from "./lib/versionLabel";

const MAX_LISTED_VERSIONS = 500;

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
  /** Why clients' features cannot feed this version (another CLIP model or feature count), or null when they can. */
  inputMismatch: v.union(v.string(), v.null()),
});
export type PublicVersion = Infer<typeof publicVersionValidator>;

async function toPublicVersions(ctx: Parameters<typeof loadDeployment>[0], versions: Doc<"modelVersions">[]): Promise<PublicVersion[]> {
  const deployment = await loadDeployment(ctx);
  const settings = await loadSettings(ctx);
  const rollbackTarget = deployment?.previousVersionIds.at(-1) ?? null;
  const emailOf = emailReader(ctx);
  const result: PublicVersion[] = [];
  for (const version of versions) {
    result.push({
      _id: version._id,
      number: version.number,
      name: version.name,
      notes: version.notes,
      sha256: version.sha256,
      byteLength: version.byteLength,
      summary: version.summary,
      status: version.status,
      createdByEmail: await emailOf(version.createdBy),
      createdAt: version._creationTime,
      metrics: version.metrics ?? null,
      isActive: deployment?.activeVersionId === version._id,
      isRollbackTarget: rollbackTarget === version._id,
      inputMismatch: describeInputMismatch(versionLabel(version), version.summary.input, settings),
    });
  }
  return result;
}

// ---------------------------------------------------------------- upload and registration

/** The URL accepts one upload (write-only); it cannot be used to read any file. */
export const generateUploadUrl = adminMutation({
  args: {},
  returns: v.string(),
  handler: async (ctx) => ctx.storage.generateUploadUrl(),
});

/** Checked by the import dialog before uploading, so a duplicate file is never sent. */
export const findBySha256 = adminQuery({
  args: { sha256: v.string() },
  returns: v.union(versionRefValidator, v.null()),
  handler: async (ctx, { sha256 }) => {
    const version = await ctx.db.query("modelVersions").withIndex("by_sha256", (q) => q.eq("sha256", sha256.toLowerCase())).first();
    return version === null ? null : toVersionRef(version);
  },
});

export const register = adminAction({
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

async function registerUpload(ctx: ActionCtx, args: { storageId: Id<"_storage">; name: string; notes: string }, createdBy: Id<"users">): Promise<VersionRef> {
  const name = args.name.trim();
  const notes = args.notes.trim();
  const textProblems = [...checkText("name", name, VERSION_NAME_MAX_LENGTH, true), ...checkText("notes", notes, VERSION_NOTES_MAX_LENGTH, false)];
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
      throw new ConvexError(
        `Version not registered: the uploaded file is not valid MLP weights: ${error.message}. Convert the weights with the import dialog or \`mlp\` CLI and upload the .mlpw binary.`,
      );
    }
    throw error;
  }
  const modelProblems = checkDecodedModel(model);
  if (modelProblems.length > 0) throw new ConvexError(`Version not registered: ${modelProblems.join("; ")}.`);

  return ctx.runMutation(internal.models.insertVersion, {
    storageId: args.storageId,
    sha256,
    bytes: bytes.buffer,
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
async function discardUpload(ctx: ActionCtx, storageId: Id<"_storage">): Promise<void> {
  const owner: "version" | "picture" | null = await ctx.runQuery(internal.models.storageOwnerOf, { storageId });
  if (owner !== null) return;
  try {
    await ctx.storage.delete(storageId);
  } catch {
    // Already gone (e.g. the "file is gone" rejection): nothing left to clean.
  }
}

export const storageOwnerOf = internalQuery({
  args: { storageId: v.id("_storage") },
  returns: v.union(v.literal("version"), v.literal("picture"), v.null()),
  handler: async (ctx, { storageId }) => storageOwner(ctx, storageId),
});

export const versionBySha256 = internalQuery({
  args: { sha256: v.string() },
  returns: v.union(versionRefValidator, v.null()),
  handler: async (ctx, { sha256 }) => {
    const version = await ctx.db.query("modelVersions").withIndex("by_sha256", (q) => q.eq("sha256", sha256)).first();
    return version === null ? null : toVersionRef(version);
  },
});

export const insertVersion = internalMutation({
  args: {
    storageId: v.id("_storage"),
    sha256: v.string(),
    /** The validated file's bytes, copied into weightsChunks for cheap repeat reads. */
    bytes: v.bytes(),
    name: v.string(),
    notes: v.string(),
    summary: manifestSummaryValidator,
    createdBy: v.id("users"),
  },
  returns: versionRefValidator,
  handler: async (ctx, { bytes, ...args }) => {
    // Re-checked here: two concurrent registrations of the same bytes both pass the action's early check.
    const duplicate = await ctx.db.query("modelVersions").withIndex("by_sha256", (q) => q.eq("sha256", args.sha256)).first();
    if (duplicate !== null) throw duplicateError(toVersionRef(duplicate));
    const stored = await ctx.db.system.get(args.storageId);
    if (stored === null) throw new ConvexError("Version not registered: the uploaded file is gone from storage. Upload the weights again.");
    if (stored.sha256 && stored.sha256 !== hexToBase64(args.sha256)) {
      throw new ConvexError("Version not registered: the stored file's checksum differs from the bytes that were validated. Upload the weights again.");
    }
    if ((await sha256Hex(bytes)) !== args.sha256) {
      throw new ConvexError("Version not registered: the bytes to store differ from the ones that were validated. Upload the weights again.");
    }
    const number = await nextVersionNumber(ctx);
    const versionId = await ctx.db.insert("modelVersions", { ...args, byteLength: bytes.byteLength, number, status: "ready" });
    await storeWeightsChunks(ctx, versionId, bytes);
    await writeAudit(ctx, {
      actorId: args.createdBy,
      action: "importVersion",
      toVersionId: versionId,
      details: `${versionLabel({ number, name: args.name })}: ${describeLayerShapes({ layers: args.summary.layerShapes })}, ${args.summary.classes.length} classes, sha256 ${args.sha256.slice(0, 12)}`,
    });
    await ctx.scheduler.runAfter(0, internal.evaluation.computeMetrics, { versionId });
    return { versionId, number, name: args.name };
  },
});

/** The weights bytes for the loader in model/weights.ts; a query, so repeat reads of the immutable chunks are served from Convex's cache. */
export const weightsBytes = internalQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.union(v.bytes(), v.null()),
  handler: async (ctx, { versionId }) => readWeightsChunks(ctx, versionId),
});

// ---------------------------------------------------------------- reading versions

export const list = adminQuery({
  args: {},
  returns: v.array(publicVersionValidator),
  handler: async (ctx) => {
    const versions = await ctx.db.query("modelVersions").withIndex("by_number").order("desc").take(MAX_LISTED_VERSIONS);
    return toPublicVersions(ctx, versions);
  },
});

export const get = adminQuery({
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
  classes: v.array(v.string()),
});
export type VersionChoice = Infer<typeof versionChoiceValidator>;

/**
 * Versions to pick from in filters, for every role: classifications name
 * their version, so labellers and analysts filter by it too. Only what a
 * picker shows; hashes, files, notes and metrics stay with the admin-only list.
 */
export const choices = memberQuery({
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
      classes: version.summary.classes,
    }));
  },
});

/** For classification: the active version, or null when none is active. */
export const activeRunnable = internalQuery({
  args: {},
  returns: v.union(runnableVersionValidator, v.null()),
  handler: async (ctx) => {
    const version = await loadActiveVersion(ctx);
    return version === null ? null : toRunnable(version);
  },
});

/** For replays and evaluation: any version (archived ones too, for looking back), or null. */
export const runnable = internalQuery({
  args: { versionId: v.id("modelVersions") },
  returns: v.union(runnableVersionValidator, v.null()),
  handler: async (ctx, { versionId }) => {
    const version = await ctx.db.get(versionId);
    return version === null ? null : toRunnable(version);
  },
});

// ---------------------------------------------------------------- archive

export const archive = adminMutation({
  args: { versionId: v.id("modelVersions"), reason: v.string() },
  returns: v.null(),
  handler: async (ctx, args) => {
    const reason = requireReason("reason", args.reason);
    const version = await requireVersion(ctx, args.versionId);
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
