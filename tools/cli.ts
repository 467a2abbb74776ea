#!/usr/bin/env node
/** `mlp`: wires subcommands together; the work lives in tools/commands/. */
import { isStartedScript } from "./startedScript.ts";
import { CliError, processIo, type CliIo } from "./cliKit.ts";
import { commands } from "./commands/index.ts";

function usage(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 8);
  return [
    "usage: npm run mlp -- <command> [options]",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Run `npm run mlp -- <command> --help` for a command's options.",
  ].join("\n");
}

export async function runCli(argv: string[], io: CliIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    io.stdout(usage());
    return name ? 0 : 1;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`mlp: unknown command "${name}". Commands: ${commands.map((c) => c.name).join(", ")}`);
    return 1;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`mlp ${name}: ${error.message}`);
      return error.exitCode;
    }
    const message = error instanceof Error ? error.message : String(error);
    io.stderr(`mlp ${name}: ${message}`);
    return 1;
  }
}

if (isStartedScript(import.meta.url)) {
  runCli(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
