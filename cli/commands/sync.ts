import { createFinapiClient } from "../../functions/finapi/client.ts";
import type { Log } from "../../functions/finapi/log.ts";
import { type FieldChange, formatChanges, redactChanges } from "../../functions/finapi/plan.ts";
import { reconcile } from "../../functions/finapi/reconcile.ts";
import { formatViolations, parseDesiredDocument, type Violation } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode } from "../io.ts";
import {
  documentArgument,
  environmentForBaseUrl,
  parseCommandArgs,
  parseEnvironment,
  readDocument,
  requireBaseUrl,
} from "../options.ts";
import { githubAnnotations, githubError, jsonDocument, type OutputFormat, outputFormat } from "../output.ts";

const commonOptions = `Options:
  --file FILE        the desired-state document (or FILE as the first argument; - reads stdin)
  --base-url URL     finAPI's base URL, e.g. https://sandbox.finapi.io or https://live.finapi.io (required);
                     https only, http:// just for an emulator on a loopback host (localhost, 127.x, ::1)
  --environment E    sandbox, live or alpha: whose rules apply [default: live when the base URL's host is
                     live.finapi.io, else sandbox]
  --verbose          log every finAPI call (method, path, status, X-Request-Id) to stderr
  --json             print one JSON document: {file, baseUrl, environment, outcome, changes, ...}
  --format F         text, json or github (violations and errors as GitHub workflow annotations)
  -h, --help         show this help

Environment: FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET, the finAPI client's credentials.`;

export const planUsage = `Usage: finapi-config plan [--file] FILE --base-url URL [--environment E] [--verbose] [--json]

Shows how finAPI's client configuration differs from the document, without changing anything.

${commonOptions}

Exit codes: 0 in sync, 2 changes pending, 1 invalid document (finAPI is not called),
3 finAPI, network or credential error (a redirect from finAPI included), 64 usage error.`;

export const applyUsage = `Usage: finapi-config apply [--file] FILE --base-url URL [--environment E] [--verbose] [--json]

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
  const { values, positionals } = parseCommandArgs(
    args,
    {
      file: { type: "string" },
      "base-url": { type: "string" },
      environment: { type: "string" },
      verbose: { type: "boolean" },
      json: { type: "boolean" },
      format: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    { allowPositionals: true },
  );
  if (values.help) {
    io.stdout(`${kind === "plan" ? planUsage : applyUsage}\n`);
    return ExitCode.Ok;
  }
  const format = outputFormat(values);
  const file = documentArgument(values.file, positionals);
  const baseUrl = requireBaseUrl(values["base-url"]);
  const environment = parseEnvironment(values.environment) ?? environmentForBaseUrl(baseUrl);
  const report = reporter(io, format, { command: kind, file, baseUrl, environment });

  const document = await readDocument(file, io);
  if (!document.ok) return report.invalid(`${file}: ${document.reason}`, []);
  const parsed = parseDesiredDocument(document.value, environment);
  if (!parsed.ok) return report.invalid(undefined, parsed.violations);

  const clientId = io.env.FINAPI_CLIENT_ID;
  const clientSecret = io.env.FINAPI_CLIENT_SECRET;
  for (const [name, value] of [
    ["FINAPI_CLIENT_ID", clientId],
    ["FINAPI_CLIENT_SECRET", clientSecret],
  ] as const) {
    if (!value) {
      return report.error(
        `${name} is not set: export the finAPI client's credentials as FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET.`,
      );
    }
  }

  const log = stderrLog(io, values.verbose === true);
  const client = createFinapiClient({
    baseUrl,
    credentials: { clientId: clientId ?? "", clientSecret: clientSecret ?? "" },
    log,
  });
  const outcome = await reconcile({
    document: parsed.value,
    environment,
    client,
    dryRun: kind === "plan",
    log,
  });
  const target = `${baseUrl} (${environment})`;

  switch (outcome.outcome) {
    case "in-sync":
      return report.done(ExitCode.Ok, outcome, [], `No changes: finAPI at ${target} matches ${file}.`);
    case "drift-reported":
      return report.done(
        ExitCode.ChangesPending,
        outcome,
        outcome.changes,
        `finAPI at ${target} differs from ${file}:\n${formatChanges(outcome.changes)}\nPlan: ${outcome.changes.length} field(s) to change.`,
      );
    case "applied":
      return report.done(
        ExitCode.Ok,
        outcome,
        outcome.changes,
        `Applied ${file} to finAPI at ${target}:\n${formatChanges(outcome.changes)}\n${outcome.changes.length} field(s) changed [X-Request-Id ${outcome.finapiRequestId}].`,
      );
    case "invalid":
      return report.invalid(undefined, outcome.violations);
    case "rejected":
    case "failed":
      return report.error(outcome.message, outcome.outcome);
  }
}

interface SyncSubject {
  readonly command: "plan" | "apply";
  readonly file: string;
  readonly baseUrl: string;
  readonly environment: string;
}

/**
 * How plan and apply report, in each output format. With --json, stdout holds exactly one JSON
 * document: {command, file, baseUrl, environment, outcome, changes, violations?, finapiRequestId?, message?}.
 */
function reporter(io: CommandIo, format: OutputFormat, subject: SyncSubject) {
  const json = (fields: Record<string, unknown>) => io.stdout(jsonDocument({ ...subject, ...fields }));
  return {
    done(
      code: number,
      outcome: { readonly outcome: string; readonly finapiRequestId?: string },
      changes: readonly FieldChange[],
      text: string,
    ): number {
      if (format === "json") {
        json({
          outcome: outcome.outcome,
          changes: redactChanges(changes),
          ...(outcome.finapiRequestId === undefined ? {} : { finapiRequestId: outcome.finapiRequestId }),
        });
      } else {
        io.stdout(`${text}\n`);
      }
      return code;
    },
    invalid(problem: string | undefined, violations: readonly Violation[]): number {
      const text = problem ?? formatViolations(violations, subject.file);
      if (format === "json") {
        json({ outcome: "invalid", changes: [], violations, ...(problem ? { message: problem } : {}) });
      } else {
        if (format === "github") {
          io.stdout(
            `${problem ? githubError(problem, { file: subject.file }) : githubAnnotations(violations, subject.file)}\n`,
          );
        }
        io.stderr(`${text}\nNothing was sent to finAPI: the document is invalid.\n`);
      }
      return ExitCode.Invalid;
    },
    error(message: string, outcome = "failed"): number {
      if (format === "json") json({ outcome, changes: [], message });
      else {
        if (format === "github") io.stdout(`${githubError(message, { file: subject.file })}\n`);
        io.stderr(`Error: ${message}\n`);
      }
      return ExitCode.Error;
    },
  };
}
