import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { redactUrl } from "../../functions/finapi/redact.ts";
import { finapiEnvironmentSchema } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { parseCommandArgs } from "../options.ts";

export const emulatorUsage = `Usage: finapi-config emulator [--port N] [--environment E]

Starts the finAPI emulator alone on 127.0.0.1, for trying plan and apply by hand: one emulated client
(a mandator admin) whose credentials are FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET, the same variables
plan and apply read. It serves POST /oauth/token, GET/PATCH /api/v1/clientConfiguration, the user
services and POST /api/v1/mandatorAdmin/deleteUsers, and prints one line per request and per
user-synchronization callback. Ctrl-C stops it.

Options:
  --port N         the port [default: 4010; 0 picks a free one]
  --environment E  sandbox, live or alpha: whose rules the client's PATCH gets [default: sandbox]
  -h, --help       show this help

Environment: FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET (required; never printed).

Exit codes: 0 stopped by Ctrl-C (SIGINT) or SIGTERM, 3 cannot start (port in use), 64 usage error.`;

const DEFAULT_PORT = 4010;

function readPort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65_535) throw new UsageError("--port must be a port number, 0..65535");
  return port;
}

/** Resolves when the process is asked to stop (Ctrl-C or SIGTERM). */
function interrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve(signal);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

const clock = () => new Date().toTimeString().slice(0, 8);

/**
 * `finapi-config emulator`: the emulator until a stop signal. `untilStopped` is the signal to wait for
 * (tests pass their own).
 */
export async function emulatorCommand(
  args: readonly string[],
  io: CommandIo,
  untilStopped: () => Promise<unknown> = interrupted,
): Promise<number> {
  const { values } = parseCommandArgs(args, {
    port: { type: "string" },
    environment: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(`${emulatorUsage}\n`);
    return ExitCode.Ok;
  }
  const port = readPort(values.port);
  const environment = finapiEnvironmentSchema.safeParse(values.environment ?? "sandbox");
  if (!environment.success) throw new UsageError("--environment must be one of sandbox, live, alpha");
  const clientId = io.env.FINAPI_CLIENT_ID;
  const clientSecret = io.env.FINAPI_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    throw new UsageError(
      "FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET must be set: they become the emulated client's credentials (plan and apply read the same variables)",
    );
  }

  const stopped = untilStopped();
  let emulator: FinapiEmulator;
  try {
    emulator = await startFinapiEmulator({
      port,
      clients: [{ clientId, clientSecret, environment: environment.data, mandatorAdmin: true }],
      onRequest: (request) => {
        const path = new URL(request.path, "http://finapi.invalid").pathname;
        const requestId = request.headers["x-request-id"];
        io.stdout(
          `${clock()}  ${request.method} ${path} -> ${request.status}${requestId ? ` [X-Request-Id ${requestId}]` : ""}\n`,
        );
      },
      onCallback: (delivery) => {
        const answer =
          delivery.status === undefined ? `failed: ${delivery.error} (not retried)` : delivery.status;
        io.stdout(
          `${clock()}  user ${delivery.userId} deleted: POST ${redactUrl(delivery.url)} (client ${delivery.clientId}) -> ${answer}\n`,
        );
      },
    });
  } catch (error) {
    const inUse = (error as NodeJS.ErrnoException).code === "EADDRINUSE";
    io.stderr(
      inUse
        ? `Cannot start the emulator: port ${port} is already in use. Choose another with --port N (0 picks a free one).\n`
        : `Cannot start the emulator: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    return ExitCode.Error;
  }

  io.stdout(
    [
      `finAPI emulator listening on ${emulator.url} (${environment.data} rules)`,
      `  client ${clientId} (credentials: FINAPI_CLIENT_ID, FINAPI_CLIENT_SECRET), a mandator admin`,
      `  try: npx finapi-config plan --file examples/sandbox.json --base-url ${emulator.url}`,
      "  Ctrl-C stops it.",
      "",
    ].join("\n"),
  );
  /* The emulator's server does not keep the process alive on its own (it is unref'd for tests). */
  const keepAlive = setInterval(() => {}, 1 << 30);
  const signal = await stopped;
  clearInterval(keepAlive);
  await emulator.close();
  io.stdout(`${typeof signal === "string" ? `${signal}: ` : ""}emulator stopped\n`);
  return ExitCode.Ok;
}
