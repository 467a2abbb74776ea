/** `npm run fixtures:images`: (re)writes tests/fixtures/images/<class>/*.png. */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateDemoImages } from "./demoImages.ts";

export const demoImagesDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "tests", "fixtures", "images");

export async function writeDemoImages(folder = demoImagesDir, perClass = 3): Promise<string[]> {
  const written: string[] = [];
  for (const image of await generateDemoImages({ perClass })) {
    const target = join(folder, image.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, image.png);
    written.push(target);
  }
  return written;
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${resolve(process.argv[1])}`).href;
if (invokedDirectly) {
  const written = await writeDemoImages(process.argv[2] ? resolve(process.argv[2]) : demoImagesDir);
  process.stdout.write(`wrote ${written.length} images under ${process.argv[2] ?? demoImagesDir}\n`);
}
