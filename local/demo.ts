#!/usr/bin/env node
import { join } from "node:path";
import { parseArgs } from "node:util";
import { redactSecrets } from "../functions/finapi/redact.ts";
import { type LineOutput, processLineOutput } from "./line-output.ts";
import { formatActivity } from "./live-log.ts";
import type { LocalLoop } from "./loop.ts";

const USAGE = `Usage: npm run demo [-- --timeout-seconds N] [--state-dir DIR]

A scripted tour of the local loop (what npm start runs), on free ports and with its own state:
apply a document, reconcile in sync, correct a drift, refuse an invalid document, forward a user
deletion exactly once. Exits 0 when every step held, 1 when one did not.

  --timeout-seconds N   how long a step waits for what it expects (default 30)
  --state-dir DIR       parameter files, logs, credentials (default .local-state/demo; its
                        parameter files are copied from examples/ afresh)
  -h, --help            show this help`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 64;

interface DemoOptions {
  readonly timeoutMs: number;
  readonly stateDir: string;
}

function readOptions(argv: readonly string[]): DemoOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "timeout-seconds": { type: "string" },
      "state-dir": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const seconds = Number(values["timeout-seconds"] ?? "30");
  if (!Number.isInteger(seconds) || seconds < 1)
    throw new Error("--timeout-seconds must be a whole number, 1 or more");
  const stateDir = values["state-dir"] ?? join(".local-state", "demo");
  if (stateDir === "") throw new Error("--state-dir must not be empty");
  return { timeoutMs: seconds * 1000, stateDir };
}

/** `npm run demo`: answers its exit code. */
export async function runDemo(argv: readonly string[], io: LineOutput): Promise<number> {
  const { write, fail } = io;
  let options: DemoOptions | "help";
  try {
    options = readOptions(argv);
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (options === "help") {
    write(USAGE);
    return 0;
  }

  /* Loaded once the options are valid: a usage error or --help answers without loading the whole loop. */
  const [{ startLocalLoop }, { runTour }] = await Promise.all([import("./loop.ts"), import("./tour.ts")]);
  let secrets: readonly string[] = [];
  const print = (text: string) => write(redactSecrets(text, secrets));
  write("finapi-config-sync demo: the local loop on free ports, scripted (no AWS account, no network)");
  let loop: LocalLoop;
  try {
    loop = await startLocalLoop({
      stateDir: options.stateDir,
      resetDocuments: true,
      emulatorPort: 0,
      callbackPort: 0,
      /* The tour invokes the schedule itself, when it wants the next reconcile. */
      scheduleMs: 0,
      onActivity: (activity) => print(formatActivity(activity, secrets, new Date())),
    });
  } catch (error) {
    fail(`Cannot start the local loop: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT_FAILED;
  }
  secrets = loop.secrets;
  const stopOnInterrupt = () => {
    write("\nSIGINT: stopping the demo");
    void loop.close().finally(() => process.exit(EXIT_FAILED));
  };
  process.once("SIGINT", stopOnInterrupt);
  try {
    const report = await runTour(loop, { print, timeoutMs: options.timeoutMs });
    const held = report.steps.filter((step) => step.ok).length;
    write(
      report.ok
        ? `\nEvery step held (${held}/${report.steps.length}). Handler logs: ${loop.logFiles.configSync}, ${loop.logFiles.userSyncCallback}`
        : `\nThe demo failed: ${held} step(s) held, then one did not. Handler logs: ${loop.logFiles.configSync}, ${loop.logFiles.userSyncCallback}`,
    );
    return report.ok ? 0 : EXIT_FAILED;
  } finally {
    process.removeListener("SIGINT", stopOnInterrupt);
    await loop.close();
  }
}

/* Run as `npm run demo`, not when a test imports `runDemo`. */
if (import.meta.main) {
  process.exitCode = await runDemo(process.argv.slice(2), processLineOutput);
}
