import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { summarizeModel } from "../../convex/lib/mlpModel.ts";
import type { ManifestSummary } from "../../convex/lib/weightsFormat.ts";
import type { ImportOptions } from "../../convex/lib/weightsImport.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, type WeightsFileSource } from "../weightsFile.ts";

export interface WeightsInfo {
  file: string;
  source: WeightsFileSource;
  /** sha256 of the .mlpw encoding, the id this version gets when stored. */
  sha256: string;
  binaryBytes: number;
  summary: ManifestSummary;
  warnings: string[];
}

export async function describeWeightsFile(file: string, options: ImportOptions = {}): Promise<WeightsInfo> {
  const loaded = await loadWeightsFile(file, options);
  return { file, source: loaded.source, sha256: loaded.sha256, binaryBytes: loaded.binary.length, summary: summarizeModel(loaded.model), warnings: loaded.warnings };
}

export function formatWeightsInfo(info: WeightsInfo): string {
  const { summary } = info;
  const layerLines = summary.layerShapes.map(
    (layer, i) => `  ${String(i).padStart(2)}  Linear ${`${layer.inDim} → ${layer.outDim}`.padEnd(13)} ${(layer.inDim * layer.outDim + layer.outDim).toLocaleString("en-US").padStart(10)} params  then ${layer.activation}`,
  );
  return [
    `name        ${summary.name}`,
    `file        ${info.file} (${info.source})`,
    `sha256      ${info.sha256} (of the ${info.binaryBytes.toLocaleString("en-US")}-byte .mlpw encoding)`,
    `input       ${summary.input.dim} features from ${summary.input.clipModel}, normalize ${summary.input.normalize}`,
    `layers      ${summary.layerShapes.length}`,
    ...layerLines,
    `output      ${summary.outputActivation}`,
    `parameters  ${summary.parameterCount.toLocaleString("en-US")}`,
    `classes     ${summary.classes.length}: ${summary.classes.join(", ")}`,
  ].join("\n");
}

export const command: CliCommand = {
  name: "info",
  summary: "show a weights file's layers, parameter count, classes, input spec and sha256",
  help: `usage: npm run mlp -- info FILE [import options] [--json]

Reads canonical JSON, a bare PyTorch state_dict (JSON) or a .mlpw binary.
The sha256 is that of the .mlpw encoding, which identifies a stored version.

${importOptionsHelp}
  --json                      print {file, source, sha256, binaryBytes, summary, warnings} as JSON`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { json: { type: "boolean" }, ...importOptionSpecs });
    if (positionals.length !== 1) throw new CliError(`expected one weights file, found ${positionals.length} (${positionals.join(" ") || "none"})`);
    const info = await describeWeightsFile(positionals[0], await importOptionsFrom(values));
    if (values.json) {
      io.stdout(JSON.stringify(info));
      return 0;
    }
    for (const warning of info.warnings) io.stderr(`warning: ${warning}`);
    io.stdout(formatWeightsInfo(info));
    return 0;
  },
};
