import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";

const demoWeights = join(import.meta.dirname, "..", "..", "weights", "demo", "demo-mlp.json");

const fixture = (className: string, index: number) => join(demoImagesDir, className, `${className}-${index}.png`);

describe("mlp classify", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "mlp-classify-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it("classifies images with tiny-clip weights, finding models/tiny-clip on its own", async () => {
    const { io, stdout, stderr } = capturedIo();
    const images = [fixture("sunset", 1), fixture("ocean", 2), fixture("roses", 3)];
    expect(await runCli(["classify", ...images, "--weights", demoWeights, "--json"], io)).toBe(0);
    expect(stderr).toEqual([]);
    const lines = stdout.map((line) => JSON.parse(line) as { file: string; label: string; confidence: number; probabilities: Record<string, number> });
    expect(lines.map((line) => [line.file, line.label])).toEqual([
      [images[0], "sunset"],
      [images[1], "ocean"],
      [images[2], "roses"],
    ]);
    for (const line of lines) {
      expect(Object.keys(line.probabilities)).toHaveLength(12);
      expect(Object.values(line.probabilities).reduce((sum, p) => sum + p, 0)).toBeCloseTo(1, 5);
      expect(line.confidence).toBe(line.probabilities[line.label]);
    }
  });

  it("prints the top classes per image and reports an unreadable image without stopping the others", async () => {
    const broken = join(folder, "broken.png");
    await writeFile(broken, "not a png");
    const { io, stdout } = capturedIo();
    expect(await runCli(["classify", broken, fixture("fog", 1), "--weights", demoWeights, "--top", "2"], io)).toBe(1);
    expect(stdout[0]).toMatch(/^.*broken\.png: error: ".*broken\.png" could not be decoded: /);
    expect(stdout[1]).toMatch(/fog-1\.png: fog \d+\.\d%, \w+ \d+\.\d%$/);
  });

  it("refuses to feed the MLP features from a different CLIP model than it was trained on", async () => {
    const { io, stderr } = capturedIo();
    const code = await runCli(["classify", fixture("fog", 1), "--weights", demoWeights, "--clip-model", "Xenova/clip-vit-base-patch32", "--model-dir", "models/tiny-clip"], io);
    expect(code).toBe(1);
    expect(stderr).toEqual([
      'warning: input.clipModel overridden: "tiny-clip" → "Xenova/clip-vit-base-patch32"',
      `mlp classify: ${demoWeights} was trained on features of "Xenova/clip-vit-base-patch32" but the extractor loads "tiny-clip"; load that model (--model-id/--model-dir)`,
    ]);
  });

  it("needs images and --weights", async () => {
    const { io, stderr } = capturedIo();
    expect(await runCli(["classify", "--weights", demoWeights], io)).toBe(1);
    expect(stderr).toEqual(["mlp classify: expected at least one IMAGE to classify"]);
  });
});
