/**
 * `npx tsx tools/bench/evidenceTimings.ts [--items N] [--stored N] [--json]`:
 * one-off wall-clock figures for the evidence computations at the sizes the
 * product expects, to judge whether they fit a Convex action (10 minutes,
 * 64 MiB, one thread). Not a benchmark stage: nothing here is compared
 * against a reference, and no test times it.
 *
 * Data are synthetic embeddings (512-d, full rank: overlapping class means
 * plus correlated noise, 5% of labels wrong), which make L-BFGS and power
 * iteration work at least as hard as real CLIP features would.
 */
import { cpus } from "node:os";
import { CliError, parseCommandArgs, processIo, type CliIo } from "../cliKit.ts";
import { isStartedScript } from "../startedScript.ts";
import { accumulateCovariance, covarianceOf, createCovarianceAccumulator, principalComponents, projectRows } from "../../convex/lib/embeddingProjection.ts";
import { findSuspectLabels } from "../../convex/lib/labelErrors.ts";
import { seededRandom } from "../../convex/lib/seededRandom.ts";
import { assignFolds, outOfFoldProbabilities, runFold } from "../../convex/lib/softmaxRegression.ts";

const DIM = 512;
const CLASSES = 12;

/** Overlapping classes, and 5% of the labels replaced by a random other class, so L-BFGS runs to its iteration cap as on real data. */
function syntheticEmbeddings(count: number, seed: number): { features: Float32Array; labels: Int32Array } {
  const random = seededRandom(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const means = Array.from({ length: CLASSES }, () => Float32Array.from({ length: DIM }, () => 0.04 * gaussian()));
  const mixing = Array.from({ length: 16 }, () => Float32Array.from({ length: DIM }, () => gaussian() / 4));
  const features = new Float32Array(count * DIM);
  const labels = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    const label = r % CLASSES;
    labels[r] = random() < 0.05 ? (label + 1 + Math.floor(random() * (CLASSES - 1))) % CLASSES : label;
    const latent = mixing.map(() => gaussian());
    for (let j = 0; j < DIM; j++) {
      let value = means[label][j] + 0.3 * gaussian();
      for (let k = 0; k < mixing.length; k++) value += latent[k] * mixing[k][j];
      features[r * DIM + j] = value;
    }
  }
  return { features, labels };
}

function seconds(start: number): number {
  return (performance.now() - start) / 1000;
}

export interface EvidenceTimings {
  machine: string;
  suspects: { items: number; folds: number; seconds: number; secondsPerFold: number; iterationsPerFold: number[]; flagged: number };
  oneFoldOf20000: { trainingRows: number; seconds: number; iterations: number };
  pca: { rows: number; accumulateSeconds: number; eigenSeconds: number; projectSeconds: number; iterations: number[] };
}

export function measureEvidenceTimings(items: number, stored: number, io: CliIo): EvidenceTimings {
  const machine = `${cpus()[0]?.model ?? "unknown CPU"}, node ${process.version}`;
  io.stderr(`suspects: ${items} items × ${DIM} features × ${CLASSES} classes, 5 folds`);
  const set = syntheticEmbeddings(items, 1);
  let start = performance.now();
  const { probabilities, reports } = outOfFoldProbabilities(set.features, DIM, set.labels, CLASSES, { folds: 5, seed: 1 });
  const flagged = findSuspectLabels(probabilities, set.labels, CLASSES, "out-of-fold").suspects.length;
  const suspectsSeconds = seconds(start);

  io.stderr("one fold of a 20,000-item set (16,000 training rows): the unit of one action");
  const large = syntheticEmbeddings(20_000, 2);
  const foldOf = assignFolds(large.labels, CLASSES, 5, 1);
  start = performance.now();
  const fold = runFold(large.features, DIM, large.labels, CLASSES, foldOf, 0);
  const foldSeconds = seconds(start);

  io.stderr(`PCA: ${stored} stored features, paged by 1,000`);
  const page = 1000;
  const accumulator = createCovarianceAccumulator(DIM);
  let accumulateSeconds = 0;
  let projectSeconds = 0;
  const pages: Float32Array[] = [];
  for (let done = 0; done < stored; done += page) pages.push(syntheticEmbeddings(Math.min(page, stored - done), 10 + done).features);
  start = performance.now();
  for (const rows of pages) accumulateCovariance(accumulator, rows);
  accumulateSeconds = seconds(start);
  start = performance.now();
  const { mean, covariance } = covarianceOf(accumulator);
  const pca = principalComponents(mean, covariance);
  const eigenSeconds = seconds(start);
  start = performance.now();
  for (const rows of pages) projectRows(pca, rows);
  projectSeconds = seconds(start);

  return {
    machine,
    suspects: { items, folds: 5, seconds: suspectsSeconds, secondsPerFold: suspectsSeconds / 5, iterationsPerFold: reports.map((r) => r.iterations), flagged },
    oneFoldOf20000: { trainingRows: 16_000, seconds: foldSeconds, iterations: fold.report.iterations },
    pca: { rows: stored, accumulateSeconds, eigenSeconds, projectSeconds, iterations: pca.iterations },
  };
}

export function formatEvidenceTimings(t: EvidenceTimings): string[] {
  return [
    `machine: ${t.machine}`,
    `suspects, ${t.suspects.items} items, ${t.suspects.folds} folds: ${t.suspects.seconds.toFixed(1)} s (${t.suspects.secondsPerFold.toFixed(1)} s per fold; L-BFGS iterations ${t.suspects.iterationsPerFold.join(", ")}; ${t.suspects.flagged} flagged)`,
    `one fold of 20,000 items (${t.oneFoldOf20000.trainingRows} training rows): ${t.oneFoldOf20000.seconds.toFixed(1)} s, ${t.oneFoldOf20000.iterations} iterations`,
    `PCA of ${t.pca.rows} × ${DIM}: covariance pass ${t.pca.accumulateSeconds.toFixed(1)} s, power iteration ${t.pca.eigenSeconds.toFixed(2)} s (iterations ${t.pca.iterations.join(", ")}), projecting every row ${t.pca.projectSeconds.toFixed(1)} s`,
  ];
}

if (isStartedScript(import.meta.url)) {
  const { values } = parseCommandArgs(process.argv.slice(2), { items: { type: "string" }, stored: { type: "string" }, json: { type: "boolean" } });
  const items = Number(values.items ?? 10_000);
  const stored = Number(values.stored ?? 100_000);
  if (!Number.isSafeInteger(items) || items < 10 || !Number.isSafeInteger(stored) || stored < 10) throw new CliError("--items and --stored must be whole numbers ≥ 10");
  const timings = measureEvidenceTimings(items, stored, processIo);
  if (values.json) processIo.stdout(JSON.stringify(timings, null, 2));
  else for (const line of formatEvidenceTimings(timings)) processIo.stdout(line);
}
