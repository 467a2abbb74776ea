import { resolve } from "node:path";
import { CliError, parseCommandArgs, progressBar, type CliCommand } from "../cliKit.ts";
import { mlpForward, type MlpPrediction } from "../../convex/lib/mlpForward.ts";
import type { MlpModel } from "../../convex/lib/weightsFormat.ts";
import { TINY_CLIP_MODEL_ID } from "../tinyClipModel.ts";
import { tinyClipModelDir } from "../writeTinyClipModel.ts";
import { createNodeClipExtractor, type NodeClipConfig, type NodeClipExtractor } from "../clipNode.ts";
import { importOptionSpecs, importOptionsFrom, importOptionsHelp, loadWeightsFile } from "../weightsFile.ts";
import { modelHelp, modelOptions, nodeClipConfigFrom } from "./extract.ts";

export type ImageClassification = { file: string; prediction: MlpPrediction } | { file: string; error: string };

/**
 * The CLIP model the weights were trained on, unless the user chose one.
 * The project's own tiny-clip test model is found in models/ without flags.
 */
export function clipConfigForWeights(model: MlpModel, values: Parameters<typeof nodeClipConfigFrom>[0]): NodeClipConfig {
  if (values["model-dir"]) return nodeClipConfigFrom(values);
  const chosen = values["model-id"] || values["model-host"];
  if (!chosen && model.input.clipModel === TINY_CLIP_MODEL_ID) return nodeClipConfigFrom({ ...values, "model-dir": tinyClipModelDir });
  return nodeClipConfigFrom({ ...values, "model-id": values["model-id"] ?? model.input.clipModel });
}

/** Refuses features from a different CLIP model: the MLP's outputs would be meaningless. */
export function checkClipModelMatches(model: MlpModel, extractor: NodeClipExtractor, weightsFile: string): void {
  if (model.input.clipModel !== extractor.modelId) {
    throw new CliError(
      `${weightsFile} was trained on features of "${model.input.clipModel}" but the extractor loads "${extractor.modelId}"; load that model (--model-id/--model-dir)`,
    );
  }
  if (model.layers[0].inDim !== 512) {
    throw new CliError(`${weightsFile} takes ${model.layers[0].inDim} inputs, but CLIP gives 512 features`);
  }
}

/** Extracts and classifies each image; an unreadable image is reported and the rest go on. */
export async function classifyImages(
  model: MlpModel,
  extractor: NodeClipExtractor,
  images: string[],
  onProgress?: () => void,
): Promise<ImageClassification[]> {
  const results: ImageClassification[] = [];
  for (const file of images) {
    try {
      const features = await extractor.extract(file);
      results.push({ file, prediction: mlpForward(model, features) });
    } catch (error) {
      results.push({ file, error: error instanceof Error ? error.message : String(error) });
    }
    onProgress?.();
  }
  return results;
}

function formatText(result: ImageClassification, classes: string[], top: number): string {
  if ("error" in result) return `${result.file}: error: ${result.error}`;
  const ranked = result.prediction.probabilities
    .map((probability, index) => ({ probability, name: classes[index] }))
    .sort((a, b) => b.probability - a.probability)
    .slice(0, top)
    .map((entry) => `${entry.name} ${(entry.probability * 100).toFixed(1)}%`);
  return `${result.file}: ${ranked.join(", ")}`;
}

function formatJson(result: ImageClassification, classes: string[]): string {
  if ("error" in result) return JSON.stringify(result);
  const { label, confidence, probabilities } = result.prediction;
  return JSON.stringify({ file: result.file, label, confidence, probabilities: Object.fromEntries(classes.map((name, i) => [name, probabilities[i]])) });
}

export const command: CliCommand = {
  name: "classify",
  summary: "classify images locally: CLIP features in Node, then the MLP (no server)",
  help: `usage: npm run mlp -- classify IMAGE... --weights FILE [model options] [--top N] [--json]

Extracts CLIP features for each image with the same model and preprocessing as
the browser, runs the MLP and prints the top classes per image (--json: one
line per image with every class's probability). An unreadable image is
reported and the others still run; the exit code is then 1.

By default the CLIP model is the one the weights record (input.clipModel);
"tiny-clip" weights use models/tiny-clip without flags.

${modelHelp}
  --top N            classes shown per image in text output (default 3)
  --json             one JSON line per image

${importOptionsHelp}`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, {
      weights: { type: "string" },
      top: { type: "string" },
      json: { type: "boolean" },
      ...modelOptions,
      ...importOptionSpecs,
    });
    if (positionals.length === 0) throw new CliError("expected at least one IMAGE to classify");
    if (!values.weights) throw new CliError("--weights FILE is required");
    const top = Number(values.top ?? 3);
    if (!Number.isSafeInteger(top) || top < 1) throw new CliError(`--top must be a positive integer, found "${values.top}"`);
    const loaded = await loadWeightsFile(values.weights, await importOptionsFrom(values));
    for (const warning of loaded.warnings) io.stderr(`warning: ${warning}`);
    const model = loaded.model;
    const extractor = await createNodeClipExtractor(clipConfigForWeights(model, values));
    try {
      checkClipModelMatches(model, extractor, values.weights);
      const bar = progressBar(io, "classifying", positionals.length);
      const results = await classifyImages(model, extractor, positionals.map((path) => resolve(path)), () => bar.tick());
      bar.finish();
      results.forEach((result, i) => {
        const shown = { ...result, file: positionals[i] };
        io.stdout(values.json ? formatJson(shown, model.classes) : formatText(shown, model.classes, top));
      });
      return results.some((result) => "error" in result) ? 1 : 0;
    } finally {
      await extractor.dispose();
    }
  },
};
