/**
 * Suspect labels by confident learning (Northcutt, Jiang & Chuang, "Confident
 * Learning: Estimating Uncertainty in Dataset Labels", JAIR 70, 2021).
 *
 * Input: each item's out-of-sample class probabilities p (count × classes,
 * row-major) and its given label. Per class j the threshold t_j is the
 * class's self-confidence, the mean of p_j over the items labelled j. An
 * item's confident class is the most probable among the classes whose
 * probability reaches their threshold (p_j ≥ t_j); the item is counted in
 * the confident joint C[given][confident], and flagged when its confident
 * class is not its given label (an off-diagonal entry of C, the paper's
 * "C_confusion"/confident-joint off-diagonal method). An item whose given
 * class also clears its threshold and is more probable than every rival is
 * therefore not flagged, which is stricter than "some other class clears its
 * threshold".
 *
 * Ranking score of a flagged item: p_suspected − p_given, in [−1, 1] (the
 * margin by which the suspected class beats the given one; negative when
 * the given class is more probable but misses its own, higher threshold).
 * Flagged items are listed by descending score, ties by index.
 *
 * The probabilities must be out-of-sample (k-fold, softmaxRegression.ts):
 * a model that saw an item's label in training echoes it back, and its
 * errors stop showing. Averaging registered versions' outputs
 * (averageVersionProbabilities) avoids training but is in-sample for any
 * item those versions were trained on, so the result carries its source.
 */
import { InputProblemsError } from "./inputProblems.ts";

export type ProbabilitySource =
  /** k-fold cross-fitted probabilities: each item scored by a model that never saw it. */
  | "out-of-fold"
  /** The mean of registered versions' outputs: no training, but in-sample for items the versions learned from. */
  | "version-average";

export interface SuspectLabel {
  /** Row of the item in the input. */
  index: number;
  givenLabel: number;
  suspectedLabel: number;
  givenProbability: number;
  suspectedProbability: number;
  /** p_suspected − p_given; higher is more suspicious. */
  score: number;
}

export interface ClassSuspects {
  classIndex: number;
  /** Items given this label. */
  labelled: number;
  /** Self-confidence threshold t_j; null when no item has this label (the class is then never suspected). */
  threshold: number | null;
  /** Items given this label and flagged. */
  flagged: number;
  /** Flagged items whose suspected label is this class. */
  suspectedAs: number;
}

export interface SuspectReport {
  source: ProbabilitySource;
  itemCount: number;
  classCount: number;
  /** Flagged items, most suspicious first. */
  suspects: SuspectLabel[];
  perClass: ClassSuspects[];
  /**
   * Confident joint C[given][confident] (classes × classes, row-major); items
   * with no class above its threshold are in no cell.
   */
  confidentJoint: Int32Array;
}

export class LabelErrorsInputError extends InputProblemsError {
  constructor(problems: string[]) {
    super(problems, "LabelErrorsInputError");
  }
}

/** First few bad positions of one kind plus a total, so a huge input still gives a readable message. */
function collectBad(problems: string[], count: number, describe: (position: number) => string | null): void {
  let bad = 0;
  for (let i = 0; i < count; i++) {
    const problem = describe(i);
    if (problem === null) continue;
    if (bad < 3) problems.push(problem);
    bad++;
  }
  if (bad > 3) problems.push(`… ${bad} such problems in all`);
}

function checkInput(probabilities: ArrayLike<number>, labels: ArrayLike<number>, classCount: number): void {
  const problems: string[] = [];
  if (!Number.isSafeInteger(classCount) || classCount < 2) throw new LabelErrorsInputError([`classCount must be an integer ≥ 2, got ${classCount}`]);
  const count = labels.length;
  if (probabilities.length !== count * classCount) {
    problems.push(`probabilities has ${probabilities.length} values; ${count} labels × ${classCount} classes need ${count * classCount}`);
  }
  collectBad(problems, count, (i) => {
    const label = labels[i];
    return Number.isInteger(label) && label >= 0 && label < classCount ? null : `labels[${i}] = ${label} is not a class index in 0..${classCount - 1}`;
  });
  if (problems.length === 0) {
    collectBad(problems, count, (i) => {
      let sum = 0;
      for (let c = 0; c < classCount; c++) {
        const p = probabilities[i * classCount + c];
        if (!(p >= 0 && p <= 1)) return `probabilities of row ${i}, class ${c} is ${p}, not a probability in [0, 1]`;
        sum += p;
      }
      return Math.abs(sum - 1) <= 1e-3 ? null : `probabilities of row ${i} sum to ${sum.toFixed(6)}, not 1`;
    });
  }
  if (problems.length > 0) throw new LabelErrorsInputError(problems);
}

/** Per-class self-confidence thresholds; NaN for a class no item is labelled with. */
export function selfConfidenceThresholds(probabilities: ArrayLike<number>, labels: ArrayLike<number>, classCount: number): Float64Array {
  const sums = new Float64Array(classCount);
  const counts = new Float64Array(classCount);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    sums[label] += probabilities[i * classCount + label];
    counts[label]++;
  }
  const thresholds = new Float64Array(classCount);
  for (let c = 0; c < classCount; c++) thresholds[c] = counts[c] > 0 ? sums[c] / counts[c] : NaN;
  return thresholds;
}

/** Confident learning over out-of-sample probabilities; see the module comment for the rule and the score. */
export function findSuspectLabels(probabilities: ArrayLike<number>, labels: ArrayLike<number>, classCount: number, source: ProbabilitySource): SuspectReport {
  checkInput(probabilities, labels, classCount);
  const count = labels.length;
  const thresholds = selfConfidenceThresholds(probabilities, labels, classCount);
  const confidentJoint = new Int32Array(classCount * classCount);
  const labelled = new Int32Array(classCount);
  const flagged = new Int32Array(classCount);
  const suspectedAs = new Int32Array(classCount);
  const suspects: SuspectLabel[] = [];
  for (let i = 0; i < count; i++) {
    const at = i * classCount;
    const given = labels[i];
    labelled[given]++;
    let confident = -1;
    let best = -Infinity;
    for (let c = 0; c < classCount; c++) {
      const p = probabilities[at + c];
      // NaN thresholds (unlabelled classes) fail the comparison, so those classes are never confident.
      if (p >= thresholds[c] && p > best) {
        best = p;
        confident = c;
      }
    }
    if (confident < 0) continue;
    confidentJoint[given * classCount + confident]++;
    if (confident === given) continue;
    flagged[given]++;
    suspectedAs[confident]++;
    const givenProbability = probabilities[at + given];
    suspects.push({ index: i, givenLabel: given, suspectedLabel: confident, givenProbability, suspectedProbability: best, score: best - givenProbability });
  }
  suspects.sort((a, b) => b.score - a.score || a.index - b.index);
  const perClass: ClassSuspects[] = [];
  for (let c = 0; c < classCount; c++) {
    perClass.push({ classIndex: c, labelled: labelled[c], threshold: Number.isNaN(thresholds[c]) ? null : thresholds[c], flagged: flagged[c], suspectedAs: suspectedAs[c] });
  }
  return { source, itemCount: count, classCount, suspects, perClass, confidentJoint };
}

export interface VersionProbabilities {
  /** For messages: the version's label, e.g. `v3 "name"`. */
  version: string;
  classes: readonly string[];
  /** count × classes.length, row-major, in the version's own class order. */
  probabilities: ArrayLike<number>;
}

/**
 * The "no training" alternative: the mean of several registered versions'
 * probabilities, re-ordered to `classes`. Every version must know exactly the
 * same classes (in any order) and score the same items. The result is NOT
 * out-of-sample for items a version was trained on; pass it to
 * findSuspectLabels with source "version-average".
 */
export function averageVersionProbabilities(versions: readonly VersionProbabilities[], classes: readonly string[], count: number): Float64Array {
  const problems: string[] = [];
  if (versions.length === 0) throw new LabelErrorsInputError(["no versions to average"]);
  const wanted = new Set(classes);
  const positions: number[][] = [];
  for (const version of versions) {
    const own = new Set(version.classes);
    const missing = classes.filter((name) => !own.has(name));
    const extra = version.classes.filter((name) => !wanted.has(name));
    if (missing.length > 0 || extra.length > 0 || own.size !== version.classes.length) {
      const parts = [missing.length > 0 ? `lacks ${missing.join(", ")}` : "", extra.length > 0 ? `has extra ${extra.join(", ")}` : "", own.size !== version.classes.length ? "lists a class twice" : ""].filter(Boolean);
      problems.push(`${version.version} does not share the classes (${parts.join("; ")}); expected exactly ${classes.join(", ")}`);
    }
    if (version.probabilities.length !== count * version.classes.length) {
      problems.push(`${version.version} has ${version.probabilities.length} probabilities; ${count} items × ${version.classes.length} classes need ${count * version.classes.length}`);
    }
    positions.push(classes.map((name) => version.classes.indexOf(name)));
  }
  if (problems.length > 0) throw new LabelErrorsInputError(problems);
  const k = classes.length;
  const mean = new Float64Array(count * k);
  versions.forEach((version, v) => {
    const order = positions[v];
    const source = version.probabilities;
    for (let i = 0; i < count; i++) for (let c = 0; c < k; c++) mean[i * k + c] += source[i * k + order[c]];
  });
  for (let i = 0; i < mean.length; i++) mean[i] /= versions.length;
  return mean;
}
