import { parseArgs } from "node:util";
import { createFinapiClient } from "../../functions/finapi/client.ts";
import type { Log } from "../../functions/finapi/log.ts";
import { formatChanges } from "../../functions/finapi/plan.ts";
import { reconcile } from "../../functions/finapi/reconcile.ts";
import { formatViolations, parseDesiredDocument } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import {
  environmentForBaseUrl,
  parseEnvironment,
  parseOrUsageError,
  readDocument,
  requireBaseUrl,
} from "../options.ts";

const commonOptions = `Options:
  --file FILE        the desired-state document (required)
  --base-url URL     finAPI's base URL, e.g. https://sandbox.finapi.io or https://live.finapi.io (required);
                     https only, http:// just for an emulator on a loopback host (localhost, 127.x, ::1)
  --environment E    sandbox, live or alpha: whose rules apply [default: live when the base URL's host is
                     live.finapi.io, else sandbox]
  --verbose          log every finAPI call (method, path, status, X-Request-Id) to stderr
  -h, --help         show this help

Environment: FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET, the finAPI client's credentials.`;

export const planUsage = `Usage: finapi-config plan --file FILE --base-url URL [--environment E] [--verbose]

Shows how finAPI's client configuration differs from the document, without changing anything.

${commonOptions}

Exit codes: 0 in sync, 2 changes pending, 1 invalid document (finAPI is not called),
3 finAPI, network or credential error (a redirect from finAPI included), 64 usage error.`;

export const applyUsage = `Usage: finapi-config apply --file FILE --base-url URL [--environment E] [--verbose]

Makes finAPI's client configuration match the document: PATCHes only the fields that differ.

${commonOptions}

Exit codes: 0 applied or already in sync, 1 invalid document (finAPI is not called),
3 finAPI, network or credential error (a redirect from finAPI included), 64 usage error.`;

function stderrLog(io: CommandIo, verbose: boolean): Log {
  const write = (message: string, details?: Record<string, unknown>) => {
    if (!details) return io.stderr(`${message}\n`);
    const { method, path, status, finapiRequestId, failure, waitMs } = details;
    const parts = [
      method,
      path,
      status === undefined ? undefined : `-> ${status}`,
      failure,
      waitMs === undefined ? undefined : `retry in ${waitMs} ms`,
    ];
    const fields = parts.filter((part) => part !== undefined).join(" ");
    io.stderr(`${message}: ${fields}${finapiRequestId ? ` [X-Request-Id ${finapiRequestId}]` : ""}\n`);
  };
  const quiet = () => {};
  return { debug: quiet, info: verbose ? write : quiet, warn: verbose ? write : quiet, error: write };
}

export async function syncCommand(
  kind: "plan" | "apply",
  args: readonly string[],
  io: CommandIo,
): Promise<number> {
  const { values } = parseOrUsageError(() =>
    parseArgs({
      args: [...args],
      options: {
        file: { type: "string" },
        "base-url": { type: "string" },
        environment: { type: "string" },
        verbose: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }),
  );
  if (values.help) {
    io.stdout(`${kind === "plan" ? planUsage : applyUsage}\n`);
    return ExitCode.Ok;
  }
  const file = values.file;
  if (file === undefined) throw new UsageError("--file is required");
  const baseUrl = requireBaseUrl(values["base-url"]);
  const environment = parseEnvironment(values.environment) ?? environmentForBaseUrl(baseUrl);

  const document = await readDocument(file);
  if (!document.ok) {
    io.stderr(`${file}: ${document.reason}\n`);
    return ExitCode.Invalid;
  }
  const parsed = parseDesiredDocument(document.text, environment);
  if (!parsed.ok) {
    io.stderr(
      `${formatViolations(parsed.violations, file)}\nNothing was sent to finAPI: the document is invalid.\n`,
    );
    return ExitCode.Invalid;
  }

  const clientId = io.env.FINAPI_CLIENT_ID;
  const clientSecret = io.env.FINAPI_CLIENT_SECRET;
  for (const [name, value] of [
    ["FINAPI_CLIENT_ID", clientId],
    ["FINAPI_CLIENT_SECRET", clientSecret],
  ] as const) {
    if (!value) {
      io.stderr(
        `${name} is not set: export the finAPI client's credentials as FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET.\n`,
      );
      return ExitCode.Error;
    }
  }

  const log = stderrLog(io, values.verbose === true);
  const client = createFinapiClient({
    baseUrl,
    credentials: { clientId: clientId ?? "", clientSecret: clientSecret ?? "" },
    log,
  });
  const outcome = await reconcile({
    document: document.text,
    environment,
    client,
    dryRun: kind === "plan",
    log,
  });
  const target = `${baseUrl} (${environment})`;

  switch (outcome.outcome) {
    case "in-sync":
      io.stdout(`No changes: finAPI at ${target} matches ${file}.\n`);
      return ExitCode.Ok;
    case "drift-reported":
      io.stdout(
        `finAPI at ${target} differs from ${file}:\n${formatChanges(outcome.changes)}\nPlan: ${outcome.changes.length} field(s) to change.\n`,
      );
      return ExitCode.ChangesPending;
    case "applied":
      io.stdout(
        `Applied ${file} to finAPI at ${target}:\n${formatChanges(outcome.changes)}\n${outcome.changes.length} field(s) changed [X-Request-Id ${outcome.finapiRequestId}].\n`,
      );
      return ExitCode.Ok;
    case "invalid":
      io.stderr(
        `${formatViolations(outcome.violations, file)}\nNothing was sent to finAPI: the document is invalid.\n`,
      );
      return ExitCode.Invalid;
    case "rejected":
    case "failed":
      io.stderr(`Error: ${outcome.message}\n`);
      return ExitCode.Error;
  }
}
