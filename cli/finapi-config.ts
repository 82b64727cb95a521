#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { text as readAllText } from "node:stream/consumers";
import { nearestName } from "../functions/finapi/nearest-name.ts";
import { emulatorCommand, emulatorUsage } from "./commands/emulator.ts";
import { planAllCommand, planAllUsage } from "./commands/plan-all.ts";
import { pushCommand, pushUsage } from "./commands/push.ts";
import { statusCommand, statusUsage } from "./commands/status.ts";
import { applyUsage, planUsage, syncCommand } from "./commands/sync.ts";
import { validateCommand, validateUsage } from "./commands/validate.ts";
import { type CommandIo, ExitCode, UsageError } from "./io.ts";

const usage = `Usage: finapi-config <command> [options]

finAPI client configuration as code.

Commands:
  validate   check desired-state documents offline
  plan       show how finAPI differs from a document (exit 2 when changes are pending)
  apply      make finAPI match a document
  push       validate a document and write it into its Parameter Store parameter
  emulator   run the finAPI emulator alone, for trying plan and apply by hand
  status     show each client's last config-sync outcome (from the status table)

Run finapi-config help <command> (or <command> --help) for a command's options;
finapi-config --version prints the version.`;

const commands: Record<
  string,
  { run: (args: readonly string[], io: CommandIo) => Promise<number>; usage: string }
> = {
  validate: { run: validateCommand, usage: validateUsage },
  plan: {
    run: (args, io) => (args.includes("--all") ? planAllCommand(args, io) : syncCommand("plan", args, io)),
    usage: `${planUsage}\n\n${planAllUsage}`,
  },
  apply: { run: (args, io) => syncCommand("apply", args, io), usage: applyUsage },
  push: { run: pushCommand, usage: pushUsage },
  emulator: { run: (args, io) => emulatorCommand(args, io), usage: emulatorUsage },
  status: { run: statusCommand, usage: statusUsage },
};

/* The CLI is the repository's own bin: its version is the package's. */
const version = (): string =>
  (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string })
    .version;

function unknownCommand(name: string, io: CommandIo): number {
  const nearest = nearestName(name, Object.keys(commands));
  io.stderr(`Unknown command "${name}".${nearest ? ` Did you mean "${nearest}"?` : ""}\n\n${usage}\n`);
  return ExitCode.Usage;
}

/** Runs one finapi-config command line; resolves with its exit code (tests run it in-process). */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === "--version" || name === "-v") {
    io.stdout(`finapi-config ${version()}\n`);
    return ExitCode.Ok;
  }
  if (name === "help" && args[0] !== undefined) {
    const command = commands[args[0]];
    if (!command) return unknownCommand(args[0], io);
    io.stdout(`${command.usage}\n`);
    return ExitCode.Ok;
  }
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(`${usage}\n`);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const command = commands[name];
  if (!command) return unknownCommand(name, io);
  try {
    return await command.run(args, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n\n${command.usage}\n`);
      return ExitCode.Usage;
    }
    throw error;
  }
}

/* Run as the bin, not when a test imports `main`. */
if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2), {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    readStdin: () => readAllText(process.stdin),
  });
}
