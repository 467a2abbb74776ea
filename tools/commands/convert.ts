import { mkdir, writeFile } from "node:fs/promises";
import { dirname, extname, resolve } from "node:path";
import { CliError, parseCommandArgs, type CliCommand } from "../cliKit.ts";
import { toCanonicalWeights } from "../../convex/lib/mlpModel.ts";
import { WEIGHTS_BINARY_EXTENSION } from "../../convex/lib/weightsBinary.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";
import type { ImportOptions } from "../../convex/lib/weightsImport.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile, type WeightsFileSource } from "../weightsFile.ts";

export interface ConversionResult {
  from: WeightsFileSource;
  out: string;
  format: "canonical-json" | "binary";
  bytes: number;
  /** sha256 of the .mlpw encoding (the stored version's id), whichever form was written. */
  sha256: string;
  warnings: string[];
}

/**
 * The shortest decimal that reads back as the same float32. The engine runs
 * on float32 tensors, so this loses nothing and keeps files about half the
 * size of printing every double digit.
 */
export function formatFloat32(value: number): string {
  for (let precision = 6; precision <= 9; precision++) {
    const candidate = Number(value.toPrecision(precision));
    if (Math.fround(candidate) === value) return String(candidate);
  }
  return String(value);
}

/** Canonical JSON with metadata indented and one weight row per line. */
export function serializeCanonicalWeights(weights: CanonicalWeights): string {
  const numbers = (values: number[]) => `[${values.map(formatFloat32).join(", ")}]`;
  const layers = weights.layers.map((layer) =>
    [
      "    {",
      `      "activation": ${JSON.stringify(layer.activation)},`,
      `      "bias": ${numbers(layer.bias)},`,
      `      "weight": [`,
      layer.weight.map((row) => `        ${numbers(row)}`).join(",\n"),
      "      ]",
      "    }",
    ].join("\n"),
  );
  return [
    "{",
    `  "format": ${JSON.stringify(weights.format)},`,
    `  "formatVersion": ${weights.formatVersion},`,
    `  "name": ${JSON.stringify(weights.name)},`,
    `  "classes": ${JSON.stringify(weights.classes)},`,
    `  "input": ${JSON.stringify(weights.input)},`,
    `  "outputActivation": ${JSON.stringify(weights.outputActivation)},`,
    `  "layers": [`,
    layers.join(",\n"),
    "  ]",
    "}",
    "",
  ].join("\n");
}

export async function convertWeightsFile(file: string, out: string, options: ImportOptions = {}): Promise<ConversionResult> {
  const extension = extname(out).toLowerCase();
  if (extension !== ".json" && extension !== WEIGHTS_BINARY_EXTENSION) {
    throw new CliError(`--out must end in .json (canonical JSON) or ${WEIGHTS_BINARY_EXTENSION} (binary); got "${out}"`);
  }
  if (resolve(out) === resolve(file)) throw new CliError(`--out "${out}" is the input file; write to a new file`);
  const loaded = await loadWeightsFile(file, options);
  const content = extension === ".json" ? new TextEncoder().encode(serializeCanonicalWeights(toCanonicalWeights(loaded.model))) : loaded.binary;
  await mkdir(dirname(resolve(out)), { recursive: true });
  await writeFile(out, content);
  return {
    from: loaded.source,
    out,
    format: extension === ".json" ? "canonical-json" : "binary",
    bytes: content.length,
    sha256: loaded.sha256,
    warnings: loaded.warnings,
  };
}

export const command: CliCommand = {
  name: "convert",
  summary: "convert weights: state_dict → canonical JSON (.json) or any form → binary (.mlpw)",
  help: `usage: npm run mlp -- convert FILE --out OUT [import options] [--json]

The output form follows OUT's extension:
  .json   canonical JSON (one weight row per line; values printed as float32)
  .mlpw   the binary storage encoding (see weights/README.md)
FILE may be canonical JSON, a bare PyTorch state_dict (JSON) or .mlpw.

${importOptionsHelp}
  --json                      print {from, out, format, bytes, sha256, warnings} as JSON`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { out: { type: "string" }, json: { type: "boolean" }, ...importOptionSpecs });
    if (positionals.length !== 1) throw new CliError(`expected one weights file, found ${positionals.length} (${positionals.join(" ") || "none"})`);
    if (!values.out) throw new CliError("--out OUT is required (OUT.json for canonical JSON, OUT.mlpw for binary)");
    const result = await convertWeightsFile(positionals[0], values.out, await importOptionsFrom(values));
    if (values.json) {
      io.stdout(JSON.stringify(result));
      return 0;
    }
    for (const warning of result.warnings) io.stderr(`warning: ${warning}`);
    io.stdout(`wrote ${result.out} (${result.format === "binary" ? ".mlpw binary" : "canonical JSON"}, ${result.bytes.toLocaleString("en-US")} bytes) from ${result.from}; version sha256 ${result.sha256}`);
    return 0;
  },
};
