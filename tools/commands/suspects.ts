import { CliError, parseCommandArgs, progressBar, type CliCommand } from "../cliKit.ts";
import { checkFeatures } from "../../convex/lib/features.ts";
import { averageVersionProbabilities, findSuspectLabels, type SuspectReport } from "../../convex/lib/labelErrors.ts";
import { mlpProbabilitiesBatch } from "../../convex/lib/mlpForward.ts";
import { outOfFoldProbabilities } from "../../convex/lib/softmaxRegression.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { packFeatureRows, parseJsonLines } from "../jsonLines.ts";
import { textTable } from "../textTable.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, readUserFile } from "../weightsFile.ts";

export interface SuspectsSet {
  dim: number;
  count: number;
  /** count × dim, row-major. */
  features: Float32Array;
  labels: string[];
  /** The line's "file", when it has one (as `mlp extract` writes). */
  files: (string | null)[];
  /** 1-based line number of each row in the file. */
  lineNumbers: number[];
}

/**
 * Parses SET.jsonl lines `{"features": [...], "label": "...", "file"?: "..."}`.
 * `dim` is the versions' input size, or null to take it from the first line
 * (every other line must match). Every bad line is collected before failing.
 */
export function parseSuspectsSet(text: string, dim: number | null, fileLabel: string): SuspectsSet {
  let expected = dim;
  const { items, lineNumbers } = parseJsonLines(
    text,
    fileLabel,
    (value, report) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        report(`expected an object {"features": [numbers], "label": "class name"}`);
        return null;
      }
      const { features, label, file } = value as { features?: unknown; label?: unknown; file?: unknown };
      if (expected === null && Array.isArray(features)) expected = features.length;
      const featureProblem = expected === null ? `"features" must be an array of numbers, got ${features === undefined ? "nothing" : JSON.stringify(features).slice(0, 40)}` : checkFeatures(features, expected);
      if (featureProblem) report(featureProblem);
      if (typeof label !== "string" || label.trim() === "") report(`"label" must be a class name, got ${label === undefined ? "nothing" : JSON.stringify(label)}`);
      if (file !== undefined && typeof file !== "string") report(`"file" must be a string when given, got ${JSON.stringify(file)}`);
      if (featureProblem || typeof label !== "string" || label.trim() === "" || (file !== undefined && typeof file !== "string")) return null;
      return { features: features as number[], label, file: (file as string | undefined) ?? null };
    },
    `items; expected one {"features": [...], "label": "..."} object per line`,
  );
  const rowDim = expected ?? 0;
  return {
    dim: rowDim,
    count: items.length,
    features: packFeatureRows(items.map((item) => item.features), rowDim),
    labels: items.map((item) => item.label),
    files: items.map((item) => item.file),
    lineNumbers,
  };
}

export interface SuspectsMethod {
  kind: "k-fold" | "versions";
  /** k-fold: folds, seed, l2 and the iteration cap of the softmax head. */
  folds?: number;
  seed?: number;
  l2?: number;
  maxIterations?: number;
  /** versions: the weights files averaged. */
  versions?: string[];
}

export interface SuspectsResult {
  classes: string[];
  method: SuspectsMethod;
  report: SuspectReport;
}

function labelIndices(labels: readonly string[], classes: readonly string[], where: string): Int32Array {
  const index = new Map(classes.map((name, i) => [name, i]));
  const unknown = [...new Set(labels.filter((label) => !index.has(label)))];
  if (unknown.length > 0) throw new CliError(`${where}: label${unknown.length === 1 ? "" : "s"} ${unknown.map((l) => `"${l}"`).join(", ")} ${unknown.length === 1 ? "is" : "are"} not a class of the versions (${classes.join(", ")})`);
  return Int32Array.from(labels, (label) => index.get(label)!);
}

export interface FoldOptions {
  folds: number;
  seed: number;
  l2: number;
  maxIterations: number;
  /** Called as training iterations finish: (done, total) over all folds. */
  onProgress?: (done: number, total: number) => void;
}

/** Out-of-fold probabilities from a softmax head trained k-fold on the set's features, then confident learning. */
export function suspectsByFolds(set: SuspectsSet, options: FoldOptions): SuspectsResult {
  const classes = [...new Set(set.labels)];
  if (classes.length < 2) throw new CliError(`the set has ${classes.length} class${classes.length === 1 ? "" : "es"} (${classes.join(", ")}); suspect labels need at least 2`);
  if (set.count < options.folds) throw new CliError(`--folds ${options.folds} needs at least ${options.folds} items; the set has ${set.count}`);
  const labels = labelIndices(set.labels, classes, "the set");
  const total = options.folds * options.maxIterations;
  let finishedFolds = 0;
  const { probabilities } = outOfFoldProbabilities(set.features, set.dim, labels, classes.length, {
    folds: options.folds,
    seed: options.seed,
    l2: options.l2,
    maxIterations: options.maxIterations,
    onIteration: (iteration) => options.onProgress?.(finishedFolds * options.maxIterations + iteration, total),
    onFold: (done) => {
      finishedFolds = done;
      options.onProgress?.(done * options.maxIterations, total);
    },
  });
  return {
    classes,
    method: { kind: "k-fold", folds: options.folds, seed: options.seed, l2: options.l2, maxIterations: options.maxIterations },
    report: findSuspectLabels(probabilities, labels, classes.length, "out-of-fold"),
  };
}

/** The "no training" alternative: the versions' averaged probabilities (in-sample for items they were trained on), then confident learning. */
export function suspectsByVersions(set: SuspectsSet, versions: readonly { file: string; model: MlpModel }[]): SuspectsResult {
  const classes = [...versions[0].model.classes];
  const mismatched = versions.filter(({ model }) => model.layers[0].inDim !== set.dim);
  if (mismatched.length > 0) throw new CliError(mismatched.map(({ file, model }) => `${file} takes ${model.layers[0].inDim} features but the set's items have ${set.dim}`).join("; "));
  const labels = labelIndices(set.labels, classes, "the set");
  const probabilities = averageVersionProbabilities(
    versions.map(({ file, model }) => ({ version: file, classes: model.classes, probabilities: mlpProbabilitiesBatch(model, set.features, set.count) })),
    classes,
    set.count,
  );
  return { classes, method: { kind: "versions", versions: versions.map(({ file }) => file) }, report: findSuspectLabels(probabilities, labels, classes.length, "version-average") };
}

function describeMethod(method: SuspectsMethod): string {
  if (method.kind === "versions") return `probabilities: the mean of ${method.versions!.join(", ")} (no training; in-sample for any item these versions were trained on, so their own mistakes on it may not show)`;
  return `probabilities: out-of-fold, softmax regression on the features, ${method.folds} folds (seed ${method.seed}, L2 ${method.l2}, at most ${method.maxIterations} L-BFGS iterations per fold)`;
}

/** The report `mlp suspects` prints. */
export function formatSuspects(setFile: string, set: SuspectsSet, result: SuspectsResult): string[] {
  const { report, classes } = result;
  const hasFiles = set.files.some((file) => file !== null);
  const lines = [
    `labelled set ${setFile}: ${report.itemCount} items, ${classes.length} classes`,
    describeMethod(result.method),
    `confident learning (Northcutt et al. 2021): ${report.suspects.length} suspect label${report.suspects.length === 1 ? "" : "s"} (${((report.suspects.length / report.itemCount) * 100).toFixed(1)}%), most suspicious first; score = p(suspected) − p(given)`,
    "",
  ];
  if (report.suspects.length > 0) {
    lines.push(
      ...textTable([
        ["line", ...(hasFiles ? ["file"] : []), "given", "suspected", "score", "p(given)", "p(suspected)"],
        ...report.suspects.map((suspect) => [
          String(set.lineNumbers[suspect.index]),
          ...(hasFiles ? [set.files[suspect.index] ?? ""] : []),
          classes[suspect.givenLabel],
          classes[suspect.suspectedLabel],
          suspect.score.toFixed(3),
          suspect.givenProbability.toFixed(3),
          suspect.suspectedProbability.toFixed(3),
        ]),
      ]),
      "",
    );
  }
  lines.push(
    ...textTable([
      ["class", "labelled", "threshold", "flagged", "suspected as"],
      ...report.perClass.map((entry) => [classes[entry.classIndex], String(entry.labelled), entry.threshold === null ? "n/a" : entry.threshold.toFixed(3), String(entry.flagged), String(entry.suspectedAs)]),
    ]),
  );
  return lines;
}

/** `--json` output. */
export function suspectsJson(setFile: string, set: SuspectsSet, result: SuspectsResult) {
  const { report, classes } = result;
  return {
    set: { file: setFile, itemCount: report.itemCount },
    classes,
    method: result.method,
    source: report.source,
    suspects: report.suspects.map((suspect) => ({
      line: set.lineNumbers[suspect.index],
      file: set.files[suspect.index],
      given: classes[suspect.givenLabel],
      suspected: classes[suspect.suspectedLabel],
      score: suspect.score,
      givenProbability: suspect.givenProbability,
      suspectedProbability: suspect.suspectedProbability,
    })),
    perClass: report.perClass.map(({ classIndex, ...entry }) => ({ class: classes[classIndex], ...entry })),
  };
}

function wholeNumber(flag: string, value: string | undefined, fallback: number, minimum: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < minimum) throw new CliError(`--${flag} must be a whole number ≥ ${minimum}, got "${value}"`);
  return parsed;
}

export const command: CliCommand = {
  name: "suspects",
  summary: "list items of a labelled set whose label looks wrong (confident learning)",
  help: `usage: npm run mlp -- suspects --set SET.jsonl [--weights FILE ...] [--folds K] [--seed S] [--json] [import options]

Finds items whose given label is probably wrong, by confident learning
(Northcutt, Jiang & Chuang, JAIR 2021): each class's threshold is the mean
probability of that class over the items labelled with it, and an item is
flagged when the most probable class that clears its own threshold is not
its given label. Prints, most suspicious first: the line number, the file
(if the line has one), the given label, the suspected label and the score
p(suspected) − p(given); then per class the threshold and counts.

By default the probabilities are out-of-fold: a softmax regression is
trained on the set's features K times, each time without one fold, and
scores that fold. With --weights, the versions' averaged probabilities are
used instead: no training, but in-sample for any item those versions were
trained on, so their own mistakes may not show.

options:
  --weights FILE   a weights version (repeat to average several; they must share the classes)
  --folds K        folds for the out-of-fold head (default 5)
  --seed S         fold-assignment seed (default 1)
  --json           print the report as JSON

${importOptionsHelp}
  (import options apply to every --weights file)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      set: { type: "string" },
      weights: { type: "string", multiple: true },
      folds: { type: "string" },
      seed: { type: "string" },
      json: { type: "boolean" },
      ...importOptionSpecs,
    });
    if (!values.set) throw new CliError("--set SET.jsonl is required");
    if (positionals.length > 0) throw new CliError(`unexpected argument${positionals.length === 1 ? "" : "s"} ${positionals.join(", ")}; weights go after --weights`);
    const folds = wholeNumber("folds", values.folds, 5, 2);
    const seed = wholeNumber("seed", values.seed, 1, 0);
    const weightsFiles = values.weights ?? [];
    if (weightsFiles.length > 0 && values.folds !== undefined) throw new CliError("--folds applies to the trained head; with --weights the versions' own probabilities are used");
    const options = await importOptionsFrom(values);
    const versions = [];
    for (const file of weightsFiles) {
      const loaded = await loadWeightsFile(file, options);
      for (const warning of loaded.warnings) io.stderr(`warning: ${file}: ${warning}`);
      versions.push({ file, model: loaded.model });
    }
    const text = new TextDecoder().decode(await readUserFile(values.set, "labelled set"));
    const set = parseSuspectsSet(text, versions.length > 0 ? versions[0].model.layers[0].inDim : null, values.set);
    let result: SuspectsResult;
    if (versions.length > 0) {
      result = suspectsByVersions(set, versions);
    } else {
      const maxIterations = 100;
      const progress = progressBar(io, `training ${folds} folds`, folds * maxIterations);
      let shown = 0;
      try {
        result = suspectsByFolds(set, {
          folds,
          seed,
          l2: 1e-3,
          maxIterations,
          onProgress: (done) => {
            progress.tick(done - shown);
            shown = done;
          },
        });
      } finally {
        progress.finish();
      }
    }
    if (values.json) io.stdout(JSON.stringify(suspectsJson(values.set, set, result), null, 2));
    else for (const line of formatSuspects(values.set, set, result)) io.stdout(line);
    return 0;
  },
};
