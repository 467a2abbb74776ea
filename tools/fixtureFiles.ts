/** Helpers for the scripts that (re)write committed fixtures (`npm run models:tiny`, `npm run fixtures:images`). */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";

export interface FixtureFile {
  /** Path inside the folder, with forward slashes. */
  path: string;
  bytes: Uint8Array;
}

/** Writes each file under `folder`, creating subfolders; returns the paths written. */
export async function writeFilesUnder(folder: string, files: Iterable<FixtureFile>): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const target = join(folder, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.bytes);
    written.push(target);
  }
  return written;
}
