#!/usr/bin/env node
import { isAbsolute, relative } from "node:path";
import { parseArgs } from "node:util";
import * as z from "zod";
import { redactSecrets } from "../functions/finapi/redact.ts";
import { type LineOutput, processLineOutput } from "./line-output.ts";
import { PortInUseError } from "./listen.ts";
import { formatActivity } from "./live-log.ts";
import type { LocalLoop } from "./loop.ts";
import { REPEAT_WINDOW_MS, StopRequests } from "./stop-requests.ts";

const USAGE = `Usage: npm start [-- options]

Runs the whole system on this machine: the finAPI emulator, local AWS stand-ins, the real config-sync
and user-sync-callback handlers, a file-backed Parameter Store and the reconcile schedule.

Options (each also settable through the environment variable in brackets; a flag wins):
  --emulator-port N       the finAPI emulator's port (LOCAL_EMULATOR_PORT, default 4010)
  --callback-port N       the user-sync callback's port (LOCAL_CALLBACK_PORT, default 4011)
  --schedule-seconds N    the reconcile schedule's period, 0 for none (LOCAL_SCHEDULE_SECONDS, default 60)
  --state-dir DIR         parameter files, logs, credentials (LOCAL_STATE_DIR, default .local-state)
  --reset                 copy the example documents over the parameter files again
  -h, --help              show this help

Port 0 picks a free port.`;

const EXIT_USAGE = 64;
const EXIT_START_FAILED = 1;
/* What an interrupted process conventionally exits with when it could not stop cleanly. */
const EXIT_FORCED = 130;

const port = (name: string) =>
  z.coerce
    .number({ error: `${name} must be a port number` })
    .int({ error: `${name} must be a whole number` })
    .min(0, { error: `${name} must be 0..65535` })
    .max(65_535, { error: `${name} must be 0..65535` });

const startOptionsSchema = z.object({
  emulatorPort: port("--emulator-port (LOCAL_EMULATOR_PORT)").default(4010),
  callbackPort: port("--callback-port (LOCAL_CALLBACK_PORT)").default(4011),
  scheduleSeconds: z.coerce
    .number({ error: "--schedule-seconds (LOCAL_SCHEDULE_SECONDS) must be a number" })
    .int({ error: "--schedule-seconds (LOCAL_SCHEDULE_SECONDS) must be a whole number of seconds" })
    .min(0, { error: "--schedule-seconds (LOCAL_SCHEDULE_SECONDS) must be 0 (no schedule) or more" })
    .default(60),
  stateDir: z
    .string()
    .min(1, { error: "--state-dir (LOCAL_STATE_DIR) must not be empty" })
    .default(".local-state"),
  reset: z.boolean().default(false),
});
type StartOptions = z.infer<typeof startOptionsSchema>;

/** Where `npm start` writes, and what it reads its options from besides its arguments. */
export interface StartIo extends LineOutput {
  readonly env: NodeJS.ProcessEnv;
}

/** A loop `npm start` started and printed the banner of. */
export interface StartedLoop {
  readonly loop: LocalLoop;
  /** Says what stops, closes the loop, says when it stopped, and answers the exit code. */
  stop(signal: NodeJS.Signals): Promise<number>;
}

function readOptions(argv: readonly string[], env: NodeJS.ProcessEnv): StartOptions | "help" {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      "emulator-port": { type: "string" },
      "callback-port": { type: "string" },
      "schedule-seconds": { type: "string" },
      "state-dir": { type: "string" },
      reset: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) return "help";
  const given = (flag: string | undefined, variable: string) => flag ?? (env[variable] || undefined);
  const parsed = startOptionsSchema.safeParse({
    emulatorPort: given(values["emulator-port"], "LOCAL_EMULATOR_PORT"),
    callbackPort: given(values["callback-port"], "LOCAL_CALLBACK_PORT"),
    scheduleSeconds: given(values["schedule-seconds"], "LOCAL_SCHEDULE_SECONDS"),
    stateDir: given(values["state-dir"], "LOCAL_STATE_DIR"),
    reset: values.reset,
  });
  if (!parsed.success) throw new Error(parsed.error.issues.map((issue) => issue.message).join("; "));
  return parsed.data;
}

/**
 * The `finapi-config status` command that reads the loop's status table: the DynamoDB stand-in's
 * endpoint, its region and placeholder credentials (the stand-in checks none, but the SDK wants some).
 */
function statusCommandLine(loop: LocalLoop): string {
  return [
    `AWS_ENDPOINT_URL_DYNAMODB=${loop.awsEndpoints.dynamoDb}`,
    `AWS_REGION=${loop.region}`,
    "AWS_ACCESS_KEY_ID=local",
    "AWS_SECRET_ACCESS_KEY=local",
    `npm exec --no -- finapi-config status --table ${loop.statusTableName}`,
  ].join(" ");
}

function banner(loop: LocalLoop, options: StartOptions): string {
  const here = (path: string) => {
    const inside = relative(process.cwd(), path);
    return inside.startsWith("..") || isAbsolute(inside) ? path : inside;
  };
  const aws = loop.awsEndpoints;
  const width = Math.max(...loop.clients.map((client) => client.name.length));
  const nameWidth = Math.max(...loop.clients.map((client) => client.parameterName.length));
  const userBases = [...new Set(loop.clients.map((client) => client.userBase))].map(
    (userBase) =>
      `${userBase}: ${loop.clients
        .filter((client) => client.userBase === userBase)
        .map((client) => client.name)
        .join(", ")}`,
  );
  const schedule =
    options.scheduleSeconds === 0
      ? "no schedule (--schedule-seconds 0)"
      : `the schedule every ${options.scheduleSeconds} s`;
  return [
    "finapi-config-sync: the whole loop on this machine (no AWS account, no network)",
    "",
    `  finAPI emulator     ${loop.emulator.url}   ${loop.clients.length} clients in ${userBases.length} user base(s) (${userBases.join("; ")}): a deletion calls back the clients of its user base`,
    `  user-sync callback  ${loop.callbackBaseUrl}/user-sync/{client}/***   the real user-sync-callback handler behind a local Function URL`,
    `                      (https with a certificate made at start: ${here(loop.callbackCertificateFile)}, for curl --cacert)`,
    `  config-sync         the real config-sync handler, invoked by Parameter Store changes and ${schedule}`,
    `  AWS stand-ins       SSM ${aws.ssm}, Secrets Manager ${aws.secretsManager}, EventBridge ${aws.eventBridge} (bus ${loop.eventBusName}),`,
    `                      SQS ${aws.sqs}, DynamoDB ${aws.dynamoDb}`,
    "",
    "  Parameter Store: each file is one client's parameter; saving a change to it is a Parameter Store change",
    ...loop.clients.map(
      (client) =>
        `    client ${client.name.padEnd(width)}  ${client.environment.padEnd(7)}  ${client.parameterName.padEnd(nameWidth)}  <- ${here(client.parameterFile)} (from ${here(client.example)})`,
    ),
    "",
    `  Handler logs (JSON, as CloudWatch would hold them): ${here(loop.logFiles.configSync)}, ${here(loop.logFiles.userSyncCallback)}`,
    `  The emulated clients' credentials (for finapi-config plan/apply, curl): ${here(loop.credentialsFile)}`,
    `  Each client's last config-sync outcome is in the status table ${loop.statusTableName}; read it from another terminal:`,
    `    ${statusCommandLine(loop)}`,
    `  The scripted tour: npm run demo.  Ctrl-C stops everything (a Ctrl-C ${REPEAT_WINDOW_MS / 1000} s or more after the first exits at once).`,
    "",
    "Live log:",
  ].join("\n");
}

/**
 * What `npm start` does up to its live log: reads the options, starts the loop and prints the banner.
 * Answers the exit code instead when it cannot start (a usage error, a taken port) or only printed its help.
 */
export async function startLoop(argv: readonly string[], io: StartIo): Promise<StartedLoop | number> {
  const { write, fail } = io;
  let options: StartOptions | "help";
  try {
    options = readOptions(argv, io.env);
  } catch (error) {
    fail(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (options === "help") {
    write(USAGE);
    return 0;
  }

  /* Loaded once the options are valid: a usage error or --help answers without loading the whole loop. */
  const { CALLBACK_PURPOSE, EMULATOR_PURPOSE, LocalLoopStartError, startLocalLoop } = await import(
    "./loop.ts"
  );
  const portFlags: Readonly<Record<string, string>> = {
    [EMULATOR_PURPOSE]: "--emulator-port N (or LOCAL_EMULATOR_PORT=N)",
    [CALLBACK_PURPOSE]: "--callback-port N (or LOCAL_CALLBACK_PORT=N)",
  };

  let secrets: readonly string[] = [];
  /* The first syncs start while the loop is still starting: their lines wait until the banner is out. */
  let held: string[] | undefined = [];
  const show = (line: string) => (held ? held.push(line) : write(line));
  let loop: LocalLoop;
  try {
    loop = await startLocalLoop({
      stateDir: options.stateDir,
      resetDocuments: options.reset,
      emulatorPort: options.emulatorPort,
      callbackPort: options.callbackPort,
      scheduleMs: options.scheduleSeconds * 1000,
      onActivity: (activity) => show(formatActivity(activity, secrets, new Date())),
    });
  } catch (error) {
    if (error instanceof PortInUseError) {
      fail(
        `Cannot start: ${error.message}. Choose another port with ${portFlags[error.purpose] ?? "its option"} (0 picks a free one), or stop what uses it.`,
      );
    } else if (error instanceof LocalLoopStartError) {
      fail(`Cannot start: ${error.message}`);
    } else {
      fail(`Cannot start: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
    }
    return EXIT_START_FAILED;
  }
  secrets = loop.secrets;
  write(banner(loop, options));
  for (const line of held) write(redactSecrets(line, secrets));
  held = undefined;

  return {
    loop,
    stop: async (signal) => {
      write(`\n${signal}: stopping the handlers, the emulator and the stand-ins...`);
      try {
        await loop.close();
      } catch (error) {
        fail(`Stopping failed: ${error instanceof Error ? error.message : String(error)}`);
        return EXIT_START_FAILED;
      }
      write("Stopped.");
      return 0;
    },
  };
}

async function main(): Promise<void> {
  const started = await startLoop(process.argv.slice(2), { ...processLineOutput, env: process.env });
  if (typeof started === "number") {
    process.exitCode = started;
    return;
  }

  /* Every server and worker of the loop is unref'd; this handle is what keeps the process running until Ctrl-C. */
  const keepAlive = setInterval(() => {}, 1 << 30);
  const stopRequests = new StopRequests();
  const stop = (signal: NodeJS.Signals) => {
    const request = stopRequests.receive(signal);
    if (request === "repeat") return;
    if (request === "force") {
      processLineOutput.fail(`${signal} again: exiting without waiting`);
      process.exit(EXIT_FORCED);
    }
    void started
      .stop(signal)
      .then((exitCode) => {
        process.exitCode = exitCode;
      })
      .finally(() => clearInterval(keepAlive));
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

/* Run as `npm start`, not when a test imports `startLoop`. */
if (import.meta.main) await main();
