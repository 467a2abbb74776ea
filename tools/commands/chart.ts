import { writeFile } from "node:fs/promises";
import { basename, extname } from "node:path";
import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { DEFAULT_CHART_SIZE, renderChartPng, renderChartSvg, type ChartSize } from "../chartRender.ts";
import { evaluationClasses } from "../../convex/lib/labelledEvaluation.ts";
import { mlpForwardBatch } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { buildDistributionOption, type DistributionSeries } from "../../src/charts/distribution.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, readUserFile } from "../weightsFile.ts";
import { parseFeatureLines, type FeatureRows } from "./predict.ts";
import { sharedInputDim } from "./compare.ts";

export type ChartFormat = "svg" | "png";

/** The output format from the file's extension, or a CliError naming the accepted ones. */
export function chartFormatOf(path: string): ChartFormat {
  const extension = extname(path).toLowerCase();
  if (extension === ".svg") return "svg";
  if (extension === ".png") return "png";
  throw new CliError(`--out "${path}" must end in .svg or .png (got ${extension === "" ? "no extension" : `"${extension}"`})`);
}

export interface ChartedVersion {
  file: string;
  model: MlpModel;
}

export interface PredictedDistribution {
  /** Union of the versions' classes, first version's order first. */
  classes: string[];
  /** One series per version: how many items it predicts as each class. */
  series: DistributionSeries[];
}

/** Series names are model names, told apart by file name when two versions share one. */
function seriesNames(versions: readonly ChartedVersion[]): string[] {
  const names = versions.map(({ model }) => model.name);
  return names.map((name, index) => {
    if (names.filter((other) => other === name).length === 1) return name;
    const withFile = `${name} (${basename(versions[index].file)})`;
    return versions.findIndex((version) => version.file === versions[index].file) === index ? withFile : `${withFile} #${index + 1}`;
  });
}

export function predictedDistribution(versions: readonly ChartedVersion[], rows: FeatureRows): PredictedDistribution {
  const classes = evaluationClasses(...versions.map(({ model }) => model.classes));
  const position = new Map(classes.map((name, index) => [name, index]));
  const names = seriesNames(versions);
  const series = versions.map(({ model }, versionIndex) => {
    const counts = new Array<number>(classes.length).fill(0);
    for (const prediction of mlpForwardBatch(model, rows.features, rows.count)) counts[position.get(prediction.label) as number] += 1;
    return { name: names[versionIndex], counts };
  });
  return { classes, series };
}

/** The distribution chart, built by the dashboard's own option builder, as SVG text or PNG bytes. */
export async function renderDistributionChart(distribution: PredictedDistribution, format: ChartFormat, size: ChartSize, title: string): Promise<string | Buffer> {
  const option = buildDistributionOption(distribution.series, distribution.classes, { animation: false, title, valueName: "items" });
  return format === "svg" ? renderChartSvg(option, size) : renderChartPng(option, size);
}

function pixels(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 50 || parsed > 8000) throw new CliError(`--${flag} must be a whole number of pixels from 50 to 8000, got "${value}"`);
  return parsed;
}

export const command: CliCommand = {
  name: "chart",
  summary: "chart the predicted class distribution of one or two versions on a feature set (SVG or PNG)",
  help: `usage: npm run mlp -- chart --set SET.jsonl --weights FILE [--weights FILE2] --out FILE.svg|FILE.png [--width W --height H] [import options]

Runs each version on SET.jsonl and draws how many items it predicts as each
class, grouped bars per version, rendered server-side with ECharts through
the dashboard's own chart option builder.

SET.jsonl: one JSON array of numbers, or an object with a "features" array,
per line (labels, if present, are ignored).
--out       .svg or .png, chosen by the extension
--width     pixels (default ${DEFAULT_CHART_SIZE.width})
--height    pixels (default ${DEFAULT_CHART_SIZE.height})

${importOptionsHelp}
  (import options apply to every --weights file)`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      set: { type: "string" },
      weights: { type: "string", multiple: true },
      out: { type: "string" },
      width: { type: "string" },
      height: { type: "string" },
      ...importOptionSpecs,
    });
    if (positionals.length > 0) throw new CliError(`unexpected argument "${positionals[0]}"; use --set SET.jsonl --weights FILE --out FILE.svg`);
    if (!values.set) throw new CliError("--set SET.jsonl is required");
    const weightFiles = values.weights ?? [];
    if (weightFiles.length === 0 || weightFiles.length > 2) throw new CliError(`give one or two --weights files, got ${weightFiles.length}`);
    if (!values.out) throw new CliError("--out FILE.svg or FILE.png is required");
    const format = chartFormatOf(values.out);
    const size = { width: pixels("width", values.width, DEFAULT_CHART_SIZE.width), height: pixels("height", values.height, DEFAULT_CHART_SIZE.height) };
    const options = await importOptionsFrom(values);
    const versions: ChartedVersion[] = [];
    for (const file of weightFiles) {
      const loaded = await loadWeightsFile(file, options);
      for (const warning of loaded.warnings) io.stderr(`warning: ${file}: ${warning}`);
      versions.push({ file, model: loaded.model });
    }
    const dim = sharedInputDim(versions);
    const rows = parseFeatureLines(new TextDecoder().decode(await readUserFile(values.set, "feature set")), dim, values.set);
    const distribution = predictedDistribution(versions, rows);
    const title = `Predicted classes on ${basename(values.set)} (${rows.count} items)`;
    const rendered = await renderDistributionChart(distribution, format, size, title);
    try {
      await writeFile(values.out, rendered);
    } catch (error) {
      throw new CliError(`cannot write "${values.out}": ${error instanceof Error ? error.message : String(error)}`);
    }
    io.stdout(`wrote ${values.out} (${format.toUpperCase()}, ${size.width}×${size.height}, ${versions.length} version${versions.length === 1 ? "" : "s"}, ${rows.count} items)`);
    return 0;
  },
};
