/**
 * Stage 7: the functions whose cost grows with the data, at a year's size.
 *
 * - evaluation.compare over a labelled set of `labelledItems` items (10,000
 *   in a full run) against the same comparison in memory: both models'
 *   batch forward over every item and the same streaming comparison
 *   (convex/lib/labelledEvaluation), with no database in between. The ratio
 *   is what paging the set through Convex costs on top of the arithmetic.
 * - A History page (pictures.list, 100 per page) over `pictures` stored
 *   classifications, plain and with a residual filter (class + labelled,
 *   which scans FILTER_SCAN_ROWS rows), against reading the same number of
 *   picture documents straight off the index: the least any page can read.
 *
 * Every figure carries the documents and bytes read; the History figures'
 * target is Convex's guidance for a list page, 100 KB per transaction.
 */
import { api } from "../../convex/_generated/api";
import { compareOnLabelledSet } from "../../convex/lib/labelledEvaluation.ts";
import { mlpForwardBatch } from "../../convex/lib/mlpForward.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { makeRandomModel } from "../fixtures/randomModel.ts";
import { seedLabelledSet } from "../convexTest/seedLabelledSet.ts";
import { seedVersion } from "../convexTest/seedVersions.ts";
import { readsOf } from "../convexTest/transactionReads.ts";
import { createBenchBackend, storeBenchVersion } from "./benchBackend.ts";
import { benchFeatures, type BenchModel } from "./benchModels.ts";
import { makeFigure, readsPerItem, type BenchFigure } from "./figures.ts";
import { seedLiveClassifications } from "./replayStage.ts";
import { median } from "./timing.ts";

export interface ScaleStageOptions {
  bench: BenchModel;
  labelledItems: number;
  pictures: number;
  /** Timed repetitions of each History page and of the in-memory comparison. */
  runs: number;
}

/** A tenth of an action's 600 s limit: compare must leave room for a slower deployment. */
const COMPARE_TARGET_MS = 60_000;
const LIST_PAGE_BUDGET_BYTES = 100_000;
const HISTORY_PAGE_SIZE = 100;

async function timed<T>(call: () => Promise<T> | T): Promise<{ ms: number; result: T }> {
  const started = performance.now();
  const result = await call();
  return { ms: performance.now() - started, result };
}

async function medianMs(runs: number, call: () => Promise<unknown> | unknown): Promise<number> {
  const samples: number[] = [];
  for (let run = 0; run < runs; run++) samples.push((await timed(call)).ms);
  return median(samples);
}

async function measureCompare({ bench, labelledItems, runs }: ScaleStageOptions): Promise<BenchFigure> {
  const backend = await createBenchBackend(1);
  const dims = [bench.model.layers[0].inDim, ...bench.model.layers.map((layer) => layer.outDim)];
  const candidateModel = makeRandomModel({ dims, seed: 31, name: "bench-candidate", classes: bench.model.classes });
  await storeBenchVersion(backend, bench, { activate: true });
  const candidate = await seedVersion(backend.t, candidateModel, { createdBy: backend.callerIds[0], notes: "benchmark candidate" });
  const dim = dims[0];
  const features = benchFeatures(labelledItems, dim, 17);
  // Mostly the active model's own answers, the rest random: both sides have errors to count.
  const random = seededRandom(41);
  const baselinePredictions = mlpForwardBatch(bench.model, features, labelledItems);
  const labels = baselinePredictions.map((prediction) => (random() < 0.8 ? prediction.label : bench.model.classes[Math.floor(random() * bench.model.classes.length)]));
  await seedLabelledSet(
    backend.t,
    labels.map((label, i) => ({ features: features.subarray(i * dim, (i + 1) * dim), label })),
    { name: "bench labelled set", importedBy: backend.callerIds[0] },
  );

  const compare = () => backend.callers[0].action(api.evaluation.compare, { candidateId: candidate.versionId });
  // One run, measured for reads too: at 10,000 items a run takes tens of seconds.
  const { ms: compareMs, result } = await timed(() => readsOf(compare));
  if (result.result.itemCount !== labelledItems) throw new Error(`evaluation.compare counted ${result.result.itemCount} items, expected ${labelledItems}`);
  const inMemory = () =>
    compareOnLabelledSet({
      labels,
      pictureIds: labels.map(() => null),
      baselineOutputs: mlpForwardBatch(bench.model, features, labelledItems),
      candidateOutputs: mlpForwardBatch(candidateModel, features, labelledItems),
      baselineClasses: bench.model.classes,
      candidateClasses: candidateModel.classes,
      thresholds: {},
      disagreementLimit: 100,
    });
  const reference = inMemory();
  if (reference.candidate.accuracy !== result.result.candidateReport.accuracy) {
    throw new Error(`the in-memory comparison's candidate accuracy ${reference.candidate.accuracy} differs from evaluation.compare's ${result.result.candidateReport.accuracy}; the reference would not be doing the same work`);
  }
  const referenceMs = await medianMs(runs, inMemory);
  return makeFigure({
    id: "scale.compare",
    label: `evaluation.compare in convex-test, ${labelledItems.toLocaleString("en-US")} labelled items`,
    subject: { name: "action, the set paged from the database", ms: compareMs },
    reference: { name: "both forwards + the same comparison in memory", ms: referenceMs },
    target: { kind: "maxMs", value: COMPARE_TARGET_MS },
    values: { items: labelledItems, itemsPerSecond: (1000 * labelledItems) / compareMs },
    reads: readsPerItem(result.reads, "labelled item", labelledItems),
    notes: [`one timed run (read tracking on); the target is a tenth of an action's 600 s limit`],
  });
}

async function measureHistory({ bench, pictures, runs }: ScaleStageOptions): Promise<BenchFigure[]> {
  const backend = await createBenchBackend(1);
  const live = await storeBenchVersion(backend, bench, { activate: true });
  await seedLiveClassifications(backend, live.versionId, bench, pictures);
  const viewer = backend.callers[0];
  const rawPage = () => backend.t.run(async (ctx) => (await ctx.db.query("pictures").order("desc").take(HISTORY_PAGE_SIZE)).length);
  const pages = [
    { id: "scale.historyPage", label: "History page", filter: {} },
    { id: "scale.historyResidualPage", label: "History page, class + labelled filter (residual scan)", filter: { classLabel: bench.model.classes[0], labelled: true } },
  ];
  const referenceMs = await medianMs(runs, rawPage);
  const figures: BenchFigure[] = [];
  for (const page of pages) {
    const list = () => viewer.query(api.pictures.list, { filter: page.filter, paginationOpts: { numItems: HISTORY_PAGE_SIZE, cursor: null } });
    const { result, reads } = await readsOf(list);
    const ms = await medianMs(runs, list);
    figures.push(
      makeFigure({
        id: page.id,
        label: `${page.label}, ${HISTORY_PAGE_SIZE} per page, ${pictures.toLocaleString("en-US")} pictures stored`,
        subject: { name: "pictures.list", ms },
        reference: { name: `${HISTORY_PAGE_SIZE} picture documents off the index`, ms: referenceMs },
        target: { kind: "maxBytesRead", value: LIST_PAGE_BUDGET_BYTES },
        values: { pictures: result.page.length },
        reads: readsPerItem(reads, "page", 1),
        notes: [`${result.page.length} pictures on the page`],
      }),
    );
  }
  return figures;
}

export async function measureScale(options: ScaleStageOptions): Promise<BenchFigure[]> {
  return [await measureCompare(options), ...(await measureHistory(options))];
}
