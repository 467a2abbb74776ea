/** `npm run models:tiny`: (re)writes the committed models/tiny-clip fixture. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateTinyClipModel, TINY_CLIP_MODEL_ID } from "./tinyClipModel.ts";

export const tinyClipModelDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "models", TINY_CLIP_MODEL_ID);

export async function writeTinyClipModel(folder = tinyClipModelDir): Promise<string[]> {
  const written: string[] = [];
  for (const file of generateTinyClipModel()) {
    const target = join(folder, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.bytes);
    written.push(target);
  }
  return written;
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href;
if (invokedDirectly) {
  const written = await writeTinyClipModel(process.argv[2] ? resolve(process.argv[2]) : tinyClipModelDir);
  process.stdout.write(written.map((path) => `wrote ${path}`).join("\n") + "\n");
}
