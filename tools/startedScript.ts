import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * True when the module at `moduleUrl` is the script node was started with,
 * not an import (tests import these scripts for their functions and paths).
 * pathToFileURL escapes what a hand-built file:// URL would not (spaces,
 * "#", "%", Windows drives).
 */
export function isStartedScript(moduleUrl: string): boolean {
  const started = process.argv[1];
  return started !== undefined && started !== "" && moduleUrl === pathToFileURL(resolve(started)).href;
}
