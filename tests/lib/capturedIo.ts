/** A CliIo for tests of the `mlp` CLI that keeps what a command printed, line by line. */
import type { CliIo } from "../../tools/cliKit.ts";

export function capturedIo(): { io: CliIo; stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const io: CliIo = { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line), isTty: false };
  return { io, stdout, stderr };
}
