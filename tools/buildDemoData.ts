/**
 * `npm run demo:data`: rebuilds everything in weights/demo/ from scratch.
 *
 * Synthetic scene images (tools/demoImages.ts) → tiny-clip features
 * (tools/clipNode.ts) → weights/demo/train_demo_mlp.py (PyTorch) →
 * tools/export_mlp_weights.py → canonical JSON, then scores both versions
 * on the labelled set with the product's own engine (mlpForward).
 *
 * The training features are written to a temporary folder and discarded:
 * they are fully reproducible from the seeds below, and at ~2 MB they are
 * not worth committing. The labelled set is committed because later work
 * (version comparisons, e2e) reads it.
 */
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { mlpForward } from "../convex/lib/mlpForward.ts";
import { toMlpModel } from "../convex/lib/mlpModel.ts";
import { importWeightsJson } from "../convex/lib/weightsImport.ts";
import type { CanonicalWeights } from "../convex/lib/weightsFormat.ts";
import { processIo, progressBar, type CliIo } from "./cliKit.ts";
import type { ClipDtype } from "../src/clip/clipConfig.ts";
import { createNodeClipExtractor } from "./clipNode.ts";
import { demoClasses, generateDemoImages, type DemoClass } from "./demoImages.ts";
import { isStartedScript } from "./startedScript.ts";
import { TINY_CLIP_MODEL_ID } from "./tinyClipModel.ts";
import { findTorchPython } from "./torchPython.ts";

const repoRoot = resolve(import.meta.dirname, "..");

/** Seeds for the two image sets; both differ from demoImages' default (1), which e2e uploads use. */
export const DEMO_TRAIN_SEED = 101;
export const DEMO_LABELLED_SEED = 202;

/** v2 is deliberately weaker: a few epochs on two thirds of the classes' examples. */
export const DEMO_V2_TRAINED_CLASSES: readonly DemoClass[] = ["sunset", "forest", "ocean", "snow", "desert", "night", "meadow", "lava"];

export interface DemoDataOptions {
  outDir: string;
  modelDir: string;
  dtype: ClipDtype;
  trainPerClass: number;
  labelledPerClass: number;
  v1Epochs: number;
  v2Epochs: number;
}

export const defaultDemoDataOptions: DemoDataOptions = {
  outDir: join(repoRoot, "weights/demo"),
  modelDir: join(repoRoot, "models/tiny-clip"),
  dtype: "fp32",
  trainPerClass: 30,
  labelledPerClass: 10,
  v1Epochs: 60,
  v2Epochs: 10,
};

export interface LabelledFeatures {
  features: number[];
  label: DemoClass;
}

export interface DemoVersionSummary {
  file: string;
  name: string;
  trainingExamples: number;
  epochs: number;
  labelledAccuracy: number;
}

export interface DemoDataSummary {
  trainExamples: number;
  labelledExamples: number;
  versions: DemoVersionSummary[];
}

/** The shortest decimal that reads back to exactly this float32 (JSON.stringify would print the float64 expansion). */
export function float32Text(value: number): string {
  const target = Math.fround(value);
  for (let digits = 1; digits < 9; digits++) {
    const text = String(Number(target.toPrecision(digits)));
    if (Math.fround(Number(text)) === target) return text;
  }
  return String(Number(target.toPrecision(9)));
}

/** One `{features, label}` line per example, features at full float32 precision. */
export function toJsonl(examples: readonly LabelledFeatures[]): string {
  return examples.map((example) => `{"features":[${example.features.map(float32Text).join(",")}],"label":${JSON.stringify(example.label)}}`).join("\n") + "\n";
}

export function labelledAccuracy(weights: CanonicalWeights, examples: readonly LabelledFeatures[]): number {
  const model = toMlpModel(weights);
  const correct = examples.filter((example) => mlpForward(model, example.features).label === example.label).length;
  return correct / examples.length;
}

/**
 * A small weights file with three independent shape problems, for the
 * "every shape problem is shown" checks: the first layer takes 500 inputs
 * while input.dim is 512, layers[1].weight is 8×15 while layers[0] outputs
 * 16, and layers[2].bias has 11 entries for a 12-row weight.
 */
export function brokenShapesWeights(): CanonicalWeights {
  let state = 0x0b0c_ced5;
  const random = () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    // `|| 0` turns -0 into 0, so the file and this function agree exactly.
    return Math.round((state / 2 ** 32 - 0.5) * 2000) / 10_000 || 0;
  };
  const matrix = (rows: number, columns: number) => Array.from({ length: rows }, () => Array.from({ length: columns }, random));
  const vector = (length: number) => Array.from({ length }, random);
  return {
    format: "clip-mlp-weights",
    formatVersion: 1,
    name: "broken-shapes",
    classes: [...demoClasses],
    input: { dim: 512, clipModel: TINY_CLIP_MODEL_ID, normalize: "l2" },
    layers: [
      { weight: matrix(16, 500), bias: vector(16), activation: "relu" },
      { weight: matrix(8, 15), bias: vector(8), activation: "relu" },
      { weight: matrix(12, 8), bias: vector(11), activation: "none" },
    ],
    outputActivation: "sigmoid-normalized",
  };
}

function runProcess(command: string, args: string[]): Promise<string> {
  return new Promise((done, fail) => {
    execFile(command, args, { cwd: repoRoot, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`${relative(repoRoot, args[0])} failed: ${stderr.trim() || error.message}`));
      else done(stdout);
    });
  });
}

async function extractLabelledFeatures(options: DemoDataOptions, io: CliIo): Promise<{ train: LabelledFeatures[]; labelled: LabelledFeatures[] }> {
  const [trainImages, labelledImages] = await Promise.all([
    generateDemoImages({ perClass: options.trainPerClass, seed: DEMO_TRAIN_SEED }),
    generateDemoImages({ perClass: options.labelledPerClass, seed: DEMO_LABELLED_SEED }),
  ]);
  const images = [...trainImages, ...labelledImages];
  const clip = await createNodeClipExtractor({ modelDir: options.modelDir, modelId: TINY_CLIP_MODEL_ID, dtype: options.dtype });
  const progress = progressBar(io, "extracting tiny-clip features", images.length);
  let reported = 0;
  try {
    const features = await clip.extractBatch(
      images.map((image) => ({ name: image.path, bytes: image.png })),
      {
        batchSize: 16,
        onProgress: (done) => {
          progress.tick(done - reported);
          reported = done;
        },
      },
    );
    const examples = images.map((image, i) => ({ features: Array.from(features[i]), label: image.className }));
    return { train: examples.slice(0, trainImages.length), labelled: examples.slice(trainImages.length) };
  } finally {
    progress.finish();
    await clip.dispose();
  }
}

interface TrainingRun {
  file: string;
  name: string;
  epochs: number;
  onlyClasses?: readonly DemoClass[];
  seed: number;
}

async function trainAndExport(python: string, run: TrainingRun, paths: { train: string; classes: string; labelled: string; scratch: string; outDir: string }) {
  const checkpoint = join(paths.scratch, `${run.name}.pt`);
  const trainArgs = [
    join(repoRoot, "weights/demo/train_demo_mlp.py"),
    "--train", paths.train, "--classes", paths.classes, "--out", checkpoint,
    "--normalize", "l2", "--epochs", String(run.epochs), "--seed", String(run.seed), "--evaluate", paths.labelled,
  ];
  if (run.onlyClasses) trainArgs.push("--only-classes", run.onlyClasses.join(","));
  const training = JSON.parse(await runProcess(python, trainArgs)) as { examples: number; epochs: number };
  await runProcess(python, [
    join(repoRoot, "tools/export_mlp_weights.py"),
    "--checkpoint", checkpoint, "--out", join(paths.outDir, run.file), "--classes", paths.classes,
    "--normalize", "l2", "--output-activation", "sigmoid-normalized", "--name", run.name, "--clip-model", TINY_CLIP_MODEL_ID,
  ]);
  return training;
}

async function readWeights(path: string): Promise<CanonicalWeights> {
  const result = importWeightsJson(await readFile(path, "utf8"));
  if (!result.ok) throw new Error(`${path} does not validate: ${result.problems.map((p) => p.message).join("; ")}`);
  return result.weights;
}

export async function buildDemoData(options: DemoDataOptions = defaultDemoDataOptions, io: CliIo = processIo): Promise<DemoDataSummary> {
  const python = await findTorchPython();
  await mkdir(options.outDir, { recursive: true });
  const scratch = await mkdtemp(join(tmpdir(), "demo-data-"));
  try {
    const { train, labelled } = await extractLabelledFeatures(options, io);
    const paths = {
      train: join(scratch, "train.jsonl"),
      classes: join(options.outDir, "classes.json"),
      labelled: join(options.outDir, "labelled-set.jsonl"),
      scratch,
      outDir: options.outDir,
    };
    await Promise.all([
      writeFile(paths.train, toJsonl(train)),
      writeFile(paths.classes, JSON.stringify(demoClasses) + "\n"),
      writeFile(paths.labelled, toJsonl(labelled)),
      writeFile(join(options.outDir, "broken-shapes.json"), JSON.stringify(brokenShapesWeights()) + "\n"),
    ]);
    const runs: TrainingRun[] = [
      { file: "demo-mlp.json", name: "demo-mlp", epochs: options.v1Epochs, seed: 7 },
      { file: "demo-mlp-v2.json", name: "demo-mlp-v2", epochs: options.v2Epochs, onlyClasses: DEMO_V2_TRAINED_CLASSES, seed: 8 },
    ];
    const trainings = await Promise.all(runs.map((run) => trainAndExport(python, run, paths)));
    const versions: DemoVersionSummary[] = [];
    for (const [i, run] of runs.entries()) {
      const weights = await readWeights(join(options.outDir, run.file));
      versions.push({
        file: relative(repoRoot, join(options.outDir, run.file)),
        name: run.name,
        trainingExamples: trainings[i].examples,
        epochs: trainings[i].epochs,
        labelledAccuracy: labelledAccuracy(weights, labelled),
      });
    }
    return { trainExamples: train.length, labelledExamples: labelled.length, versions };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

if (isStartedScript(import.meta.url)) {
  buildDemoData().then(
    (summary) => {
      processIo.stdout(`features: ${summary.trainExamples} training examples (not kept), ${summary.labelledExamples} labelled examples`);
      for (const version of summary.versions) {
        processIo.stdout(
          `${version.file}: ${version.name}, ${version.trainingExamples} examples × ${version.epochs} epochs, ` +
            `labelled-set accuracy ${(version.labelledAccuracy * 100).toFixed(1)}%`,
        );
      }
    },
    (error: unknown) => {
      processIo.stderr(`demo:data: ${error instanceof Error ? error.message : String(error)}`);
      process.exitCode = 1;
    },
  );
}
