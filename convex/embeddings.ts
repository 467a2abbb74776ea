/**
 * The embedding map: stored CLIP features of current classifications,
 * sampled evenly over time, projected to 2-D by PCA (power iteration,
 * convex/lib/embeddingProjection.ts), coloured by class, version or window;
 * and embedding drift between two windows (a domain classifier's ROC AUC and
 * the distance between the windows' centroids), beside the class-share
 * drift of the analytics page.
 */
import { ConvexError, v, type Infer } from "convex/values";
import { internalQuery } from "./_generated/server";
import { internal } from "./_generated/api";
import type { Doc, Id } from "./_generated/dataModel";
import { roleAction } from "./functions";
import { versionRefReader } from "./model/versions";
import { resolveDayRange, type DayRange } from "./lib/days";
import { centroidDistance, domainClassifierDrift, pcaOfRows, projectRows, DOMAIN_CLASSIFIER_DRIFT_AUC } from "./lib/embeddingProjection";
import { decodeFeatures } from "./lib/features";
import { versionRefValidator, type VersionRef } from "./lib/shapes";

/** Points per window at most: 2,000 features are 4 MB read and a few hundred ms of PCA. */
export const MAX_POINTS_PER_WINDOW = 2000;
/** Fewer points than this per window give no drift figure (the domain classifier needs folds of both). */
const MIN_POINTS_FOR_DRIFT = 20;

const dayRangeValidator = v.object({ from: v.string(), to: v.string() });

function requireRange(range: DayRange, where: string) {
  const resolved = resolveDayRange(range, where);
  if (typeof resolved === "string") throw new ConvexError(resolved);
  return resolved;
}

/**
 * Up to `points` current classifications of the window, one at or after
 * each of `points` evenly spaced instants (an index lookup each, so the read
 * is bounded by the sample, never by how many pictures the window holds).
 */
export const sampleWindow = internalQuery({
  args: { startMs: v.number(), endMs: v.number(), points: v.number(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.array(
    v.object({
      pictureId: v.id("pictures"),
      fileName: v.string(),
      vector: v.bytes(),
      dim: v.number(),
      label: v.string(),
      confirmedLabel: v.union(v.string(), v.null()),
      versionId: v.id("modelVersions"),
      at: v.number(),
    }),
  ),
  handler: async (ctx, { startMs, endMs, points, versionId }) => {
    const seen = new Set<Id<"classifications">>();
    const rows = [];
    const step = (endMs - startMs) / points;
    for (let i = 0; i < points; i++) {
      const from = startMs + i * step;
      const classifications = ctx.db.query("classifications");
      const found: Doc<"classifications"> | null = await (versionId === undefined
        ? classifications.withIndex("by_current", (q) => q.eq("current", true).gte("_creationTime", from).lt("_creationTime", endMs))
        : classifications.withIndex("by_current_version", (q) => q.eq("current", true).eq("versionId", versionId).gte("_creationTime", from).lt("_creationTime", endMs))
      ).first();
      if (found === null) break;
      if (seen.has(found._id)) continue;
      seen.add(found._id);
      const [features, picture] = await Promise.all([ctx.db.get(found.featuresId), ctx.db.get(found.pictureId)]);
      if (features === null || picture === null || picture.deleted === true) continue;
      rows.push({
        pictureId: found.pictureId,
        fileName: picture.fileName,
        vector: features.vector,
        dim: features.dim,
        label: found.label,
        confirmedLabel: picture.confirmedLabel ?? null,
        versionId: found.versionId,
        at: found._creationTime,
      });
    }
    return rows;
  },
});

type SampledRow = { pictureId: Id<"pictures">; fileName: string; vector: ArrayBuffer; dim: number; label: string; confirmedLabel: string | null; versionId: Id<"modelVersions">; at: number };

export const versionRefs = internalQuery({
  args: { versionIds: v.array(v.id("modelVersions")) },
  returns: v.array(v.union(versionRefValidator, v.null())),
  handler: async (ctx, { versionIds }) => {
    const refOf = versionRefReader(ctx);
    return Promise.all(versionIds.map((versionId) => refOf(versionId)));
  },
});

const nullableNumber = v.union(v.number(), v.null());

const embeddingMapValidator = v.object({
    points: v.array(
      v.object({
        x: v.number(),
        y: v.number(),
        window: v.union(v.literal("a"), v.literal("b")),
        pictureId: v.id("pictures"),
        fileName: v.string(),
        label: v.string(),
        confirmedLabel: v.union(v.string(), v.null()),
        versionNumber: v.union(v.number(), v.null()),
        at: v.number(),
      }),
    ),
    /** Share of the sampled features' variance along each axis. */
    explained: v.array(v.number()),
    countA: v.number(),
    countB: v.number(),
    /** Null without a second window, or with fewer than MIN_POINTS_FOR_DRIFT points in either. */
    drift: v.union(
      v.null(),
      v.object({ auc: v.number(), threshold: v.number(), drift: v.boolean(), centroidEuclidean: v.number(), centroidCosineDistance: nullableNumber }),
    ),
  });
export type EmbeddingMap = Infer<typeof embeddingMapValidator>;

/** Analysts and admins: the map is built from stored features, which labellers' pages never show. */
export const map = roleAction(["analyst"])({
  args: { a: dayRangeValidator, b: v.optional(dayRangeValidator), versionId: v.optional(v.id("modelVersions")), pointsPerWindow: v.optional(v.number()) },
  returns: embeddingMapValidator,
  handler: async (ctx, args): Promise<EmbeddingMap> => {
    const points = args.pointsPerWindow ?? MAX_POINTS_PER_WINDOW;
    if (!Number.isInteger(points) || points < 10 || points > MAX_POINTS_PER_WINDOW) {
      throw new ConvexError(`The map samples 10 to ${MAX_POINTS_PER_WINDOW} points per window, not ${points}.`);
    }
    const rangeA = requireRange(args.a, "a");
    const rangeB = args.b === undefined ? null : requireRange(args.b, "b");
    const sample = (range: typeof rangeA): Promise<SampledRow[]> =>
      ctx.runQuery(internal.embeddings.sampleWindow, { startMs: range.startMs, endMs: range.endMs, points, versionId: args.versionId });
    const rowsA = await sample(rangeA);
    const rowsB = rangeB === null ? [] : await sample(rangeB);
    const all = [...rowsA, ...rowsB];
    if (all.length < 3) return { points: [], explained: [], countA: rowsA.length, countB: rowsB.length, drift: null };
    const dim = all[0].dim;
    const usable = all.filter((row) => row.dim === dim);
    const features = new Float32Array(usable.length * dim);
    usable.forEach((row, i) => features.set(decodeFeatures(row.vector, dim), i * dim));
    const pca = pcaOfRows(features, dim, { components: 2 });
    const projected = projectRows(pca, features);
    const versionIds = [...new Set(usable.map((row) => row.versionId))];
    const refs: Array<VersionRef | null> = await ctx.runQuery(internal.embeddings.versionRefs, { versionIds });
    const numberOf = new Map(versionIds.map((id, i) => [id, refs[i]?.number ?? null]));
    const countA = usable.filter((row) => rowsA.includes(row)).length;
    let drift = null;
    if (rangeB !== null && countA >= MIN_POINTS_FOR_DRIFT && usable.length - countA >= MIN_POINTS_FOR_DRIFT) {
      const featuresA = features.subarray(0, countA * dim);
      const featuresB = features.subarray(countA * dim);
      const domain = domainClassifierDrift(featuresA, featuresB, dim);
      const centroids = centroidDistance(featuresA, featuresB, dim);
      drift = { auc: domain.auc, threshold: DOMAIN_CLASSIFIER_DRIFT_AUC, drift: domain.drift, centroidEuclidean: centroids.euclidean, centroidCosineDistance: centroids.cosineDistance };
    }
    return {
      points: usable.map((row, i) => ({
        x: projected[i * 2],
        y: projected[i * 2 + 1],
        window: i < countA ? ("a" as const) : ("b" as const),
        pictureId: row.pictureId,
        fileName: row.fileName,
        label: row.label,
        confirmedLabel: row.confirmedLabel,
        versionNumber: numberOf.get(row.versionId) ?? null,
        at: row.at,
      })),
      explained: Array.from(pca.explainedShare),
      countA,
      countB: usable.length - countA,
      drift,
    };
  },
});
