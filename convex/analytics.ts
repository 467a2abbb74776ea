import { ConvexError, v } from "convex/values";
import type { QueryCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import { analystQuery } from "./functions";
import { versionRefValidator } from "./schema";
import { CONFIDENCE_BINS, confidenceBinBounds } from "./lib/classificationResult";
import { daysOf, resolveDayRange, type DayRange, type ResolvedDayRange } from "./lib/days";
import { distributionDrift } from "./lib/drift";

/*
 * Every chart reads the per-day counters in `dailyCounts`, never the
 * classifications: a chart over a range reads at most
 * days × versions live that day × classes (or bins) rows, however many
 * pictures were classified. tests/convex/analytics.test.ts proves the bound
 * with convex-test's document-read limit.
 */

/** Past this many counter rows a range is refused rather than risking Convex's per-query read limit. */
export const MAX_COUNTER_ROWS = 20_000;
/** predictedVsConfirmed reads label documents; it reads at most this many and says when it stopped. */
export const MAX_LABELS_READ = 5_000;

const dayRangeValidator = v.object({ from: v.string(), to: v.string() });
const labelCountValidator = v.object({ label: v.string(), count: v.number() });

function requireRange(range: DayRange, where = "range"): ResolvedDayRange {
  const resolved = resolveDayRange(range, where);
  if (typeof resolved === "string") throw new ConvexError(resolved);
  return resolved;
}

async function readCounters(
  ctx: QueryCtx,
  kind: "class" | "confidence",
  range: ResolvedDayRange,
  versionId: Id<"modelVersions"> | undefined,
): Promise<Doc<"dailyCounts">[]> {
  const query =
    versionId === undefined
      ? ctx.db.query("dailyCounts").withIndex("by_kind_day", (q) => q.eq("kind", kind).gte("day", range.from).lte("day", range.to))
      : ctx.db
          .query("dailyCounts")
          .withIndex("by_version_kind_day", (q) => q.eq("versionId", versionId).eq("kind", kind).gte("day", range.from).lte("day", range.to));
  const rows = await query.take(MAX_COUNTER_ROWS + 1);
  if (rows.length > MAX_COUNTER_ROWS) {
    throw new ConvexError(
      `${range.from} to ${range.to} holds more than ${MAX_COUNTER_ROWS} counter rows: choose a shorter range or one version`,
    );
  }
  return rows;
}

async function versionRefs(ctx: QueryCtx, ids: Iterable<Id<"modelVersions">>) {
  const refs = [];
  for (const id of new Set(ids)) {
    const version = await ctx.db.get(id);
    if (version !== null) refs.push({ versionId: id, number: version.number, name: version.name });
  }
  return refs.sort((a, b) => a.number - b.number);
}

/** Counts per label, largest first (ties by label) so bar order is stable. */
function sumByLabel(rows: Iterable<Doc<"dailyCounts">>): Array<{ label: string; count: number }> {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.key, (totals.get(row.key) ?? 0) + row.count);
  return [...totals].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

export const classDistribution = analystQuery({
  args: { from: v.string(), to: v.string(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    from: v.string(),
    to: v.string(),
    total: v.number(),
    counts: v.array(labelCountValidator),
    byVersion: v.array(v.object({ version: versionRefValidator, total: v.number(), counts: v.array(labelCountValidator) })),
  }),
  handler: async (ctx, { from, to, versionId }) => {
    const range = requireRange({ from, to });
    const rows = await readCounters(ctx, "class", range, versionId);
    const versions = await versionRefs(ctx, rows.map((row) => row.versionId));
    const byVersion = versions.map((version) => {
      const counts = sumByLabel(rows.filter((row) => row.versionId === version.versionId));
      return { version, total: counts.reduce((sum, c) => sum + c.count, 0), counts };
    });
    const counts = sumByLabel(rows);
    return { from, to, total: counts.reduce((sum, c) => sum + c.count, 0), counts, byVersion };
  },
});

const markerValidator = v.object({
  day: v.string(),
  at: v.number(),
  action: v.union(v.literal("activateVersion"), v.literal("rollback")),
  version: v.union(versionRefValidator, v.null()),
  reason: v.optional(v.string()),
});

export const timeSeries = analystQuery({
  args: { from: v.string(), to: v.string(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    days: v.array(v.string()),
    /** One series per label; counts[i] belongs to days[i]. */
    series: v.array(v.object({ label: v.string(), counts: v.array(v.number()) })),
    markers: v.array(markerValidator),
  }),
  handler: async (ctx, { from, to, versionId }) => {
    const range = requireRange({ from, to });
    const days = daysOf(range);
    const dayIndex = new Map(days.map((day, i) => [day, i]));
    const rows = await readCounters(ctx, "class", range, versionId);
    const series = new Map<string, number[]>();
    for (const row of rows) {
      let counts = series.get(row.key);
      if (counts === undefined) {
        counts = new Array<number>(days.length).fill(0);
        series.set(row.key, counts);
      }
      counts[dayIndex.get(row.day)!] += row.count;
    }
    const markers = [];
    for (const action of ["activateVersion", "rollback"] as const) {
      // The audit entry's _creationTime is its `at`, so the index's implicit _creationTime suffix bounds the range.
      const entries = await ctx.db
        .query("auditLog")
        .withIndex("by_action", (q) => q.eq("action", action).gte("_creationTime", range.startMs).lt("_creationTime", range.endMs))
        .take(1000);
      for (const entry of entries) {
        if (entry.at < range.startMs || entry.at >= range.endMs) continue;
        const [version] = entry.toVersionId === undefined ? [] : await versionRefs(ctx, [entry.toVersionId]);
        markers.push({ day: new Date(entry.at).toISOString().slice(0, 10), at: entry.at, action, version: version ?? null, reason: entry.reason });
      }
    }
    markers.sort((a, b) => a.at - b.at);
    return {
      days,
      series: [...series].map(([label, counts]) => ({ label, counts })).sort((a, b) => a.label.localeCompare(b.label)),
      markers,
    };
  },
});

export const confidenceHistogram = analystQuery({
  args: { from: v.string(), to: v.string(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    total: v.number(),
    bins: v.array(v.object({ bin: v.number(), lower: v.number(), upper: v.number(), count: v.number() })),
  }),
  handler: async (ctx, { from, to, versionId }) => {
    const range = requireRange({ from, to });
    const rows = await readCounters(ctx, "confidence", range, versionId);
    const counts = new Array<number>(CONFIDENCE_BINS).fill(0);
    for (const row of rows) counts[Number(row.key)] += row.count;
    return {
      total: counts.reduce((sum, c) => sum + c, 0),
      bins: counts.map((count, bin) => ({ bin, ...confidenceBinBounds(bin), count })),
    };
  },
});

export const predictedVsConfirmed = analystQuery({
  args: { from: v.string(), to: v.string() },
  returns: v.object({
    /** Every label seen as predicted or confirmed, sorted: the heatmap's axes. */
    labels: v.array(v.string()),
    cells: v.array(v.object({ predicted: v.string(), confirmed: v.string(), count: v.number() })),
    total: v.number(),
    /** True when more than MAX_LABELS_READ labels fall in the range and only the first were read. */
    truncated: v.boolean(),
  }),
  handler: async (ctx, { from, to }) => {
    const range = requireRange({ from, to });
    const labels = await ctx.db
      .query("labels")
      .withIndex("by_creation_time", (q) => q.gte("_creationTime", range.startMs).lt("_creationTime", range.endMs))
      .take(MAX_LABELS_READ + 1);
    const truncated = labels.length > MAX_LABELS_READ;
    const cells = new Map<string, { predicted: string; confirmed: string; count: number }>();
    const seen = new Set<string>();
    let total = 0;
    for (const label of labels.slice(0, MAX_LABELS_READ)) {
      if (label.predictedLabel === undefined) continue;
      const key = JSON.stringify([label.predictedLabel, label.label]);
      const cell = cells.get(key) ?? { predicted: label.predictedLabel, confirmed: label.label, count: 0 };
      cell.count += 1;
      cells.set(key, cell);
      seen.add(label.predictedLabel).add(label.label);
      total += 1;
    }
    return { labels: [...seen].sort(), cells: [...cells.values()], total, truncated };
  },
});

const nullableNumber = v.union(v.number(), v.null());

export const drift = analystQuery({
  args: { a: dayRangeValidator, b: dayRangeValidator, versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    /** Null when either window has no classifications. */
    jensenShannon: nullableNumber,
    psi: nullableNumber,
    epsilon: v.number(),
    totalA: v.number(),
    totalB: v.number(),
    perClass: v.array(
      v.object({
        label: v.string(),
        countA: v.number(),
        countB: v.number(),
        shareA: v.number(),
        shareB: v.number(),
        jensenShannon: nullableNumber,
        psi: nullableNumber,
      }),
    ),
  }),
  handler: async (ctx, { a, b, versionId }) => {
    const rangeA = requireRange(a, "a");
    const rangeB = requireRange(b, "b");
    const countsA = new Map(sumByLabel(await readCounters(ctx, "class", rangeA, versionId)).map((c) => [c.label, c.count]));
    const countsB = new Map(sumByLabel(await readCounters(ctx, "class", rangeB, versionId)).map((c) => [c.label, c.count]));
    // With a version, its classes absent from both windows still show as rows of zeros.
    const versionClasses = versionId === undefined ? [] : ((await ctx.db.get(versionId))?.summary.classes ?? []);
    const seen = [...new Set([...countsA.keys(), ...countsB.keys()])].filter((label) => !versionClasses.includes(label)).sort();
    const labels = [...versionClasses, ...seen];
    return distributionDrift(
      labels,
      labels.map((label) => countsA.get(label) ?? 0),
      labels.map((label) => countsB.get(label) ?? 0),
    );
  },
});
