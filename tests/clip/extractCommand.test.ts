import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../tools/cli.ts";
import { capturedIo } from "../lib/capturedIo.ts";
import { createNodeClipExtractor } from "../../tools/clipNode.ts";
import { listLabelledImages, type FeatureSetLine } from "../../tools/commands/extract.ts";
import { demoImagesDir } from "../../tools/writeDemoImages.ts";
import { tinyClipModelDir } from "../../tools/writeTinyClipModel.ts";

describe("mlp extract", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "mlp-extract-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it("writes one JSONL line per fixture image with its class and relative file, matching the Node extractor", async () => {
    const out = join(folder, "set.jsonl");
    const { io, stdout, stderr } = capturedIo();
    const code = await runCli(["extract", demoImagesDir, "--out", out, "--model-dir", tinyClipModelDir, "--json"], io);
    expect(stderr).toEqual([]);
    expect(code).toBe(0);
    expect(JSON.parse(stdout[0])).toMatchObject({ images: 36, clipModel: "tiny-clip", dtype: "q8", skipped: [] });
    const lines = (await readFile(out, "utf8")).trimEnd().split("\n").map((line) => JSON.parse(line) as FeatureSetLine);
    expect(lines).toHaveLength(36);
    expect(lines[0]).toMatchObject({ label: "autumn", file: "autumn/autumn-1.png" });
    expect(new Set(lines.map((line) => line.label)).size).toBe(12);
    const extractor = await createNodeClipExtractor({ modelDir: tinyClipModelDir });
    const expected = await extractor.extract(join(demoImagesDir, "autumn", "autumn-1.png"));
    await extractor.dispose();
    expect(lines[0].features).toEqual(Array.from(expected));
  });

  it("fails for a folder without class subfolders of images, saying what it expected", async () => {
    const empty = join(folder, "empty");
    await mkdir(empty);
    await copyFile(join(demoImagesDir, "fog", "fog-1.png"), join(empty, "loose.png"));
    const { io, stderr } = capturedIo();
    expect(await runCli(["extract", empty, "--out", join(folder, "none.jsonl"), "--model-dir", tinyClipModelDir], io)).toBe(1);
    expect(stderr.join("\n")).toMatch(/no images in ".*empty": expected class-named subfolders .*found 1 image\(s\) directly in it/);
  });

  it("skips non-image files with a note and fails on an unreadable image, naming it", async () => {
    const set = join(folder, "broken-set");
    await mkdir(join(set, "fog"), { recursive: true });
    await copyFile(join(demoImagesDir, "fog", "fog-1.png"), join(set, "fog", "good.png"));
    await writeFile(join(set, "fog", "notes.txt"), "not an image");
    await writeFile(join(set, "fog", "zz-broken.jpg"), "not a jpeg either");
    expect((await listLabelledImages(set)).skipped).toEqual(["fog/notes.txt"]);
    const { io, stderr } = capturedIo();
    expect(await runCli(["extract", set, "--out", join(folder, "broken.jsonl"), "--model-dir", tinyClipModelDir], io)).toBe(1);
    expect(stderr[0]).toBe('skipping "fog/notes.txt": not an image file (.png, .jpg, .jpeg, .webp, .gif, .avif, .tif, .tiff)');
    expect(stderr[1]).toMatch(/^mlp extract: ".*broken-set\/fog\/zz-broken\.jpg" could not be decoded: /);
  });

  it("rejects a bad --dtype and a missing --out before loading anything", async () => {
    const { io, stderr } = capturedIo();
    expect(await runCli(["extract", demoImagesDir, "--out", join(folder, "x.jsonl"), "--dtype", "fp16"], io)).toBe(1);
    expect(stderr).toEqual(['mlp extract: --dtype must be one of q8, fp32, found "fp16"']);
    const noOut = capturedIo();
    expect(await runCli(["extract", demoImagesDir], noOut.io)).toBe(1);
    expect(noOut.stderr).toEqual(["mlp extract: --out SET.jsonl is required"]);
  });
});
