import type { CliCommand } from "../cliKit.ts";
import { command as extract } from "./extract.ts";
import { command as classify } from "./classify.ts";
import { command as validate } from "./validate.ts";
import { command as info } from "./info.ts";
import { command as convert } from "./convert.ts";
import { command as predict } from "./predict.ts";
import { command as compare } from "./compare.ts";
import { command as chart } from "./chart.ts";
import { command as suspects } from "./suspects.ts";

/** Every `mlp` subcommand, in the order `mlp --help` lists them. */
export const commands: CliCommand[] = [validate, info, convert, predict, extract, classify, compare, suspects, chart];
