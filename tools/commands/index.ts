import type { CliCommand } from "../cliKit.ts";
import { command as extract } from "./extract.ts";

/** Every `mlp` subcommand, in the order `mlp --help` lists them. */
export const commands: CliCommand[] = [extract];
