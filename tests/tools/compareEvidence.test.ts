import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { compareModelsOnSet, formatEvidence, parseLabelledSetLines } from "../../tools/commands/compare.ts";
import { pairedEvidence } from "../../convex/lib/pairedStats.ts";
import { loadWeightsFile } from "../../tools/weightsFile.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { readFile } from "node:fs/promises";

const repoRoot = resolve(import.meta.dirname, "../..");
const demo = (name: string) => join(repoRoot, "weights/demo", name);

describe("what mlp compare says the set can tell", () => {
  it("the comparison's paired counts: the four cells add up to the set and match the per-version correct counts", async () => {
    const [a, b] = await Promise.all([loadWeightsFile(demo("demo-mlp.json")), loadWeightsFile(demo("demo-mlp-v2.json"))]);
    const set = parseLabelledSetLines(await readFile(demo("labelled-set.jsonl"), "utf8"), 512, a.model.classes, "labelled-set.jsonl");
    const comparison = compareModelsOnSet(a.model, b.model, set, 0);
    const counts = comparison.paired;
    expect(counts.n11 + counts.n10 + counts.n01 + counts.n00).toBe(120);
    expect(counts.n11 + counts.n10).toBe(comparison.baseline.correctCount);
    expect(counts.n11 + counts.n01).toBe(comparison.candidate.correctCount);
    expect(counts.n10).toBe(comparison.mcnemar.baselineOnlyCorrect);
    expect(Object.values(counts).every((count) => count >= 0)).toBe(true);
  });

  it("formatEvidence prints the interval, the power and the verdict", () => {
    const lines = formatEvidence(pairedEvidence({ n11: 18000, n10: 300, n01: 320, n00: 1380 }, { margin: 0.01 }));
    expect(lines[0]).toBe("discordant pairs: 620 (only A right 300, only B right 320)");
    expect(lines[1]).toMatch(/^McNemar mid-p: 0\.4\d{3}$/);
    expect(lines[2]).toMatch(/^accuracy B − A, 95% paired bootstrap CI: \[−0\.\d\d pp, \+0\.\d\d pp\] \(10000 resamples, seed 1\)$/);
    expect(lines[3]).toMatch(/^items for 80% power to detect a difference of \+0\.10 pp \(McNemar, α = 0\.05, Connor 1987\): \d+ \(the set has 20000\)$/);
    expect(lines[4]).toMatch(/^non-inferiority, margin 1\.00 pp \(Tango score test, one-sided α = 0\.05\): z = \d+\.\d\d, p = /);
    expect(lines[5]).toBe("verdict: no significant regression: B is not worse than A by the margin or more");
  });

  it("the demo's weaker v2 is significantly worse; --json carries the evidence; a bad --margin exits 1", async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "tools/cli.ts", "compare", "--set", demo("labelled-set.jsonl"), demo("demo-mlp.json"), demo("demo-mlp-v2.json"), "--margin", "0.05"], { cwd: repoRoot });
    expect(stdout).toContain("verdict: B is significantly worse than A");
    expect(stdout).toContain("non-inferiority, margin 5.00 pp");
    const json = capturedIo();
    expect(await runCli(["compare", "--set", demo("labelled-set.jsonl"), demo("demo-mlp.json"), demo("demo-mlp.json"), "--json"], json.io)).toBe(0);
    const report = JSON.parse(json.stdout.join("\n"));
    expect(report.evidence).toMatchObject({ discordantPairs: 0, verdict: "too-small-to-tell", itemsForPower: null, difference: 0 });
    const bad = capturedIo();
    expect(await runCli(["compare", "--set", demo("labelled-set.jsonl"), demo("demo-mlp.json"), demo("demo-mlp.json"), "--margin", "1.5"], bad.io)).toBe(1);
    expect(bad.stderr).toEqual(['mlp compare: --margin must be a fraction between 0 and 1 (0.01 is one percentage point), got "1.5"']);
  });
});
