/**
 * A year of analytics counters × 12 classes × 20 versions, seeded as
 * countClassification writes them (day and month rows, per version and for
 * all versions together, class and confidence bin), the worst case of every
 * version counting every day; 6,000 labels and a year of activations beside
 * them. Every analytics query over the whole year and over ranges that
 * start and end inside a month.
 *
 * Read bound per query: exactly the counter rows its range covers (whole
 * months from the month rows, the partial months at the ends from the day
 * rows; for classDistribution without a version, every version's rows and
 * the all-versions rows it skips), plus the caller and each version it
 * names; never more than MAX_COUNTER_ROWS counter rows. predictedVsConfirmed
 * reads at most MAX_LABELS_READ + 1 labels.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { MAX_COUNTER_ROWS, MAX_LABELS_READ } from "../../convex/analytics";
import { CONFIDENCE_BINS } from "../../convex/lib/classificationResult";
import { resolveDayRange, splitIntoMonths, type DayRange, type ResolvedDayRange } from "../../convex/lib/days";
import { seededRandom } from "../../convex/lib/seededRandom";
import { asUser, type Backend, type UserClient } from "../convex/harness";
import { makeTestModel, testClasses } from "../convex/fixtures";
import { seedVersion } from "../../tools/convexTest/seedVersions";
import { measured } from "./readReport";
import { DAY_MS, dayName, dayStart, insertCounterRows, setClock, YEAR_DAYS, YEAR_START_MS, yearBackend } from "./scaleSeed";
import { CounterTally, type CounterRow } from "../convex/counterTally";

const VERSIONS = 20;
const LABELS = 6_000;
const ACTIVATIONS = 24;
const ROLLBACKS = 6;

let t: Backend;
let analyst: UserClient;
let versionIds: Id<"modelVersions">[];
let rows: CounterRow[];
/** Seeded labels: day, version, predicted, confirmed. */
let labels: Array<{ day: number; version: number; predicted: string; confirmed: string }>;

beforeAll(async () => {
  t = await yearBackend("date only");
  const admin = await asUser(t, "admin");
  analyst = (await asUser(t, "analyst")).client;
  versionIds = [];
  for (let i = 0; i < VERSIONS; i++) versionIds.push((await seedVersion(t, makeTestModel({ seed: 200 + i, name: `v${i + 1}` }), { createdBy: admin.userId })).versionId);

  // Every version classified pictures of every class every day, each (day, version, class) group in one confidence bin.
  const random = seededRandom(365);
  const tally = new CounterTally();
  for (let day = 0; day < YEAR_DAYS; day++) {
    for (const versionId of versionIds) {
      for (const label of testClasses) tally.add({ day: dayName(day), versionId, label, confidence: random() }, 1 + Math.floor(random() * 20));
    }
  }
  rows = tally.rows();
  await insertCounterRows(t, rows);

  // Labels point at a picture; the analytics never read it, so one shared picture is enough.
  const pictureId = await t.run((ctx) =>
    ctx.db.insert("pictures", { uploaderId: admin.userId, fileName: "labelled.jpg", contentType: "image/jpeg", storageMode: "none", status: "classified", attempts: 1, labelled: true }),
  );
  labels = [];
  for (let day = 0; day < YEAR_DAYS; day++) {
    const today = Array.from({ length: Math.floor(((day + 1) * LABELS) / YEAR_DAYS) - Math.floor((day * LABELS) / YEAR_DAYS) }, () => {
      const predicted = testClasses[Math.floor(random() * testClasses.length)];
      return { day, version: Math.floor(random() * VERSIONS), predicted, confirmed: random() < 0.8 ? predicted : testClasses[Math.floor(random() * testClasses.length)] };
    });
    const activation = Math.floor((day * ACTIVATIONS) / YEAR_DAYS) !== Math.floor(((day + 1) * ACTIVATIONS) / YEAR_DAYS);
    const rollback = Math.floor((day * ROLLBACKS) / YEAR_DAYS) !== Math.floor(((day + 1) * ROLLBACKS) / YEAR_DAYS);
    setClock(dayStart(day) + 15 * 3_600_000);
    await t.run(async (ctx) => {
      for (const label of today) {
        await ctx.db.insert("labels", { pictureId, labellerId: admin.userId, label: label.confirmed, predictedLabel: label.predicted, verdict: label.confirmed === label.predicted ? "accepted" : "corrected", versionId: versionIds[label.version] });
      }
      if (activation) await ctx.db.insert("auditLog", { actorId: admin.userId, action: "activateVersion", toVersionId: versionIds[day % VERSIONS], reason: "retrained", at: Date.now() });
      if (rollback) await ctx.db.insert("auditLog", { actorId: admin.userId, action: "rollback", toVersionId: versionIds[(day + 1) % VERSIONS], reason: "worse", at: Date.now() });
    });
    labels.push(...today);
  }
  setClock(YEAR_START_MS + YEAR_DAYS * DAY_MS);
});

afterAll(() => {
  vi.useRealTimers();
});

function resolved(range: DayRange): ResolvedDayRange {
  const result = resolveDayRange(range);
  if (typeof result === "string") throw new Error(result);
  return result;
}

/** The counter rows a query over `range` reads for one scope (a version, or all versions together when versionId is null). */
function rowsOf(kind: "class" | "confidence", range: DayRange, versionId: Id<"modelVersions"> | null | "every"): CounterRow[] {
  const { dayRanges, monthRange } = splitIntoMonths(resolved(range));
  const inScope = (row: CounterRow) => versionId === "every" || (row.versionId ?? null) === versionId;
  return rows.filter(
    (row) =>
      row.kind === kind &&
      inScope(row) &&
      (row.period === "day"
        ? dayRanges.some((days) => row.bucket >= days.from && row.bucket <= days.to)
        : monthRange !== null && row.bucket >= monthRange.from && row.bucket <= monthRange.to),
  );
}

function totalsByKey(selected: CounterRow[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const row of selected) totals.set(row.key, (totals.get(row.key) ?? 0) + row.count);
  return totals;
}

const WHOLE_YEAR = { from: "2026-01-01", to: "2026-12-31" };
/** Partial months at both ends, as long as a range can be: 59 days of day rows and 10 whole months. */
const ODD_RANGE = { from: "2026-01-02", to: "2026-12-30" };
const INSIDE_ONE_MONTH = { from: "2026-02-03", to: "2026-02-25" };
/** 366 days, starting the day before the year's data. */
const LONGEST_RANGE = { from: "2025-12-31", to: "2026-12-31" };
const RANGES = { "whole year": WHOLE_YEAR, "partial months at both ends": ODD_RANGE, "inside one month": INSIDE_ONE_MONTH, "366 days": LONGEST_RANGE };

describe(`a year of counters × ${testClasses.length} classes × ${VERSIONS} versions`, () => {
  test("the seeded rows are what a year of classifications leaves", () => {
    // Per day: (12 class + up to 10 confidence keys) × (20 versions + all versions); per month the same.
    expect(rows.filter((row) => row.period === "day" && row.kind === "class")).toHaveLength(YEAR_DAYS * testClasses.length * (VERSIONS + 1));
    expect(rows.length).toBeGreaterThan(150_000);
    console.log(`[seed] ${rows.length} counter rows, ${labels.length} labels`);
  });

  for (const [name, range] of Object.entries(RANGES)) {
    test(`classDistribution over ${name} (${range.from} to ${range.to}), without and with a version`, async () => {
      const every = rowsOf("class", range, "every");
      const { result, reads } = await measured(`analytics.classDistribution, every version, ${name}`, () => analyst.query(api.analytics.classDistribution, range));
      const expected = totalsByKey(rowsOf("class", range, null));
      expect(result.counts).toEqual([...expected].map(([label, count]) => ({ label, count })).sort((a, b) => b.count - a.count || a.label.localeCompare(b.label)));
      expect(result.byVersion).toHaveLength(VERSIONS);
      expect(result.byVersion.reduce((sum, version) => sum + version.total, 0)).toBe(result.total);
      expect(every.length).toBeLessThanOrEqual(MAX_COUNTER_ROWS);
      expect(reads.total.documentsRead).toBe(1 + every.length + VERSIONS);

      const versionId = versionIds[7];
      const one = await measured(`analytics.classDistribution, one version, ${name}`, () => analyst.query(api.analytics.classDistribution, { ...range, versionId }));
      expect(new Map(one.result.counts.map((count) => [count.label, count.count]))).toEqual(totalsByKey(rowsOf("class", range, versionId)));
      expect(one.reads.total.documentsRead).toBe(1 + rowsOf("class", range, versionId).length + 1);
    });

    test(`confidenceHistogram over ${name}, without and with a version`, async () => {
      for (const versionId of [undefined, versionIds[3]]) {
        const { result, reads } = await measured(`analytics.confidenceHistogram, ${versionId ? "one version" : "every version"}, ${name}`, () =>
          analyst.query(api.analytics.confidenceHistogram, { ...range, ...(versionId ? { versionId } : {}) }),
        );
        const selected = rowsOf("confidence", range, versionId ?? null);
        const expected = totalsByKey(selected);
        expect(result.bins).toHaveLength(CONFIDENCE_BINS);
        expect(result.bins.map((bin) => bin.count)).toEqual(Array.from({ length: CONFIDENCE_BINS }, (_, bin) => expected.get(String(bin)) ?? 0));
        expect(reads.total.documentsRead).toBe(1 + selected.length);
      }
    });
  }

  test("timeSeries over the whole year and over partial months, with the year's activations", async () => {
    for (const [name, range] of [["whole year", WHOLE_YEAR], ["partial months", { from: "2026-03-15", to: "2026-08-20" }]] as const) {
      for (const versionId of [undefined, versionIds[11]]) {
        const { result, reads } = await measured(`analytics.timeSeries, ${versionId ? "one version" : "every version"}, ${name}`, () =>
          analyst.query(api.analytics.timeSeries, { ...range, ...(versionId ? { versionId } : {}) }),
        );
        const days = resolved(range).dayCount;
        expect(result.days).toHaveLength(days);
        expect(result.series).toHaveLength(testClasses.length);
        const dayRows = rows.filter((row) => row.period === "day" && row.kind === "class" && (row.versionId ?? null) === (versionId ?? null) && row.bucket >= range.from && row.bucket <= range.to);
        expect(result.series.reduce((sum, series) => sum + series.counts.reduce((a, b) => a + b, 0), 0)).toBe(dayRows.reduce((sum, row) => sum + row.count, 0));
        const markers = result.markers.length;
        if (range === WHOLE_YEAR) expect(markers).toBe(ACTIVATIONS + ROLLBACKS);
        // Caller, the range's day rows, the markers' audit entries and the versions they name.
        expect(reads.total.documentsRead).toBeLessThanOrEqual(1 + dayRows.length + markers + VERSIONS);
      }
    }
  });

  test("predictedVsConfirmed: a year of labels is cut at its read limit and says so; a shorter range is whole", async () => {
    const year = await measured("analytics.predictedVsConfirmed, whole year", () => analyst.query(api.analytics.predictedVsConfirmed, WHOLE_YEAR));
    expect(year.result).toMatchObject({ truncated: true, total: MAX_LABELS_READ });
    expect(year.reads.total.documentsRead).toBe(1 + MAX_LABELS_READ + 1);

    const range = { from: "2026-04-10", to: "2026-06-05" };
    const { result, reads } = await measured("analytics.predictedVsConfirmed, one version, partial months", () =>
      analyst.query(api.analytics.predictedVsConfirmed, { ...range, versionId: versionIds[5] }),
    );
    const from = Math.round((Date.UTC(2026, 3, 10) - YEAR_START_MS) / DAY_MS);
    const to = Math.round((Date.UTC(2026, 5, 5) - YEAR_START_MS) / DAY_MS);
    const expected = labels.filter((label) => label.day >= from && label.day <= to && label.version === 5);
    expect(result).toMatchObject({ truncated: false, total: expected.length });
    expect(result.cells.reduce((sum, cell) => sum + cell.count, 0)).toBe(expected.length);
    expect(reads.total.documentsRead).toBe(1 + expected.length);
  });

  test("drift between two windows (partial months), without and with a version", async () => {
    const a = { from: "2026-01-01", to: "2026-03-31" };
    const b = { from: "2026-10-15", to: "2026-12-31" };
    for (const versionId of [undefined, versionIds[19]]) {
      const { result, reads } = await measured(`analytics.drift, ${versionId ? "one version" : "every version"}, Q1 against 15 Oct to 31 Dec`, () =>
        analyst.query(api.analytics.drift, { a, b, ...(versionId ? { versionId } : {}) }),
      );
      const rowsA = rowsOf("class", a, versionId ?? null);
      const rowsB = rowsOf("class", b, versionId ?? null);
      expect(result.totalA).toBe(rowsA.reduce((sum, row) => sum + row.count, 0));
      expect(result.totalB).toBe(rowsB.reduce((sum, row) => sum + row.count, 0));
      expect(result.perClass).toHaveLength(testClasses.length);
      expect(result.jensenShannon).not.toBeNull();
      expect(reads.total.documentsRead).toBe(1 + rowsA.length + rowsB.length + (versionId ? 1 : 0));
    }
  });
});
