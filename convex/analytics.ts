/**
 * Every chart reads the counters in `analyticsCounts`, never the
 * classifications: whole months from the monthly rows, the partial months
 * at either end from the daily rows, and "every version" from the rows kept
 * for all versions together. A chart over a year therefore reads about
 * months × keys rows (× versions only where it breaks them down), however
 * many pictures were classified. Each request has one read budget across
 * all its reads, and is refused with a sentence rather than running into
 * Convex's per-query limits.
 */
import { ConvexError, v } from "convex/values";
import type { QueryCtx } from "./_generated/server";
import type { Doc, Id } from "./_generated/dataModel";
import { analystQuery } from "./functions";
import { versionRefReader } from "./model/versions";
import { CONFIDENCE_BINS, confidenceBinBounds } from "./lib/classificationResult";
import { daysOf, resolveDayRange, splitIntoMonths, type DayRange, type ResolvedDayRange } from "./lib/days";
import { distributionDrift } from "./lib/drift";
import { versionRefValidator, type VersionRef } from "./lib/shapes";

/** Counter rows one request may read in all; far below Convex's 32,000 documents and 16 MiB per query. */
export const MAX_COUNTER_ROWS = 20_000;
/** predictedVsConfirmed reads label documents; it reads at most this many and says when it stopped. */
export const MAX_LABELS_READ = 5_000;

const dayRangeValidator = v.object({ from: v.string(), to: v.string() });
const labelCountValidator = v.object({ label: v.string(), count: v.number() });
type Kind = "class" | "confidence";

function requireRange(range: DayRange, where = "range"): ResolvedDayRange {
  const resolved = resolveDayRange(range, where);
  if (typeof resolved === "string") throw new ConvexError(resolved);
  return resolved;
}

/** One request's read budget, shared by all its counter reads. */
class CounterReader {
  private remaining = MAX_COUNTER_ROWS;
  constructor(private readonly ctx: QueryCtx) {}

  private async take(query: { take(n: number): Promise<Doc<"analyticsCounts">[]> }, what: string): Promise<Doc<"analyticsCounts">[]> {
    const rows = await query.take(this.remaining + 1);
    if (rows.length > this.remaining) {
      throw new ConvexError(`${what} needs more than ${MAX_COUNTER_ROWS} counter rows: choose a shorter range or one version.`);
    }
    this.remaining -= rows.length;
    return rows;
  }

  /** Rows of one scope (a version, or undefined for all versions together) over the range, months where whole. */
  async scope(kind: Kind, range: ResolvedDayRange, versionId: Id<"modelVersions"> | undefined): Promise<Doc<"analyticsCounts">[]> {
    const { dayRanges, monthRange } = splitIntoMonths(range);
    const what = `${range.from} to ${range.to}`;
    const rows: Doc<"analyticsCounts">[] = [];
    for (const [period, bucketRange] of [...dayRanges.map((r) => ["day", r] as const), ...(monthRange ? [["month", monthRange] as const] : [])]) {
      const query = this.ctx.db
        .query("analyticsCounts")
        .withIndex("by_scope", (q) => q.eq("period", period).eq("versionId", versionId).eq("kind", kind).gte("bucket", bucketRange.from).lte("bucket", bucketRange.to));
      rows.push(...(await this.take(query, what)));
    }
    return rows;
  }

  /** Rows of every version separately over the range (the rows for all versions together are skipped). */
  async perVersion(kind: Kind, range: ResolvedDayRange): Promise<Doc<"analyticsCounts">[]> {
    const { dayRanges, monthRange } = splitIntoMonths(range);
    const rows: Doc<"analyticsCounts">[] = [];
    for (const [period, bucketRange] of [...dayRanges.map((r) => ["day", r] as const), ...(monthRange ? [["month", monthRange] as const] : [])]) {
      const query = this.ctx.db
        .query("analyticsCounts")
        .withIndex("by_period_kind_bucket", (q) => q.eq("period", period).eq("kind", kind).gte("bucket", bucketRange.from).lte("bucket", bucketRange.to));
      rows.push(...(await this.take(query, `${range.from} to ${range.to} by version`)).filter((row) => row.versionId !== undefined));
    }
    return rows;
  }

  async days(kind: Kind, range: ResolvedDayRange, versionId: Id<"modelVersions"> | undefined): Promise<Doc<"analyticsCounts">[]> {
    const query = this.ctx.db
      .query("analyticsCounts")
      .withIndex("by_scope", (q) => q.eq("period", "day").eq("versionId", versionId).eq("kind", kind).gte("bucket", range.from).lte("bucket", range.to));
    return this.take(query, `${range.from} to ${range.to}`);
  }
}

/** Counts per key, largest first (ties by key) so bar order is stable. */
function sumByKey(rows: Iterable<Doc<"analyticsCounts">>): Array<{ label: string; count: number }> {
  const totals = new Map<string, number>();
  for (const row of rows) totals.set(row.key, (totals.get(row.key) ?? 0) + row.count);
  return [...totals].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label));
}

const total = (counts: Array<{ count: number }>) => counts.reduce((sum, c) => sum + c.count, 0);

export const classDistribution = analystQuery({
  args: { from: v.string(), to: v.string(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    from: v.string(),
    to: v.string(),
    versionId: v.union(v.id("modelVersions"), v.null()),
    total: v.number(),
    counts: v.array(labelCountValidator),
    byVersion: v.array(v.object({ version: versionRefValidator, total: v.number(), counts: v.array(labelCountValidator) })),
  }),
  handler: async (ctx, { from, to, versionId }) => {
    const range = requireRange({ from, to });
    const reader = new CounterReader(ctx);
    const rows = versionId === undefined ? await reader.perVersion("class", range) : await reader.scope("class", range, versionId);
    const byId = new Map<Id<"modelVersions">, Doc<"analyticsCounts">[]>();
    for (const row of rows) byId.set(row.versionId!, [...(byId.get(row.versionId!) ?? []), row]);
    const refOf = versionRefReader(ctx);
    const byVersion = [];
    for (const [id, versionRows] of byId) {
      const version = await refOf(id);
      if (version === null) continue;
      const counts = sumByKey(versionRows);
      byVersion.push({ version, total: total(counts), counts });
    }
    byVersion.sort((a, b) => a.version.number - b.version.number);
    const counts = sumByKey(rows);
    return { from, to, versionId: versionId ?? null, total: total(counts), counts, byVersion };
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
    const rows = await new CounterReader(ctx).days("class", range, versionId);
    const series = new Map<string, number[]>();
    for (const row of rows) {
      let counts = series.get(row.key);
      if (counts === undefined) {
        counts = new Array<number>(days.length).fill(0);
        series.set(row.key, counts);
      }
      counts[dayIndex.get(row.bucket)!] += row.count;
    }
    const refOf = versionRefReader(ctx);
    const markers: Array<{ day: string; at: number; action: "activateVersion" | "rollback"; version: VersionRef | null; reason?: string }> = [];
    for (const action of ["activateVersion", "rollback"] as const) {
      // The audit entry's _creationTime is its `at`, so the index's implicit _creationTime suffix bounds the range.
      const entries = await ctx.db
        .query("auditLog")
        .withIndex("by_action", (q) => q.eq("action", action).gte("_creationTime", range.startMs).lt("_creationTime", range.endMs))
        .take(1000);
      for (const entry of entries) {
        if (entry.at < range.startMs || entry.at >= range.endMs) continue;
        markers.push({ day: new Date(entry.at).toISOString().slice(0, 10), at: entry.at, action, version: await refOf(entry.toVersionId), reason: entry.reason });
      }
    }
    markers.sort((a, b) => a.at - b.at);
    return { days, series: [...series].map(([label, counts]) => ({ label, counts })).sort((a, b) => a.label.localeCompare(b.label)), markers };
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
    const rows = await new CounterReader(ctx).scope("confidence", range, versionId);
    const counts = new Array<number>(CONFIDENCE_BINS).fill(0);
    for (const row of rows) counts[Number(row.key)] += row.count;
    return { total: counts.reduce((sum, c) => sum + c, 0), bins: counts.map((count, bin) => ({ bin, ...confidenceBinBounds(bin), count })) };
  },
});

export const predictedVsConfirmed = analystQuery({
  args: { from: v.string(), to: v.string(), versionId: v.optional(v.id("modelVersions")) },
  returns: v.object({
    /** Every label seen as predicted or confirmed, sorted: the heatmap's axes. */
    labels: v.array(v.string()),
    cells: v.array(v.object({ predicted: v.string(), confirmed: v.string(), count: v.number() })),
    total: v.number(),
    /** True when more than MAX_LABELS_READ labels fall in the range and only the first were read. */
    truncated: v.boolean(),
  }),
  handler: async (ctx, { from, to, versionId }) => {
    const range = requireRange({ from, to });
    // Labels are filtered by the version whose prediction they confirm or correct, as every other chart filters classifications.
    const query =
      versionId === undefined
        ? ctx.db.query("labels").withIndex("by_creation_time", (q) => q.gte("_creationTime", range.startMs).lt("_creationTime", range.endMs))
        : ctx.db.query("labels").withIndex("by_version", (q) => q.eq("versionId", versionId).gte("_creationTime", range.startMs).lt("_creationTime", range.endMs));
    const labels = await query.take(MAX_LABELS_READ + 1);
    const truncated = labels.length > MAX_LABELS_READ;
    const cells = new Map<string, { predicted: string; confirmed: string; count: number }>();
    const seen = new Set<string>();
    let counted = 0;
    for (const label of labels.slice(0, MAX_LABELS_READ)) {
      if (label.predictedLabel === undefined) continue;
      const key = JSON.stringify([label.predictedLabel, label.label]);
      const cell = cells.get(key) ?? { predicted: label.predictedLabel, confirmed: label.label, count: 0 };
      cell.count += 1;
      cells.set(key, cell);
      seen.add(label.predictedLabel).add(label.label);
      counted += 1;
    }
    return { labels: [...seen].sort(), cells: [...cells.values()], total: counted, truncated };
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
    const reader = new CounterReader(ctx);
    const countsA = new Map(sumByKey(await reader.scope("class", rangeA, versionId)).map((c) => [c.label, c.count]));
    const countsB = new Map(sumByKey(await reader.scope("class", rangeB, versionId)).map((c) => [c.label, c.count]));
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
