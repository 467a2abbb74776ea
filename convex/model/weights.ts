import { ConvexError } from "convex/values";
import type { ActionCtx, MutationCtx, QueryCtx } from "../_generated/server";
import { internal } from "../_generated/api";
import type { Id } from "../_generated/dataModel";
import { decodeRegisteredWeights, WeightsDecodeError } from "../lib/weightsBinary";
import type { MlpModel } from "../lib/weightsFormat";
import { versionLabel } from "../lib/versionLabel";
import type { RunnableVersion } from "./versions";

/** Each chunk document stays under Convex's 1 MiB document limit. */
export const WEIGHTS_CHUNK_BYTES = 1_000_000;

/**
 * The largest weights file a version may have. The real MLP is ~0.7 MB;
 * the cap keeps the weights query's answer under Convex's 16 MiB return
 * limit, and two decoded versions (compare, activate) far under an action's
 * 64 MiB.
 */
export const MAX_WEIGHTS_BYTES = 8 * 1024 * 1024;

export async function storeWeightsChunks(ctx: MutationCtx, versionId: Id<"modelVersions">, bytes: ArrayBuffer): Promise<number> {
  let index = 0;
  for (let start = 0; start < bytes.byteLength; start += WEIGHTS_CHUNK_BYTES, index += 1) {
    await ctx.db.insert("weightsChunks", { versionId, index, bytes: bytes.slice(start, start + WEIGHTS_CHUNK_BYTES) });
  }
  return index;
}

/** The version's weights bytes from its chunks, or null when it has none (registered before chunks existed). */
export async function readWeightsChunks(ctx: QueryCtx, versionId: Id<"modelVersions">): Promise<ArrayBuffer | null> {
  const chunks = await ctx.db
    .query("weightsChunks")
    .withIndex("by_version_index", (q) => q.eq("versionId", versionId))
    .take(Math.ceil(MAX_WEIGHTS_BYTES / WEIGHTS_CHUNK_BYTES) + 1);
  if (chunks.length === 0) return null;
  const joined = new Uint8Array(chunks.reduce((sum, chunk) => sum + chunk.bytes.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(new Uint8Array(chunk.bytes), offset);
    offset += chunk.bytes.byteLength;
  }
  return joined.buffer;
}

/**
 * How a version's weights are read and decoded: the bytes from the chunks,
 * through one cached internal query (else the imported file), then
 * decodeRegisteredWeights. One object so that a test (or the benchmark's
 * JSON baseline) can replace a step for every path that loads weights at
 * once; production code never reassigns it.
 */
export const weightsSource = {
  decode: (bytes: Uint8Array, version: RunnableVersion): Promise<MlpModel> => decodeRegisteredWeights(bytes, version),
  async readBytes(ctx: ActionCtx, version: RunnableVersion): Promise<Uint8Array | null> {
    const chunked: ArrayBuffer | null = await ctx.runQuery(internal.models.weightsBytes, { versionId: version._id });
    if (chunked !== null) return new Uint8Array(chunked);
    const blob = await ctx.storage.get(version.storageId);
    return blob === null ? null : new Uint8Array(await blob.arrayBuffer());
  },
};

/**
 * The one loader for a version's weights, used by classification, replays
 * and evaluation alike: read, verify the sha256 recorded at registration,
 * decode, check the registered manifest. Every failure is a ConvexError
 * naming the version and what an admin can do.
 */
export async function loadVersionModel(ctx: ActionCtx, version: RunnableVersion): Promise<MlpModel> {
  const bytes = await weightsSource.readBytes(ctx, version);
  if (bytes === null) {
    throw new ConvexError(`the weights of ${versionLabel(version)} are missing from storage: an admin must re-import them or activate another version`);
  }
  try {
    return await weightsSource.decode(bytes, version);
  } catch (error) {
    if (error instanceof WeightsDecodeError) throw new ConvexError(error.message);
    throw error;
  }
}
