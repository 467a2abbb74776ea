/**
 * A labelled set of 10,000 items (512 features each) and the three things
 * that stream it: a comparison, the headline metrics of every version
 * (refreshMetrics → computeMetrics), and activation behind the gate.
 *
 * Read bound per page of the set (one labelledSet.page query): its
 * LABELLED_PAGE_SIZE items, their features documents and the import record
 * (2 × 250 + 1 = 501 documents); a features document is 2 KB of float32
 * plus its fields, an item a few hundred bytes, so a page reads under
 * 250 × 2.5 KB. Pages are one per 250 items, so the whole set is 40 pages.
 */
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { api } from "../../convex/_generated/api";
import type { Id } from "../../convex/_generated/dataModel";
import { LABELLED_PAGE_SIZE } from "../../convex/model/labelledSet";
import { mlpForwardBatch } from "../../convex/lib/mlpForward";
import { seededRandom } from "../../convex/lib/seededRandom";
import { asUser, type Backend } from "../convex/harness";
import { makeTestModel } from "../convex/fixtures";
import { seedLabelledSet } from "../../tools/convexTest/seedLabelledSet";
import { activateDirectly, seedVersion } from "../../tools/convexTest/seedVersions";
import { summarizeTransactions, type CallReads, type TransactionReads } from "../../tools/convexTest/transactionReads";
import { measured, printCalls } from "./readReport";
import { randomFeatures, yearBackend } from "./scaleSeed";

const ITEMS = 10_000;
/** Seeded straight into the tables; the rest arrive through importItems, as an admin's last chunk would. */
const IMPORTED_ITEMS = 200;
const SEED_ITEMS_PER_TRANSACTION = 2_000;
const PAGE_DOCUMENTS_BOUND = 2 * LABELLED_PAGE_SIZE + 1;
const PAGE_BYTES_BOUND = LABELLED_PAGE_SIZE * 2_560;
const PAGES = Math.ceil(ITEMS / LABELLED_PAGE_SIZE);
const IMPORT_NAME = "a year of labelled pictures";

let t: Backend;
let admin: Awaited<ReturnType<typeof asUser>>;
let baseline: { versionId: Id<"modelVersions"> };
let candidate: { versionId: Id<"modelVersions"> };
let older: { versionId: Id<"modelVersions"> };

/** Pages of the set: the transactions that read LABELLED_PAGE_SIZE items (or the last, smaller page). */
function setPages(reads: CallReads): TransactionReads[] {
  return reads.transactions.filter((transaction) => transaction.documentsRead > 100);
}

function expectBoundedPages(reads: CallReads, passes: number): void {
  const pages = setPages(reads);
  expect(pages).toHaveLength(PAGES * passes);
  for (const page of pages) {
    expect(page.documentsRead).toBeLessThanOrEqual(PAGE_DOCUMENTS_BOUND);
    expect(page.bytesRead).toBeLessThanOrEqual(PAGE_BYTES_BOUND);
  }
}

beforeAll(async () => {
  t = await yearBackend("all timers");
  admin = await asUser(t, "admin");
  // The real MLP's shape, 512 → 256 → 128 → 12.
  const candidateModel = makeTestModel({ seed: 22, name: "candidate", hidden: [256, 128] });
  older = await seedVersion(t, makeTestModel({ seed: 20, name: "older", hidden: [256, 128] }));
  baseline = await seedVersion(t, makeTestModel({ seed: 21, name: "baseline", hidden: [256, 128] }));
  candidate = await seedVersion(t, candidateModel);
  await activateDirectly(t, baseline.versionId);

  // Labels are the candidate's own predictions, so it is right on every item and the gate lets it through.
  const random = seededRandom(10);
  const features = Array.from({ length: ITEMS }, () => randomFeatures(random));
  const flat = new Float32Array(ITEMS * 512);
  features.forEach((vector, i) => flat.set(vector, i * 512));
  const labels = mlpForwardBatch(candidateModel, flat, ITEMS).map((prediction) => prediction.label);

  const seededCount = ITEMS - IMPORTED_ITEMS;
  await seedLabelledSet(
    t,
    features.slice(0, seededCount).map((vector, i) => ({ features: vector, label: labels[i] })),
    { name: IMPORT_NAME, importedBy: admin.userId, perTransaction: SEED_ITEMS_PER_TRANSACTION },
  );

  const { result } = await measured(`labelledSet.importItems (${IMPORTED_ITEMS} items into a set of ${seededCount})`, () =>
    admin.client.mutation(api.labelledSet.importItems, {
      name: IMPORT_NAME,
      items: features.slice(seededCount).map((vector, i) => ({ features: Array.from(vector), label: labels[seededCount + i] })),
    }),
  );
  expect(result).toMatchObject({ added: IMPORTED_ITEMS, duplicates: 0, importItemCount: ITEMS });
  // The import schedules a metrics refresh of the active and newest versions; let it finish here, so the
  // cases below measure only their own passes over the set.
  await t.finishAllScheduledFunctions(vi.runAllTimers);
});

afterAll(() => {
  vi.useRealTimers();
});

describe(`a labelled set of ${ITEMS.toLocaleString("en")} items`, () => {
  test("evaluation.compare streams every item once, each page within its bound", async () => {
    const summary = await admin.client.query(api.labelledSet.summary, {});
    expect(summary.total).toBe(ITEMS);
    const { result, reads } = await measured("evaluation.compare", () => admin.client.action(api.evaluation.compare, { candidateId: candidate.versionId }));
    expect(result).toMatchObject({ itemCount: ITEMS, skippedItemCount: 0, baselineIsActive: true, excluded: { itemCount: 0 } });
    expect(result.candidateReport.accuracy).toBe(1);
    expect(result.gate.allowed).toBe(true);
    expect(result.disagreements.length).toBeLessThanOrEqual(100);
    expectBoundedPages(reads, 1);
    printCalls("evaluation.compare, per page of the labelled set (labelledSet.page)", setPages(reads).map((page) => summarizeTransactions([page])));
  });

  test("refreshMetrics: every version's headline metrics over the whole set", async () => {
    const { result, reads } = await measured("evaluation.refreshMetrics, then the scheduled computeMetrics of 3 versions", async () => {
      const scheduled = await admin.client.mutation(api.evaluation.refreshMetrics, {});
      await t.finishAllScheduledFunctions(vi.runAllTimers);
      return scheduled;
    });
    expect(result).toEqual({ scheduled: 3 });
    const versions = await admin.client.query(api.models.list, {});
    expect(versions.map((version) => version.metrics?.itemCount)).toEqual([ITEMS, ITEMS, ITEMS]);
    expect(versions.find((version) => version._id === candidate.versionId)?.metrics?.accuracy).toBe(1);
    expectBoundedPages(reads, 3);
    expect(versions.find((version) => version._id === older.versionId)?.metrics?.accuracy).toBeLessThan(1);
  });

  test("deployment.activate runs the gate over the whole set and moves the pointer", async () => {
    const { result, reads } = await measured("deployment.activate (with the promotion gate)", () =>
      admin.client.action(api.deployment.activate, { versionId: candidate.versionId, reason: "better on the year's labels" }),
    );
    expect(result).toMatchObject({ version: { versionId: candidate.versionId }, gate: { allowed: true, overridden: false, itemCount: ITEMS }, gateSkipped: null });
    expectBoundedPages(reads, 1);
    const choices = await admin.client.query(api.models.choices, {});
    expect(choices.find((choice) => choice.isActive)?._id).toBe(candidate.versionId);
  });
});
