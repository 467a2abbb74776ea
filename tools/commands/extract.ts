import { mkdir, readdir, writeFile } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { CliError, parseCommandArgs, progressBar, type CliCommand } from "../cliKit.ts";
import { clipDtypes, DEFAULT_CLIP_MODEL_ID, type ClipDtype } from "../../src/clip/clipConfig.ts";
import { createNodeClipExtractor, type NodeClipConfig, type NodeClipExtractor } from "../clipNode.ts";

export const imageExtensions = [".png", ".jpg", ".jpeg", ".webp", ".gif", ".avif", ".tif", ".tiff"];

export interface LabelledImage {
  label: string;
  /** Path relative to the set's folder, with forward slashes. */
  file: string;
  path: string;
}

/** One line of a labelled feature set (JSONL), as the trainer and the import read it. */
export interface FeatureSetLine {
  features: number[];
  label: string;
  file: string;
}

export interface ImageListing {
  images: LabelledImage[];
  /** Files inside class folders that are not images by extension, relative to the folder. */
  skipped: string[];
}

function isHidden(name: string): boolean {
  return name.startsWith(".");
}

/** Lists `<dir>/<class>/<image>` files, classes and files in sorted order. */
export async function listLabelledImages(dir: string): Promise<ImageListing> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new CliError(`cannot read the image folder "${dir}": ${error instanceof Error ? error.message : String(error)}`);
  }
  const classFolders = entries.filter((entry) => entry.isDirectory() && !isHidden(entry.name)).map((entry) => entry.name).sort();
  const images: LabelledImage[] = [];
  const skipped: string[] = [];
  for (const label of classFolders) {
    const files = (await readdir(join(dir, label), { withFileTypes: true })).filter((entry) => entry.isFile() && !isHidden(entry.name)).map((entry) => entry.name).sort();
    for (const name of files) {
      const file = `${label}/${name}`;
      if (imageExtensions.includes(extname(name).toLowerCase())) images.push({ label, file, path: join(dir, label, name) });
      else skipped.push(file);
    }
  }
  if (images.length === 0) {
    const looseImages = entries.filter((entry) => entry.isFile() && imageExtensions.includes(extname(entry.name).toLowerCase())).length;
    const hint = looseImages > 0 ? ` (found ${looseImages} image(s) directly in it; move them into a folder named after their class)` : "";
    throw new CliError(
      `no images in "${dir}": expected class-named subfolders such as "${dir}/sunset/a.png" with ${imageExtensions.join(", ")} files${hint}`,
    );
  }
  return { images, skipped };
}

/** Extracts features for every image, in listing order; an unreadable image fails with its path. */
export async function extractFeatureSet(images: LabelledImage[], extractor: NodeClipExtractor, onProgress?: (done: number, total: number) => void): Promise<FeatureSetLine[]> {
  const features = await extractor.extractBatch(
    images.map((image) => image.path),
    { onProgress },
  );
  return images.map((image, i) => ({ features: Array.from(features[i]), label: image.label, file: image.file }));
}

export function toJsonl(lines: FeatureSetLine[]): string {
  return lines.map((line) => JSON.stringify(line)).join("\n") + "\n";
}

/** The model options shared by `extract` and `classify`. */
export const modelOptions = {
  "model-id": { type: "string" },
  "model-dir": { type: "string" },
  "model-host": { type: "string" },
  dtype: { type: "string" },
} as const;

export function nodeClipConfigFrom(values: { "model-id"?: string; "model-dir"?: string; "model-host"?: string; dtype?: string }): NodeClipConfig {
  const dtype = values.dtype ?? "q8";
  if (!clipDtypes.includes(dtype as ClipDtype)) throw new CliError(`--dtype must be one of ${clipDtypes.join(", ")}, found "${dtype}"`);
  if (values["model-dir"] && values["model-host"]) throw new CliError("give either --model-dir (one model folder) or --model-host, not both");
  if (values["model-dir"]) return { modelDir: resolve(values["model-dir"]), modelId: values["model-id"], dtype: dtype as ClipDtype };
  return { modelId: values["model-id"] ?? DEFAULT_CLIP_MODEL_ID, modelHost: values["model-host"] ?? "hub", dtype: dtype as ClipDtype };
}

export const modelHelp = `model options:
  --model-dir DIR    a local model folder (config.json, preprocessor_config.json, onnx/);
                     use this without Hub access, e.g. --model-dir models/tiny-clip
                     (a test model whose features are not CLIP ViT-B/32 features)
  --model-id ID      model id to load/record (default ${DEFAULT_CLIP_MODEL_ID},
                     or the --model-dir folder name)
  --model-host HOST  "hub" (default), a mirror URL, or a folder holding <model-id>/ folders
  --dtype q8|fp32    ONNX weights to use (default q8, as the browser's wasm backend)`;

export const command: CliCommand = {
  name: "extract",
  summary: "turn a folder of class-named image subfolders into a labelled CLIP feature set (JSONL)",
  help: `usage: npm run mlp -- extract DIR --out SET.jsonl [model options] [--json]

Reads DIR/<class>/<image> files and writes one line per image:
  {"features":[512 numbers],"label":"<class>","file":"<class>/<image>"}
Features are raw image_embeds (not L2-normalised), the same as the browser extracts.

${modelHelp}
  --json             print a JSON summary on stdout`,
  async run(argv, io) {
    const { values, positionals } = parseCommandArgs(argv, { out: { type: "string" }, json: { type: "boolean" }, ...modelOptions });
    if (positionals.length !== 1) throw new CliError(`expected one image folder, found ${positionals.length} (${positionals.join(" ") || "none"})`);
    if (!values.out) throw new CliError("--out SET.jsonl is required");
    const config = nodeClipConfigFrom(values);
    const dir = resolve(positionals[0]);
    const { images, skipped } = await listLabelledImages(dir);
    for (const file of skipped) io.stderr(`skipping "${file}": not an image file (${imageExtensions.join(", ")})`);
    const extractor = await createNodeClipExtractor(config);
    try {
      const bar = progressBar(io, "extracting", images.length);
      let reported = 0;
      const lines = await extractFeatureSet(images, extractor, (done) => {
        bar.tick(done - reported);
        reported = done;
      });
      bar.finish();
      const out = resolve(values.out);
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, toJsonl(lines));
      const labels = [...new Set(lines.map((line) => line.label))];
      const summary = { out, images: lines.length, classes: labels, skipped, clipModel: extractor.modelId, dtype: extractor.dtype };
      io.stdout(values.json ? JSON.stringify(summary) : `wrote ${lines.length} feature rows for ${labels.length} classes to ${out} (clipModel ${extractor.modelId}, ${extractor.dtype})`);
      return 0;
    } finally {
      await extractor.dispose();
    }
  },
};
