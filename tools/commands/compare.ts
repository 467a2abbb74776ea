import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { checkFeatures } from "../../convex/lib/features.ts";
import { compareOnLabelledSet, evaluationClasses, type LabelledComparison } from "../../convex/lib/labelledEvaluation.ts";
import type { ClassificationReport } from "../../convex/lib/metrics.ts";
import { mlpForwardBatch } from "../../convex/lib/mlpForward.ts";
import { pairedEvidence, type PairedCounts, type PairedEvidence } from "../../convex/lib/pairedStats.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, readUserFile, type LoadedWeights } from "../weightsFile.ts";
import { packFeatureRows, parseJsonLines } from "../jsonLines.ts";
import { textTable } from "../textTable.ts";

export interface LabelledSetRows {
  /** count × dim, row-major. */
  features: Float32Array;
  count: number;
  labels: string[];
  /** 1-based line number of each row in the file. */
  lineNumbers: number[];
}

function describeKnown(classes: readonly string[]): string {
  const listed = classes.slice(0, 12).join(", ");
  return classes.length > 12 ? `${listed}, … (${classes.length} classes)` : listed;
}

/**
 * Parses SET.jsonl: each non-blank line is `{"features": number[], "label": string}`
 * (other keys are ignored), the label being a class name at least one version
 * knows. Every bad line is collected before failing, so one run shows them all.
 */
export function parseLabelledSetLines(text: string, dim: number, knownClasses: readonly string[], fileLabel: string): LabelledSetRows {
  const known = new Set(knownClasses);
  const { items, lineNumbers } = parseJsonLines(
    text,
    fileLabel,
    (value, report) => {
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        report(`expected an object {"features": [${dim} numbers], "label": "class name"}`);
        return null;
      }
      const { features, label } = value as { features?: unknown; label?: unknown };
      const featureProblem = checkFeatures(features, dim);
      if (featureProblem) report(featureProblem);
      if (typeof label !== "string" || label.trim() === "") {
        report(`"label" must be a class name, got ${label === undefined ? "nothing" : JSON.stringify(label)}`);
      } else if (!known.has(label)) {
        report(`label "${label}" is not a class of either version (known: ${describeKnown(knownClasses)})`);
      } else if (!featureProblem) {
        return { features: features as number[], label };
      }
      return null;
    },
    `items; expected one {"features": [...], "label": "..."} object per line`,
  );
  return { features: packFeatureRows(items.map((item) => item.features), dim), count: items.length, labels: items.map((item) => item.label), lineNumbers };
}

/** The input dimension both models share, or a CliError naming both. */
export function sharedInputDim(models: readonly { file: string; model: MlpModel }[]): number {
  const dims = models.map(({ model }) => model.layers[0].inDim);
  if (dims.some((dim) => dim !== dims[0])) {
    throw new CliError(`the versions take different inputs: ${models.map(({ file }, i) => `${file} takes ${dims[i]} features`).join(", ")}; one labelled set cannot serve both`);
  }
  return dims[0];
}

/**
 * Both versions on the labelled set, with the dashboard's own comparison
 * (A is the baseline, B the candidate; the gate judges B replacing A).
 */
export function compareModelsOnSet(modelA: MlpModel, modelB: MlpModel, set: LabelledSetRows, disagreementLimit: number): LabelledComparison<number> {
  return compareOnLabelledSet<number>({
    labels: set.labels,
    pictureIds: set.lineNumbers,
    baselineClasses: modelA.classes,
    baselineOutputs: mlpForwardBatch(modelA, set.features, set.count),
    candidateClasses: modelB.classes,
    candidateOutputs: mlpForwardBatch(modelB, set.features, set.count),
    thresholds: {},
    disagreementLimit,
  });
}

function rate(value: number | null, digits = 3): string {
  return value === null ? "n/a" : value.toFixed(digits);
}

function perClassCell(report: ClassificationReport, classIndex: number): string {
  const metrics = report.perClass[classIndex];
  return `${rate(metrics.precision, 2)} / ${rate(metrics.recall, 2)} / ${rate(metrics.f1, 2)}`;
}

function signedPoints(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(value * 100).toFixed(2)} pp`;
}

function pValueText(value: number): string {
  return value < 1e-4 ? value.toExponential(2) : value.toFixed(4);
}

const verdictText: Record<PairedEvidence["verdict"], string> = {
  "non-inferior": "no significant regression: B is not worse than A by the margin or more",
  worse: "B is significantly worse than A",
  "too-small-to-tell": "too small to tell",
  "regression-not-ruled-out": "a regression of the margin or more is not ruled out",
};

/** What the labelled set can and cannot tell about B replacing A. */
export function formatEvidence(evidence: PairedEvidence): string[] {
  const lines = [`discordant pairs: ${evidence.discordantPairs} (only A right ${evidence.counts.n10}, only B right ${evidence.counts.n01})`, `McNemar mid-p: ${pValueText(evidence.mcnemar.midPValue)}`];
  if (evidence.bootstrap) {
    const { lower, upper, level, resamples, seed } = evidence.bootstrap;
    lines.push(`accuracy B − A, ${Math.round(level * 100)}% paired bootstrap CI: [${signedPoints(lower)}, ${signedPoints(upper)}] (${resamples} resamples, seed ${seed})`);
  }
  lines.push(
    evidence.itemsForPower === null
      ? "items for 80% power: n/a (the versions' accuracies do not differ on this set)"
      : `items for 80% power to detect a difference of ${signedPoints(evidence.difference ?? 0)} (McNemar, α = 0.05, Connor 1987): ${evidence.itemsForPower} (the set has ${evidence.itemCount})`,
  );
  if (evidence.nonInferiority) {
    const { margin, z, pValue, alpha } = evidence.nonInferiority;
    lines.push(`non-inferiority, margin ${(margin * 100).toFixed(2)} pp (Tango score test, one-sided α = ${alpha}): z = ${z.toFixed(2)}, p = ${pValueText(pValue)}`);
  }
  lines.push(`verdict: ${verdictText[evidence.verdict]}`, ...evidence.reasons.map((reason) => `  - ${reason}`));
  return lines;
}

export interface ComparedVersion {
  file: string;
  name: string;
  sha256: string;
}

/** The side-by-side report `mlp compare` prints. */
export function formatComparison(setFile: string, versionA: ComparedVersion, versionB: ComparedVersion, comparison: LabelledComparison<number>, evidence: PairedEvidence): string[] {
  const { baseline: a, candidate: b, classes } = comparison;
  const lines: string[] = [`labelled set ${setFile}: ${comparison.itemCount} items, ${classes.length} classes`, ""];
  lines.push(
    ...textTable([
      ["", "A", "B"],
      ["file", versionA.file, versionB.file],
      ["name", versionA.name, versionB.name],
      ["sha256", versionA.sha256.slice(0, 12), versionB.sha256.slice(0, 12)],
      ["accuracy", rate(a.accuracy), rate(b.accuracy)],
      ["macro-F1", rate(a.macroF1), rate(b.macroF1)],
      ["ECE", rate(a.expectedCalibrationError), rate(b.expectedCalibrationError)],
    ]),
    "",
    ...textTable([
      ["class", "support", "A P / R / F1", "B P / R / F1"],
      ...classes.map((name, classIndex) => [name, String(a.perClass[classIndex].support), perClassCell(a, classIndex), perClassCell(b, classIndex)]),
    ]),
    "",
  );
  const difference = comparison.accuracyDifference;
  const { baselineOnlyCorrect, candidateOnlyCorrect, pValue } = comparison.mcnemar;
  lines.push(
    `accuracy B − A: ${difference === null ? "n/a" : `${difference >= 0 ? "+" : ""}${difference.toFixed(3)}`}`,
    `agreement: ${rate(comparison.agreementRate)} (${comparison.disagreementCount} of ${comparison.itemCount} items disagree)`,
    `McNemar exact test: only A right ${baselineOnlyCorrect}, only B right ${candidateOnlyCorrect}, p = ${pValueText(pValue)}`,
    ...formatEvidence(evidence),
    `promotion gate (B replacing A, default thresholds): ${comparison.gate.allowed ? "allowed" : "blocked"}`,
    ...comparison.gate.reasons.map((reason) => `  - ${reason}`),
  );
  if (comparison.disagreements.length > 0) {
    lines.push(
      "",
      `top ${comparison.disagreements.length} disagreements, largest margin first (margin = each version's preference for its own answer over the other's, summed; 0–2):`,
      ...textTable([
        ["line", "true", "A says", "B says", "margin", "right"],
        ...comparison.disagreements.map((item) => [
          String(item.pictureId),
          item.trueLabel,
          `${item.baselineLabel} (${item.baselineConfidence.toFixed(2)})`,
          `${item.candidateLabel} (${item.candidateConfidence.toFixed(2)})`,
          item.margin.toFixed(2),
          { baseline: "A", candidate: "B", neither: "neither" }[item.correct],
        ]),
      ]),
    );
  }
  return lines;
}

/** `--json` output: the comparison, with each disagreement's line number in the set file. */
export function comparisonJson(setFile: string, versionA: ComparedVersion, versionB: ComparedVersion, comparison: LabelledComparison<number>, evidence: PairedEvidence) {
  const { disagreements, ...rest } = comparison;
  return {
    set: { file: setFile, itemCount: comparison.itemCount },
    a: versionA,
    b: versionB,
    ...rest,
    evidence,
    disagreements: disagreements.map(({ pictureId, ...item }) => ({ line: pictureId, ...item })),
  };
}

async function loadVersion(file: string, options: Awaited<ReturnType<typeof importOptionsFrom>>, warn: (line: string) => void): Promise<LoadedWeights> {
  const loaded = await loadWeightsFile(file, options);
  for (const warning of loaded.warnings) warn(`warning: ${file}: ${warning}`);
  return loaded;
}

export const command: CliCommand = {
  name: "compare",
  summary: "compare two weights versions on a labelled feature set: metrics, disagreements, McNemar",
  help: `usage: npm run mlp -- compare --set SET.jsonl A B [--top N] [--margin D] [--json] [import options]

Runs weights A (the baseline) and B (the candidate) on SET.jsonl and prints,
side by side: accuracy, macro-F1, expected calibration error, per-class
precision / recall / F1, the agreement rate, McNemar's exact test on the
items only one version gets right, whether the promotion gate would let B
replace A, and the top disagreements with their line numbers.

Then what the set can tell: the discordant pairs, McNemar's mid-p, a 95%
paired bootstrap CI of accuracy B − A (10,000 resamples, seed 1), the items
needed for 80% power to detect the observed difference (Connor 1987), and a
non-inferiority verdict for the margin D (Tango's score test, one-sided
α = 0.05): "no significant regression", "B is significantly worse",
"too small to tell" (fewer than 10 discordant pairs, or the CI contains both
−D and +D) or "a regression of the margin or more is not ruled out".
These are the same metric functions the dashboard uses.

SET.jsonl: one {"features": [numbers], "label": "class name"} per line, as
\`mlp extract\` writes it. Labels must be classes of A or B.
A, B: canonical JSON, a bare PyTorch state_dict (JSON) or .mlpw.

options:
  --top N     disagreements to list (default 10; --json lists up to 1000)
  --margin D  largest accuracy loss that still counts as no regression, as a
              fraction (default 0.01, one percentage point)
  --json      print the full comparison as JSON instead

${importOptionsHelp}
  (import options apply to both A and B)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { set: { type: "string" }, top: { type: "string" }, margin: { type: "string" }, json: { type: "boolean" }, ...importOptionSpecs });
    if (!values.set) throw new CliError("--set SET.jsonl is required");
    if (positionals.length !== 2) throw new CliError(`expected two weights files A and B, got ${positionals.length}${positionals.length > 0 ? ` (${positionals.join(", ")})` : ""}`);
    const top = values.top === undefined ? (values.json ? 1000 : 10) : Number(values.top);
    if (!Number.isSafeInteger(top) || top < 0) throw new CliError(`--top must be a whole number ≥ 0, got "${values.top}"`);
    const margin = values.margin === undefined ? 0.01 : Number(values.margin);
    if (!(margin > 0 && margin < 1)) throw new CliError(`--margin must be a fraction between 0 and 1 (0.01 is one percentage point), got "${values.margin}"`);
    const options = await importOptionsFrom(values);
    const [fileA, fileB] = positionals;
    const warn = (line: string) => io.stderr(line);
    const loadedA = await loadVersion(fileA, options, warn);
    const loadedB = await loadVersion(fileB, options, warn);
    const dim = sharedInputDim([
      { file: fileA, model: loadedA.model },
      { file: fileB, model: loadedB.model },
    ]);
    if (loadedA.model.input.clipModel !== loadedB.model.input.clipModel) {
      io.stderr(`warning: A expects features from ${loadedA.model.input.clipModel} but B from ${loadedB.model.input.clipModel}; the set can only match one of them`);
    }
    const text = new TextDecoder().decode(await readUserFile(values.set, "labelled set"));
    const set = parseLabelledSetLines(text, dim, evaluationClasses(loadedA.model.classes, loadedB.model.classes), values.set);
    const comparison = compareModelsOnSet(loadedA.model, loadedB.model, set, top);
    const evidence = pairedEvidence(comparison.paired, { margin });
    const versionA = { file: fileA, name: loadedA.model.name, sha256: loadedA.sha256 };
    const versionB = { file: fileB, name: loadedB.model.name, sha256: loadedB.sha256 };
    if (values.json) io.stdout(JSON.stringify(comparisonJson(values.set, versionA, versionB, comparison, evidence), null, 2));
    else for (const line of formatComparison(values.set, versionA, versionB, comparison, evidence)) io.stdout(line);
    return 0;
  },
};
