/** `npm run fixtures:images`: (re)writes tests/fixtures/images/<class>/*.png. */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateDemoImages } from "./demoImages.ts";
import { writeFilesUnder } from "./fixtureFiles.ts";
import { isStartedScript } from "./startedScript.ts";

export const demoImagesDir = resolve(dirname(fileURLToPath(import.meta.url)), "..", "tests", "fixtures", "images");

export async function writeDemoImages(folder = demoImagesDir, perClass = 3): Promise<string[]> {
  const images = await generateDemoImages({ perClass });
  return writeFilesUnder(folder, images.map((image) => ({ path: image.path, bytes: image.png })));
}

if (isStartedScript(import.meta.url)) {
  const written = await writeDemoImages(process.argv[2] ? resolve(process.argv[2]) : demoImagesDir);
  process.stdout.write(`wrote ${written.length} images under ${process.argv[2] ?? demoImagesDir}\n`);
}
