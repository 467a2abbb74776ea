/**
 * `npm run bench`: every figure measured in this run against a reference,
 * as a table (or one JSON object with --json). The stages are pure
 * measurement functions in this folder; this file only chooses settings,
 * reports progress on stderr and prints.
 */
import { cpus, loadavg } from "node:os";
import { CliError, parseCommandArgs, processIo, type CliIo } from "../cliKit.ts";
import { isStartedScript } from "../startedScript.ts";
import { measureClassificationAction } from "./actionStage.ts";
import { measureBrowserExtraction, type ClipDtype } from "./browserStage.ts";
import { measureColdStart } from "./coldStage.ts";
import { loadDemoBenchModel, makeRandomBenchModel } from "./benchModels.ts";
import { measureDecode } from "./decodeStage.ts";
import type { BenchFigure, StageReport } from "./figures.ts";
import { measureForward, measureScaling } from "./forwardStage.ts";
import { measureReplay } from "./replayStage.ts";
import { measureScale } from "./scaleStage.ts";
import { formatReport, type BenchReport } from "./report.ts";
import { enableRelaxedSimd } from "../relaxedSimd.ts";
import type { TimingOptions } from "./timing.ts";

export const stageNames = ["forward", "scaling", "decode", "cold", "action", "replay", "scale", "browser"] as const;
export type StageName = (typeof stageNames)[number];

/** A model about ten times the product's (1.58 M vs 0.17 M parameters) for the decode comparison. */
export const LARGE_MODEL_DIMS = [512, 1536, 512, 12] as const;

export interface BenchSettings {
  /** Smoke-run settings: the report says its figures mean nothing. */
  quick: boolean;
  forward: TimingOptions;
  scaling: TimingOptions;
  scalingBatchSizes: number[];
  decode: TimingOptions;
  /** Fresh contexts timed by the cold stage. */
  coldContexts: number;
  action: TimingOptions;
  replay: TimingOptions;
  batchSize: number;
  replayEndToEndCount: number;
  replayEndToEndRuns: number;
  /** Labelled items evaluation.compare streams in the scale stage. */
  scaleLabelledItems: number;
  /** Stored classifications under the scale stage's History pages. */
  scalePictures: number;
  scaleRuns: number;
  browserDtypes: ClipDtype[];
  browserWarmupRuns: number;
  browserTimedRuns: number;
}

export const fullSettings: BenchSettings = {
  quick: false,
  forward: { trials: 15, minTrialMs: 60, warmupMs: 1500 },
  scaling: { trials: 5, minTrialMs: 40, warmupMs: 300 },
  scalingBatchSizes: [1, 16, 256, 1024],
  decode: { trials: 11, minTrialMs: 40, warmupMs: 500 },
  coldContexts: 15,
  action: { trials: 11, minTrialMs: 250, warmupMs: 500 },
  replay: { trials: 11, minTrialMs: 60, warmupMs: 500 },
  batchSize: 1024,
  replayEndToEndCount: 10_000,
  replayEndToEndRuns: 1,
  scaleLabelledItems: 10_000,
  scalePictures: 5_000,
  scaleRuns: 5,
  browserDtypes: ["q8", "fp32"],
  browserWarmupRuns: 3,
  browserTimedRuns: 10,
};

/** For tests and smoke runs: every code path, almost no repetition. Figures from it mean nothing. */
export const quickSettings: BenchSettings = {
  quick: true,
  forward: { trials: 2, minTrialMs: 1, warmupMs: 0 },
  scaling: { trials: 2, minTrialMs: 1, warmupMs: 0 },
  scalingBatchSizes: [1, 4],
  decode: { trials: 2, minTrialMs: 1, warmupMs: 0 },
  coldContexts: 2,
  action: { trials: 2, minTrialMs: 1, warmupMs: 0 },
  replay: { trials: 2, minTrialMs: 1, warmupMs: 0 },
  batchSize: 16,
  replayEndToEndCount: 100,
  replayEndToEndRuns: 1,
  scaleLabelledItems: 300,
  scalePictures: 250,
  scaleRuns: 1,
  browserDtypes: ["q8"],
  browserWarmupRuns: 1,
  browserTimedRuns: 2,
};

export interface RunBenchOptions {
  stages: readonly StageName[];
  settings: BenchSettings;
  command?: string;
  onProgress?: (line: string) => void;
}

const stageTitles: Record<StageName, string> = {
  forward: "MLP forward vs onnxruntime-node",
  scaling: "forward cost vs batch size and model size",
  decode: "weight decode vs JSON.parse",
  cold: "decode + forward in fresh contexts",
  action: "classification action in convex-test",
  replay: "replay throughput",
  scale: "compare on a year's labelled set, History pages over stored pictures",
  browser: "CLIP extraction in headless Chromium",
};

/** Relaxed SIMD, enabled for this process where Node has it behind a flag, so its kernel is measured too; "unavailable" otherwise. */
function relaxedSimdForBench(): string {
  try {
    return enableRelaxedSimd();
  } catch {
    return "unavailable";
  }
}

export async function runBench({ stages, settings, command = "npm run bench", onProgress }: RunBenchOptions): Promise<BenchReport> {
  const startedAt = new Date().toISOString();
  const relaxedSimd = relaxedSimdForBench();
  const demo = await loadDemoBenchModel();
  let large: ReturnType<typeof makeRandomBenchModel> | undefined;
  const largeModel = () => (large ??= makeRandomBenchModel(LARGE_MODEL_DIMS));
  const reports: StageReport[] = [];
  let index = 0;
  for (const stage of stages) {
    index += 1;
    onProgress?.(`bench [${index}/${stages.length}] ${stageTitles[stage]}…`);
    const started = performance.now();
    let figures: BenchFigure[] = [];
    let skipped: string | undefined;
    switch (stage) {
      case "forward":
        figures = await measureForward({ bench: demo, batchSize: settings.batchSize, timing: settings.forward });
        break;
      case "scaling":
        figures = await measureScaling({
          models: [
            { key: "demo", bench: demo },
            { key: "large", bench: largeModel() },
          ],
          batchSizes: settings.scalingBatchSizes,
          timing: settings.scaling,
        });
        break;
      case "decode":
        figures = await measureDecode({
          models: [
            { key: "demo", bench: demo, target: { kind: "maxMs", value: 0.5 } },
            { key: "large", bench: largeModel() },
          ],
          timing: settings.decode,
        });
        break;
      case "cold":
        figures = await measureColdStart({ bench: demo, contexts: settings.coldContexts });
        break;
      case "action":
        figures = await measureClassificationAction({ bench: demo, timing: settings.action });
        break;
      case "replay":
        figures = await measureReplay({
          bench: demo,
          timing: settings.replay,
          endToEndCount: settings.replayEndToEndCount,
          endToEndRuns: settings.replayEndToEndRuns,
        });
        break;
      case "scale":
        figures = await measureScale({ bench: demo, labelledItems: settings.scaleLabelledItems, pictures: settings.scalePictures, runs: settings.scaleRuns });
        break;
      case "browser": {
        const browser = await measureBrowserExtraction({
          dtypes: settings.browserDtypes,
          warmupRuns: settings.browserWarmupRuns,
          timedRuns: settings.browserTimedRuns,
          onProgress,
        });
        figures = browser.figures;
        skipped = browser.skipped;
        break;
      }
    }
    reports.push(skipped === undefined ? { stage, figures } : { stage, figures, skipped });
    onProgress?.(`bench [${index}/${stages.length}] ${stageTitles[stage]} done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
  const cpuList = cpus();
  return {
    startedAt,
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? "unknown",
      node: process.versions.node,
      v8: process.versions.v8,
      relaxedSimd,
      platform: `${process.platform}-${process.arch}`,
      loadAverage: loadavg(),
    },
    command,
    quick: settings.quick,
    stages: reports,
  };
}

export const benchHelp = `usage: npm run bench [-- options]

Measures the server-side paths against references in one run and prints a
table with each ratio, absolute times and whether the issue's target is met.

options:
  --json             print one JSON object instead of the table
  --only LIST        comma-separated stages to run: ${stageNames.join(", ")} (default: all)
  --quick            a few iterations only, to check the bench runs; the figures mean nothing
  --browser-dtypes L comma-separated CLIP dtypes for the browser stage: q8, fp32 (default: both)
  --browser-runs N   timed images per browser configuration (default ${fullSettings.browserTimedRuns})
  -h, --help         this text

The browser stage generates a CLIP ViT-B/32-sized model (random weights,
about 450 MB) under models/generated/ on first use with Debian's
python3-torch, and drives /usr/bin/chromium; it is skipped, saying why, when
either is missing. Progress goes to stderr. See docs/performance.md.`;

const clipDtypes: readonly ClipDtype[] = ["q8", "fp32"];

function parseDtypes(value: string | undefined, fallback: ClipDtype[]): ClipDtype[] {
  if (value === undefined) return fallback;
  const requested = value.split(",").map((name) => name.trim()).filter(Boolean);
  if (requested.length === 0 || requested.some((name) => !(clipDtypes as readonly string[]).includes(name))) {
    throw new CliError(`--browser-dtypes expects a comma-separated list of ${clipDtypes.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return requested as ClipDtype[];
}

function parseRuns(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const runs = Number(value);
  if (!Number.isInteger(runs) || runs < 1 || runs > 1000) throw new CliError(`--browser-runs expects a whole number from 1 to 1000; got ${JSON.stringify(value)}`);
  return runs;
}

function parseStages(value: string | undefined): StageName[] {
  if (value === undefined) return [...stageNames];
  const requested = value.split(",").map((name) => name.trim()).filter(Boolean);
  const unknown = requested.filter((name) => !(stageNames as readonly string[]).includes(name));
  if (unknown.length > 0 || requested.length === 0) {
    throw new CliError(`--only expects a comma-separated list of ${stageNames.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return requested as StageName[];
}

export async function runBenchCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    json: { type: "boolean" },
    only: { type: "string" },
    quick: { type: "boolean" },
    "browser-dtypes": { type: "string" },
    "browser-runs": { type: "string" },
  });
  if (values.help) {
    io.stdout(benchHelp);
    return 0;
  }
  const stages = parseStages(values.only as string | undefined);
  const base = values.quick ? quickSettings : fullSettings;
  const settings: BenchSettings = {
    ...base,
    browserDtypes: parseDtypes(values["browser-dtypes"] as string | undefined, base.browserDtypes),
    browserTimedRuns: parseRuns(values["browser-runs"] as string | undefined, base.browserTimedRuns),
  };
  const report = await runBench({
    stages,
    settings,
    command: ["npm run bench", ...(argv.length > 0 ? ["--", ...argv] : [])].join(" "),
    onProgress: io.stderr,
  });
  io.stdout(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  return 0;
}

if (isStartedScript(import.meta.url)) {
  runBenchCli(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      processIo.stderr(`bench: ${error instanceof CliError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
