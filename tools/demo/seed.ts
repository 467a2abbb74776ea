/**
 * Demo data, put in through the project's real public functions so the demo
 * starts in a state the product itself could have reached: settings, two
 * weights versions (the first active for two weeks), the labelled set, and
 * pictures classified over the past two weeks with a few labels.
 */
import { readdir, readFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Value } from "convex/values";
import sharp from "sharp";
import { importWeightsJson } from "../../convex/lib/weightsImport.ts";
import { toMlpModel } from "../../convex/lib/mlpModel.ts";
import { encodeWeights } from "../../convex/lib/weightsBinary.ts";
import type { CanonicalWeights } from "../../convex/lib/weightsFormat.ts";
import type { DemoSeedContext } from "./demoBackend.ts";

const projectRoot = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const dayMs = 24 * 3_600_000;

export interface DemoSeedOptions {
  /** The CLIP model the browser extracts features with; recorded in the settings. */
  clipModelId?: string;
  /** Folder of the CLIP model used for the seeded pictures' features (default models/<clipModelId>). */
  clipModelDir?: string;
  weightsDir?: string;
  imagesDir?: string;
  /** Pictures per class to seed (spread over the past days). */
  picturesPerClass?: number;
  /** Classes to seed pictures for (default: the first six of the active version). */
  pictureClasses?: string[];
}

export interface DemoSeedSummary {
  versionIds: string[];
  activeVersionId: string | null;
  labelledItems: number;
  pictureIds: string[];
  /** Why a step was left out, e.g. the demo weights do not match a user-supplied CLIP model. */
  notes: string[];
}

export const DEMO_WEIGHTS_FILES = ["demo-mlp.json", "demo-mlp-v2.json"] as const;
export const DEMO_LABELLED_SET_FILE = "labelled-set.jsonl";
const LABELLED_CHUNK = 200;
/** Pictures are spread over this many days, ending today: two weeks fill both of the analytics page's default drift windows. */
const SEEDED_DAYS = 14;

export class DemoSeedError extends Error {
  constructor(file: string, problem: string) {
    super(`Demo seed failed on ${file}: ${problem}`);
    this.name = "DemoSeedError";
  }
}

export async function readDemoWeights(file: string): Promise<CanonicalWeights> {
  const result = importWeightsJson(await readFile(file, "utf8"));
  if (!result.ok) {
    throw new DemoSeedError(file, result.problems.map((problem) => `${problem.path || "(file)"}: ${problem.message}`).join("; "));
  }
  return result.weights;
}

export async function readLabelledSet(file: string): Promise<Array<{ features: number[]; label: string }>> {
  const lines = (await readFile(file, "utf8")).split("\n");
  const items: Array<{ features: number[]; label: string }> = [];
  lines.forEach((line, index) => {
    if (line.trim() === "") return;
    const item = JSON.parse(line) as { features?: unknown; label?: unknown };
    if (!Array.isArray(item.features) || typeof item.label !== "string") {
      throw new DemoSeedError(file, `line ${index + 1}: expected {"features": number[], "label": string}`);
    }
    items.push({ features: item.features as number[], label: item.label });
  });
  return items;
}

async function listImages(imagesDir: string, className: string): Promise<string[]> {
  const folder = join(imagesDir, className);
  const names = await readdir(folder).catch(() => [] as string[]);
  return names.filter((name) => /\.(png|jpe?g|webp)$/i.test(name)).sort().map((name) => join(folder, name));
}

/**
 * convex-test keeps commit timestamps increasing (a transaction never gets an
 * earlier time than the last commit), so seeded history must be written in
 * time order: the oldest day first, today last.
 */
export async function seedDemo(context: DemoSeedContext, options: DemoSeedOptions = {}): Promise<DemoSeedSummary> {
  const clipModelId = options.clipModelId ?? "tiny-clip";
  const weightsDir = options.weightsDir ?? resolve(projectRoot, "weights", "demo");
  const imagesDir = options.imagesDir ?? resolve(projectRoot, "tests", "fixtures", "images");
  const summary: DemoSeedSummary = { versionIds: [], activeVersionId: null, labelledItems: 0, pictureIds: [], notes: [] };
  const [first, second] = await Promise.all(DEMO_WEIGHTS_FILES.map((fileName) => readDemoWeights(join(weightsDir, fileName))));
  const clipMatches = first.input.clipModel === clipModelId;

  // Before the first seeded picture: the first version goes live, so the analyst's charts have history behind them.
  await context.atTimeOffset(-SEEDED_DAYS * dayMs, async () => {
    await context.callAs("admin", "mutation", "settings:update", { clipModelId });
    summary.versionIds.push(await registerVersion(context, first, "Demo weights, first training run."));
    if (clipMatches) {
      await context.callAs("admin", "action", "deployment:activate", {
        versionId: summary.versionIds[0],
        reason: "Demo seed: first version goes live.",
      });
      summary.activeVersionId = summary.versionIds[0];
      // The set's features come from the same model as the weights: useless against any other.
      const labelled = await readLabelledSet(join(weightsDir, DEMO_LABELLED_SET_FILE));
      for (let start = 0; start < labelled.length; start += LABELLED_CHUNK) {
        await context.callAs("admin", "mutation", "labelledSet:importItems", {
          name: "demo labelled set",
          items: labelled.slice(start, start + LABELLED_CHUNK),
        });
      }
      summary.labelledItems = labelled.length;
    }
  });

  const registerSecond = async () => {
    summary.versionIds.push(
      await context.atTimeOffset(-dayMs, () => registerVersion(context, second, "Demo weights, retrained with fewer epochs: a candidate to compare.")),
    );
  };

  if (!clipMatches) {
    await registerSecond();
    summary.notes.push(
      `The demo weights were trained on "${first.input.clipModel}" features but the browser uses "${clipModelId}": no version was activated and no labelled set or pictures were seeded. Import weights trained on "${clipModelId}" as admin.`,
    );
    return summary;
  }

  summary.pictureIds = await seedPictures(context, {
    clipModelId,
    clipModelDir: options.clipModelDir ?? resolve(projectRoot, "models", clipModelId),
    imagesDir,
    classes: options.pictureClasses ?? first.classes.slice(0, 6),
    perClass: options.picturesPerClass ?? 3,
    beforeDay: (daysAgo) => (daysAgo === 1 ? registerSecond() : Promise.resolve()),
  });
  if (summary.versionIds.length < 2) await registerSecond();
  return summary;
}

async function registerVersion(context: DemoSeedContext, weights: CanonicalWeights, notes: string): Promise<string> {
  const bytes = encodeWeights(toMlpModel(weights));
  const storageId = await context.storeBlob(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: "application/octet-stream" }));
  const registered = await context.callAs("admin", "action", "models:register", { storageId, name: weights.name, notes });
  return versionIdOf(registered);
}

function versionIdOf(registered: Value): string {
  if (registered !== null && typeof registered === "object" && "versionId" in registered && typeof registered.versionId === "string") {
    return registered.versionId;
  }
  throw new DemoSeedError("models:register", `expected {versionId, number, name}, got ${JSON.stringify(registered)}`);
}

async function seedPictures(
  context: DemoSeedContext,
  options: {
    clipModelId: string;
    clipModelDir: string;
    imagesDir: string;
    classes: string[];
    perClass: number;
    /** Runs once per day, oldest first, before that day's pictures. */
    beforeDay: (daysAgo: number) => Promise<void>;
  },
): Promise<string[]> {
  const files: Array<{ path: string; className: string }> = [];
  for (const className of options.classes) {
    for (const path of (await listImages(options.imagesDir, className)).slice(0, options.perClass)) files.push({ path, className });
  }
  // Loaded only when pictures are seeded: onnxruntime-node takes a moment to start.
  const { createNodeClipExtractor } = await import("../clipNode.ts");
  const extractor = await createNodeClipExtractor({ modelDir: options.clipModelDir, modelId: options.clipModelId });
  const pictureIds: string[] = [];
  try {
    for (let daysAgo = SEEDED_DAYS - 1; daysAgo >= 0; daysAgo -= 1) {
      await options.beforeDay(daysAgo);
      // Every SEEDED_DAYS-th picture lands on the same day, so each day mixes classes.
      const todays = files.filter((_, index) => SEEDED_DAYS - 1 - (index % SEEDED_DAYS) === daysAgo);
      for (const [index, file] of todays.entries()) {
        const bytes = await readFile(file.path);
        const { width, height } = await sharp(bytes).metadata();
        const features = Array.from(await extractor.extract(file.path));
        const pictureId = await context.atTimeOffset(-daysAgo * dayMs, async () => {
          const storageId = await context.storeBlob(new Blob([new Uint8Array(bytes)], { type: "image/png" }));
          const id = (await context.callAs("labeller", "mutation", "pictures:record", {
            storageId,
            fileName: basename(file.path),
            contentType: "image/png",
            ...(width ? { width } : {}),
            ...(height ? { height } : {}),
          })) as string;
          await context.callAs("labeller", "action", "classifications:classify", { pictureId: id, clipFeatures: features });
          // Some confirmed labels so "predicted vs confirmed" has data; the rest wait in the review queue.
          if (index === 0 && daysAgo > 0) await context.callAs("labeller", "mutation", "labels:set", { pictureId: id, label: file.className });
          return id;
        });
        pictureIds.push(pictureId);
      }
    }
  } finally {
    await extractor.dispose();
  }
  return pictureIds;
}
