/**
 * A year of History: 200,000 classified pictures (features stored), 1%
 * labelled, five versions (one answered for two days), one rare class.
 * Every filter is paged and checked against the seeded set: each matching
 * picture exactly once, newest first, every page within its read bound.
 *
 * Read bounds (documents per call): a page read straight from its index is
 * its pictures plus the caller's user document (numItems + 1); a page whose
 * filter applies after the index reads FILTER_SCAN_ROWS pictures however
 * few match (FILTER_SCAN_ROWS + 1). Image URLs are not document reads.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { FILTER_SCAN_ROWS, MAX_PAGE_SIZE, MAX_REVIEW_QUEUE } from "../../convex/pictures";
import { asUser, type Backend, type UserClient } from "../convex/harness";
import { makeTestModel, sampleFeatures, storeImage, testClasses } from "../convex/fixtures";
import { activateDirectly, seedVersion } from "../../tools/convexTest/seedVersions";
import { readsOf, type CallReads } from "../../tools/convexTest/transactionReads";
import { planHistory, RARE_CLASS, seedHistory, SHORT_LIVED_VERSION, VERSION_COUNT, type SeededPicture } from "./historyData";
import { measured, printCalls } from "./readReport";
import { DAY_MS, setClock, YEAR_DAYS, YEAR_START_MS, yearBackend } from "./scaleSeed";

const PICTURES = 200_000;
const UPLOADERS = 5;
/** A picture document is about 420 bytes; 1 KB each bounds a page's bytes with room for long file names. */
const PICTURE_BYTES_BOUND = 1024;
/** The class used for filters combined with others: 2.8% of pictures, so a combined filter skips thousands of rows. */
const MID_CLASS = testClasses[9];

type Filter = { classLabel?: string; versionId?: Id<"modelVersions">; labelled?: boolean; from?: number; to?: number };

let t: Backend;
let viewer: UserClient;
let labeller: Awaited<ReturnType<typeof asUser>>;
let versions: Array<{ versionId: Id<"modelVersions">; number: number }>;
let seeded: SeededPicture[];

beforeAll(async () => {
  t = await yearBackend("date only");
  versions = [];
  // The real MLP's shape (512 → 256 → 128 → 12): its weights are what a classification reads.
  for (let i = 0; i < VERSION_COUNT; i++) versions.push(await seedVersion(t, makeTestModel({ seed: i + 1, name: `year-v${i + 1}`, hidden: [256, 128] })));
  const uploaders = [];
  for (let i = 0; i < UPLOADERS; i++) uploaders.push((await asUser(t, "labeller")).userId);
  labeller = await asUser(t, "labeller");
  viewer = (await asUser(t, "analyst")).client;
  const started = performance.now();
  seeded = await seedHistory(t, planHistory(PICTURES, UPLOADERS), { versions, uploaders, labeller: labeller.userId });
  console.log(`[seed] ${seeded.length} pictures with features and classifications in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  await activateDirectly(t, versions[VERSION_COUNT - 1].versionId);
  setClock(YEAR_START_MS + YEAR_DAYS * DAY_MS);
});

afterAll(() => {
  vi.useRealTimers();
});

function expectedFor(filter: Filter): Id<"pictures">[] {
  return seeded
    .filter(
      (picture) =>
        (filter.classLabel === undefined || picture.classLabel === filter.classLabel) &&
        (filter.versionId === undefined || versions[picture.version].versionId === filter.versionId) &&
        (filter.labelled === undefined || (picture.confirmedLabel !== undefined) === filter.labelled) &&
        (filter.from === undefined || picture.creationTime >= filter.from) &&
        (filter.to === undefined || picture.creationTime <= filter.to),
    )
    .sort((a, b) => b.creationTime - a.creationTime)
    .map((picture) => picture.pictureId);
}

/** Pages with the client's loop (follow continueCursor until isDone), at most maxPages. */
async function pageThrough(filter: Filter, maxPages = Number.POSITIVE_INFINITY) {
  const ids: Id<"pictures">[] = [];
  const pages: CallReads[] = [];
  let cursor: string | null = null;
  let isDone = false;
  let emptyPages = 0;
  while (!isDone && pages.length < maxPages) {
    const { result, reads } = await readsOf(() => viewer.query(api.pictures.list, { filter, paginationOpts: { numItems: MAX_PAGE_SIZE, cursor } }));
    ids.push(...result.page.map((picture) => picture._id));
    if (result.page.length === 0) emptyPages += 1;
    pages.push(reads);
    cursor = result.continueCursor;
    isDone = result.isDone;
  }
  return { ids, pages, isDone, emptyPages };
}

function describeFilter(filter: Filter): string {
  const parts = [];
  if (filter.classLabel !== undefined) parts.push(`classLabel ${filter.classLabel === RARE_CLASS ? "rare" : "mid"} "${filter.classLabel}"`);
  if (filter.versionId !== undefined) parts.push(`version v${versions.find((version) => version.versionId === filter.versionId)!.number}`);
  if (filter.labelled !== undefined) parts.push(`labelled ${filter.labelled}`);
  if (filter.from !== undefined) parts.push("date range");
  return parts.length === 0 ? "no filter" : parts.join(" + ");
}

describe(`History over a year: ${PICTURES.toLocaleString("en")} pictures`, () => {
  const shortLived = () => versions[SHORT_LIVED_VERSION].versionId;
  const walks: Array<{ name: string; filter: () => Filter; residual: boolean }> = [
    { name: "rare class", filter: () => ({ classLabel: RARE_CLASS }), residual: false },
    { name: "version answering two days", filter: () => ({ versionId: shortLived() }), residual: false },
    { name: "labelled", filter: () => ({ labelled: true }), residual: false },
    { name: "class + version", filter: () => ({ classLabel: MID_CLASS, versionId: shortLived() }), residual: true },
    { name: "rare class + version", filter: () => ({ classLabel: RARE_CLASS, versionId: versions[0].versionId }), residual: true },
    { name: "class + labelled", filter: () => ({ classLabel: MID_CLASS, labelled: true }), residual: true },
    { name: "version + labelled", filter: () => ({ versionId: shortLived(), labelled: true }), residual: true },
    { name: "version + unlabelled", filter: () => ({ versionId: shortLived(), labelled: false }), residual: true },
    { name: "class + version + unlabelled", filter: () => ({ classLabel: MID_CLASS, versionId: shortLived(), labelled: false }), residual: true },
    {
      name: "date range starting and ending inside a day's uploads",
      filter: () => {
        const byTime = [...seeded].sort((a, b) => a.creationTime - b.creationTime);
        const firstOfDay = byTime.findIndex((picture) => picture.day === 100);
        const lastOfDay = byTime.findIndex((picture) => picture.day === 104);
        return { from: byTime[firstOfDay + 137].creationTime, to: byTime[lastOfDay + 200].creationTime };
      },
      residual: false,
    },
  ];

  for (const walk of walks) {
    test(`${walk.name}: every match exactly once, newest first, bounded reads per page`, async () => {
      const filter = walk.filter();
      const expected = expectedFor(filter);
      const { ids, pages, isDone, emptyPages } = await pageThrough(filter);
      expect(isDone).toBe(true);
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toEqual(expected);
      const documentsBound = (walk.residual ? FILTER_SCAN_ROWS : MAX_PAGE_SIZE) + 1;
      for (const page of pages) {
        expect(page.transactions).toHaveLength(1);
        expect(page.total.documentsRead).toBeLessThanOrEqual(documentsBound);
        expect(page.total.bytesRead).toBeLessThanOrEqual(documentsBound * PICTURE_BYTES_BOUND);
      }
      printCalls(`pictures.list ${describeFilter(filter)}`, pages, `${expected.length} matches in ${pages.length} pages (${emptyPages} empty), bound ${documentsBound} documents`);
    });
  }

  // Paging all 200,000 (or 198,000 unlabelled, or a version's 50,000) would take 500 to 2,000 calls, each about 1.5 s
  // under convex-test (its every query scans the whole table in memory): the first pages are checked here, and the
  // walks above page their whole filter through the same indexes.
  const FIRST_PAGES = 10;
  for (const [name, filter] of [
    ["no filter", (): Filter => ({})],
    ["unlabelled", (): Filter => ({ labelled: false })],
    ["version answering 100 days", (): Filter => ({ versionId: versions[3].versionId })],
    ["common class", (): Filter => ({ classLabel: testClasses[0] })],
  ] as const) {
    test(`${name}: the first ${FIRST_PAGES} pages hold the newest ${FIRST_PAGES * MAX_PAGE_SIZE} matches exactly once, bounded reads`, async () => {
      const { ids, pages } = await pageThrough(filter(), FIRST_PAGES);
      expect(ids).toEqual(expectedFor(filter()).slice(0, FIRST_PAGES * MAX_PAGE_SIZE));
      for (const page of pages) expect(page.total.documentsRead).toBeLessThanOrEqual(MAX_PAGE_SIZE + 1);
      printCalls(`pictures.list ${describeFilter(filter())} (first ${FIRST_PAGES} pages)`, pages, `${expectedFor(filter()).length} matches`);
    });
  }

  test("the review queue: the least confident unlabelled pictures, bounded reads", async () => {
    const { result, reads } = await measured("pictures.reviewQueue limit 100", () => labeller.client.query(api.pictures.reviewQueue, { limit: MAX_REVIEW_QUEUE }));
    const expected = seeded
      .filter((picture) => picture.confirmedLabel === undefined)
      .sort((a, b) => a.confidence - b.confidence || a.creationTime - b.creationTime)
      .slice(0, MAX_REVIEW_QUEUE)
      .map((picture) => picture.pictureId);
    expect(result.map((picture) => picture._id)).toEqual(expected);
    expect(reads.total.documentsRead).toBeLessThanOrEqual(MAX_REVIEW_QUEUE + 1);
  });

  test("pictures.get by id and by a garbage id", async () => {
    const picture = seeded.find((candidate) => candidate.confirmedLabel !== undefined && candidate.confirmedLabel !== candidate.label)!;
    const { result, reads } = await measured("pictures.get (a corrected picture)", () => viewer.query(api.pictures.get, { pictureId: picture.pictureId }));
    expect(result).toMatchObject({ picture: { _id: picture.pictureId, confirmedLabel: picture.confirmedLabel }, label: { label: picture.confirmedLabel, verdict: "corrected" } });
    // The caller, the picture, its classification, its version, its label.
    expect(reads.total.documentsRead).toBeLessThanOrEqual(5);
    for (const garbage of ["not-an-id", `${picture.pictureId.slice(0, -3)}xyz`, versions[0].versionId]) {
      const missing = await measured(`pictures.get ("${garbage.slice(0, 12)}…")`, () => viewer.query(api.pictures.get, { pictureId: garbage }));
      expect(missing.result).toBeNull();
      expect(missing.reads.total.documentsRead).toBeLessThanOrEqual(2);
    }
  });

  test("a new picture recorded and classified against a year of data: reads per classification", async () => {
    const storageId = await storeImage(t);
    const recorded = await measured("pictures.record", () =>
      labeller.client.mutation(api.pictures.record, { storageId, fileName: "new.jpg", contentType: "image/jpeg" }),
    );
    const pictureId = recorded.result;
    const { result, reads } = await measured("classifications.classify", () =>
      labeller.client.action(api.classifications.classify, { pictureId, clipFeatures: sampleFeatures(424242) }),
    );
    expect(result.versionId).toBe(versions[VERSION_COUNT - 1].versionId);
    // caller, active version, settings, begin (picture, rate limit, features), weights chunks, store (picture, version, 8 counters): a few dozen.
    expect(reads.total.documentsRead).toBeLessThanOrEqual(50);
    expect(reads.largest.bytesRead).toBeLessThanOrEqual(2 * 1024 * 1024);
    const first = await viewer.query(api.pictures.list, { filter: {}, paginationOpts: { numItems: 1, cursor: null } });
    expect(first.page[0]).toMatchObject({ _id: pictureId, status: "classified", label: result.label });
  });

  test("labels.set and pictures.remove on pictures among 200,000: bounded reads, lists follow", async () => {
    const unlabelled = seeded.filter((picture) => picture.confirmedLabel === undefined && picture.label === MID_CLASS).at(-1)!;
    const labelled = await measured("labels.set", () => labeller.client.mutation(api.labels.set, { pictureId: unlabelled.pictureId, label: RARE_CLASS }));
    expect(labelled.result).toEqual({ verdict: "corrected", labelledSet: "added" });
    expect(labelled.reads.total.documentsRead).toBeLessThanOrEqual(40);
    const rare = await viewer.query(api.pictures.list, { filter: { classLabel: RARE_CLASS }, paginationOpts: { numItems: 1, cursor: null } });
    expect(rare.page[0]).toMatchObject({ _id: unlabelled.pictureId, labelled: true, confirmedLabel: RARE_CLASS });

    const labelledPicture = seeded.filter((picture) => picture.confirmedLabel !== undefined).at(-1)!;
    const admin = await asUser(t, "admin");
    const removed = await measured("pictures.remove (a labelled picture)", () => admin.client.mutation(api.pictures.remove, { pictureId: labelledPicture.pictureId }));
    expect(removed.result).toBeNull();
    expect(removed.reads.total.documentsRead).toBeLessThanOrEqual(50);
    expect(await viewer.query(api.pictures.get, { pictureId: labelledPicture.pictureId })).toBeNull();
    const stillLabelled = await viewer.query(api.pictures.list, { filter: { labelled: true }, paginationOpts: { numItems: MAX_PAGE_SIZE, cursor: null } });
    expect(stillLabelled.page.map((picture) => picture._id)).not.toContain(labelledPicture.pictureId);
    expect(stillLabelled.page.map((picture) => picture._id)).toContain(unlabelled.pictureId);
  });
});
