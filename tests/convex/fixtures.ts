/**
 * Test data for Convex tests: small deterministic MLPs, feature vectors,
 * stored weights to tamper with, pictures and labels put straight into the
 * tables. Versions are seeded by tools/convexTest/seedVersions.ts.
 */
import type { Id } from "../../convex/_generated/dataModel";
import { DEFAULT_FEATURE_DIM, type MlpModel } from "../../convex/lib/weightsFormat";
import { makeRandomModel } from "../../tools/fixtures/randomModel";
import { api } from "../../convex/_generated/api";
import type { MutationCtx } from "../../convex/_generated/server";
import { storeFeatures } from "../../convex/model/features";
import { decodeFeatures } from "../../convex/lib/features";
import { readWeightsChunks, storeWeightsChunks } from "../../convex/model/weights";
import type { Backend, UserClient } from "./harness";
import { seededRandom } from "../../convex/lib/seededRandom";
import { seedVersion } from "../../tools/convexTest/seedVersions";

export const testClasses = ["cat", "dog", "bird", "fish", "horse", "sheep", "cow", "car", "bus", "train", "boat", "plane"];

export interface TestModelOptions {
  seed?: number;
  name?: string;
  /** Hidden layer widths; the default keeps tests fast (the real model is [256, 128]). */
  hidden?: number[];
  classes?: string[];
  dim?: number;
  normalize?: "none" | "l2";
  outputActivation?: MlpModel["outputActivation"];
}

export function makeTestModel(options: TestModelOptions = {}): MlpModel {
  const classes = options.classes ?? testClasses;
  return makeRandomModel({
    dims: [options.dim ?? DEFAULT_FEATURE_DIM, ...(options.hidden ?? [16]), classes.length],
    seed: options.seed ?? 1,
    name: options.name ?? `test-model-${options.seed ?? 1}`,
    classes,
    normalize: options.normalize ?? "l2",
    outputActivation: options.outputActivation ?? "sigmoid-normalized",
    // A wide first layer: unit-norm CLIP-like inputs must move the logits enough for the predicted class to vary.
    weightScale: (layer, inDim) => (layer === 0 ? 10 : 4 / Math.sqrt(inDim)),
  });
}

/** A plausible CLIP feature vector: no zeros, all finite. */
export function sampleFeatures(seed: number, dim = DEFAULT_FEATURE_DIM): number[] {
  const random = seededRandom(seed * 7919 + 13);
  // float32 values, as CLIP produces: the server stores and scores features as float32.
  return Array.from({ length: dim }, () => Math.fround((random() - 0.5) * 2 + 0.001));
}

/** A version's stored weights bytes, as the loader reads them (its chunks). */
export async function storedWeightsOf(t: Backend, versionId: Id<"modelVersions">): Promise<Uint8Array> {
  // t.run returns Convex values: an ArrayBuffer is one (bytes), a Uint8Array is not.
  const buffer = await t.run(async (ctx) => (await readWeightsChunks(ctx, versionId))!);
  return new Uint8Array(buffer);
}

/**
 * Replaces the version's stored weights (its file and its chunks) with
 * `bytes` (a tampered or a restored copy), keeping its registered sha256
 * unless one is given.
 */
export async function replaceStoredWeights(t: Backend, versionId: Id<"modelVersions">, bytes: Uint8Array, sha256?: string): Promise<void> {
  await t.run(async (ctx) => {
    const storageId = await ctx.storage.store(new Blob([bytes as Uint8Array<ArrayBuffer>]));
    await ctx.db.patch(versionId, sha256 === undefined ? { storageId } : { storageId, sha256 });
    await deleteWeightsChunks(ctx, versionId);
    await storeWeightsChunks(ctx, versionId, bytes.slice().buffer);
  });
}

/** Deletes a version's stored weights, file and chunks, as an operator could in the Convex dashboard. */
export async function deleteStoredWeights(t: Backend, versionId: Id<"modelVersions">): Promise<void> {
  await t.run(async (ctx) => {
    const version = (await ctx.db.get(versionId))!;
    await ctx.storage.delete(version.storageId);
    await deleteWeightsChunks(ctx, versionId);
  });
}

async function deleteWeightsChunks(ctx: MutationCtx, versionId: Id<"modelVersions">): Promise<void> {
  const chunks = await ctx.db.query("weightsChunks").withIndex("by_version_index", (q) => q.eq("versionId", versionId)).collect();
  for (const chunk of chunks) await ctx.db.delete(chunk._id);
}

/** A copy with the last byte flipped: it lies inside the last bias, so the file still decodes and only the sha256 tells. */
export function withLastByteFlipped(bytes: Uint8Array): Uint8Array {
  const tampered = bytes.slice();
  tampered[tampered.length - 1] ^= 0x01;
  return tampered;
}

/** Stores, registers and activates the model: the usual starting point of a classification test. */
export async function seedActiveVersion(t: Backend, model: MlpModel = makeTestModel(), options: { createdBy?: Id<"users"> } = {}) {
  return seedVersion(t, model, { ...options, activate: true });
}

/** A stored image file (a few bytes with an image content type) as the browser's upload would leave. */
export async function storeImage(t: Backend, contentType = "image/jpeg"): Promise<Id<"_storage">> {
  return t.run((ctx) => ctx.storage.store(new Blob([new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3])], { type: contentType })));
}

/** A classified, labelled picture inserted directly (no image stored), for labelled-set tests; returns it and its features. */
export async function insertLabelledPicture(t: Backend, uploaderId: Id<"users">, features: number[] = sampleFeatures(1)): Promise<{ pictureId: Id<"pictures">; featuresId: Id<"features"> }> {
  return t.run(async (ctx) => {
    const pictureId = await ctx.db.insert("pictures", {
      uploaderId,
      fileName: "p.jpg",
      contentType: "image/jpeg",
      storageMode: "none",
      status: "classified",
      attempts: 1,
      labelled: true,
    });
    const featuresId = await storeFeatures(ctx, features, pictureId);
    await ctx.db.patch(pictureId, { featuresId });
    return { pictureId, featuresId };
  });
}

/** Records a picture (with a stored image) as the client and classifies it with sampleFeatures(seed). */
export async function classifiedPicture(t: Backend, client: UserClient, seed: number, fileName = `picture-${seed}.jpg`) {
  const pictureId = await client.mutation(api.pictures.record, {
    storageId: await storeImage(t),
    fileName,
    contentType: "image/jpeg",
  });
  const result = await client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(seed) });
  return { pictureId, result };
}

/** The per-version daily counters, shaped as before monthly and all-version rows existed: what most tests check. */
export async function dayCounters(t: Backend) {
  const rows = await t.run((ctx) => ctx.db.query("analyticsCounts").collect());
  return rows
    .filter((row) => row.period === "day" && row.versionId !== undefined)
    .map((row) => ({ day: row.bucket, versionId: row.versionId!, kind: row.kind, key: row.key, count: row.count }));
}

/** Classifications counted in the analytics (per-version daily class counters). */
export async function countedClassifications(t: Backend): Promise<number> {
  return (await dayCounters(t)).filter((row) => row.kind === "class").reduce((sum, row) => sum + row.count, 0);
}

/** A stored feature vector as plain numbers, or undefined when there is none. */
export async function featuresOf(t: Backend, featuresId: Id<"features"> | undefined): Promise<number[] | undefined> {
  if (featuresId === undefined) return undefined;
  const vector = await t.run(async (ctx) => ctx.db.get(featuresId));
  return vector === null ? undefined : Array.from(decodeFeatures(vector.vector, vector.dim));
}

/** The features the server holds for a picture (for a retry), as plain numbers. */
export async function pictureFeaturesOf(t: Backend, pictureId: Id<"pictures">): Promise<number[] | undefined> {
  const picture = await t.run(async (ctx) => ctx.db.get(pictureId));
  return featuresOf(t, picture?.featuresId);
}
