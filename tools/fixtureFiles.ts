/** Helpers for the scripts that (re)write committed fixtures (`npm run models:tiny`, `npm run fixtures:images`). */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";

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

/** True when the module at `moduleUrl` is the script node was started with, not an import (tests import these scripts for their paths). */
export function isStartedScript(moduleUrl: string): boolean {
  return Boolean(process.argv[1]) && moduleUrl === new URL(`file://${resolve(process.argv[1])}`).href;
}
