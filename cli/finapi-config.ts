#!/usr/bin/env node
import { emulatorCommand, emulatorUsage } from "./commands/emulator.ts";
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
  emulator   run the finAPI emulator alone, for trying plan and apply by hand
  status     show each client's last config-sync outcome (from the status table)

Run finapi-config <command> --help for a command's options.`;

const commands: Record<
  string,
  { run: (args: readonly string[], io: CommandIo) => Promise<number>; usage: string }
> = {
  validate: { run: validateCommand, usage: validateUsage },
  plan: { run: (args, io) => syncCommand("plan", args, io), usage: planUsage },
  apply: { run: (args, io) => syncCommand("apply", args, io), usage: applyUsage },
  emulator: { run: (args, io) => emulatorCommand(args, io), usage: emulatorUsage },
  status: { run: statusCommand, usage: statusUsage },
};

async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout(`${usage}\n`);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const command = commands[name];
  if (!command) {
    io.stderr(`Unknown command "${name}".\n\n${usage}\n`);
    return ExitCode.Usage;
  }
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

process.exitCode = await main(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
});
