/**
 * Shared plumbing for `mlp` subcommands: the command shape, argument
 * parsing, a user-facing error type and a progress bar. Each subcommand in
 * tools/commands/ exports a pure function (the work) plus a `command`
 * (parsing, printing, exit code) built from these.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

export interface CliIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Progress goes to stderr on a TTY only, so piped stdout stays clean. */
  isTty: boolean;
}

export const processIo: CliIo = {
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
  isTty: Boolean(process.stderr.isTTY),
};

export interface CliCommand {
  name: string;
  summary: string;
  /** Full help text printed by `mlp <name> --help`. */
  help: string;
  run: (argv: string[], io: CliIo) => Promise<number>;
}

/** An error whose message is meant for the user: printed as one line, exit 1. */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = "CliError";
  }
}

export type ParseOptions = NonNullable<ParseArgsConfig["options"]>;

export function parseCommandArgs<T extends ParseOptions>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(error instanceof Error ? error.message : String(error));
  }
}

export function progressBar(io: CliIo, label: string, total: number) {
  let done = 0;
  const width = 30;
  const render = () => {
    if (!io.isTty || total === 0) return;
    const filled = Math.round((done / total) * width);
    process.stderr.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`);
  };
  render();
  return {
    tick(step = 1) {
      done += step;
      render();
    },
    finish() {
      if (io.isTty && total > 0) process.stderr.write("\n");
    },
  };
}
