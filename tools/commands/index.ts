import type { CliCommand } from "../cliKit.ts";

/** Every `mlp` subcommand, in the order `mlp --help` lists them. */
export const commands: CliCommand[] = [];
