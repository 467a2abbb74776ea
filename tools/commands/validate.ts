import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { describeLayerShapes, summarizeModel } from "../../convex/lib/mlpModel.ts";
import type { ManifestSummary } from "../../convex/lib/weightsFormat.ts";
import type { ImportOptions } from "../../convex/lib/weightsImport.ts";
import type { WeightsProblem } from "../../convex/lib/weightsValidation.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, readWeightsFile, type WeightsFileSource } from "../weightsFile.ts";

export interface ValidationReport {
  file: string;
  valid: boolean;
  /** What the file was read as; "json" when it was JSON but not recognisably either form. */
  source: WeightsFileSource | "json";
  problems: WeightsProblem[];
  warnings: string[];
  summary: ManifestSummary | null;
}

/** Every problem with a weights file; throws CliError only when the file cannot be read. */
export async function validateWeightsFile(file: string, options: ImportOptions = {}): Promise<ValidationReport> {
  const reading = await readWeightsFile(file, options);
  if (!reading.ok) return { file, valid: false, source: reading.source, problems: reading.problems, warnings: [], summary: null };
  return { file, valid: true, source: reading.source, problems: [], warnings: reading.warnings, summary: summarizeModel(reading.model) };
}

const sourceNames: Record<ValidationReport["source"], string> = {
  canonical: "canonical JSON",
  state_dict: "PyTorch state_dict JSON",
  binary: ".mlpw binary",
  json: "JSON",
};

export const command: CliCommand = {
  name: "validate",
  summary: "check a weights file and list every problem with its path",
  help: `usage: npm run mlp -- validate FILE [import options] [--json]

Reads canonical JSON, a bare PyTorch state_dict (JSON) or a .mlpw binary and
checks every layer shape, value and name. Exit 0 when valid; otherwise prints
every problem, one per line starting with its path, and exits 1.

${importOptionsHelp}
  --json                      print the report as JSON: {file, valid, source, problems, warnings, summary}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: "boolean" }, ...importOptionSpecs });
    if (positionals.length !== 1) throw new CliError(`expected one weights file, found ${positionals.length} (${positionals.join(" ") || "none"})`);
    const report = await validateWeightsFile(positionals[0], await importOptionsFrom(values));
    if (values.json) {
      io.stdout(JSON.stringify(report));
      return report.valid ? 0 : 1;
    }
    for (const warning of report.warnings) io.stderr(`warning: ${warning}`);
    if (report.valid && report.summary) {
      const { summary } = report;
      io.stdout(
        `${report.file}: valid ${sourceNames[report.source]}, ${describeLayerShapes({ layers: summary.layerShapes })}, ` +
          `${summary.classes.length} classes, ${summary.parameterCount.toLocaleString("en-US")} parameters`,
      );
      return 0;
    }
    for (const problem of report.problems) io.stdout(problem.message);
    io.stderr(`${report.file}: ${report.problems.length} problem${report.problems.length === 1 ? "" : "s"} (read as ${sourceNames[report.source]})`);
    return 1;
  },
};
