/** `npm run models:tiny`: (re)writes the committed models/tiny-clip fixture. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFilesUnder } from "./fixtureFiles.ts";
import { isStartedScript } from "./startedScript.ts";
import { generateTinyClipModel, TINY_CLIP_MODEL_ID } from "./tinyClipModel.ts";

export const tinyClipModelDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "models", TINY_CLIP_MODEL_ID);

export async function writeTinyClipModel(folder = tinyClipModelDir): Promise<string[]> {
  return writeFilesUnder(folder, generateTinyClipModel());
}

if (isStartedScript(import.meta.url)) {
  const written = await writeTinyClipModel(process.argv[2] ? resolve(process.argv[2]) : tinyClipModelDir);
  process.stdout.write(written.map((path) => `wrote ${path}`).join("\n") + "\n");
}
