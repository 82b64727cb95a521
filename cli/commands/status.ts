import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { describeError } from "../../functions/commons/errors.ts";
import type { ClientStatus } from "../../functions/contracts/config-sync.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { parseCommandArgs } from "../options.ts";
import { readStatuses } from "../status-table.ts";

export const statusUsage = `Usage: finapi-config status --table NAME [--client NAME] [--json]

Shows each finAPI client's last config-sync outcome, as the Lambda stored it in its status table:
one line per client with the outcome, when, what triggered it, the parameter version and a summary.

Options:
  --table NAME    the status table (the stack's status table name) (required)
  --client NAME   show only this client
  --json          print each status as one JSON object per line, as stored
  -h, --help      show this help

AWS credentials, region and endpoint come from the AWS SDK's usual settings (AWS_PROFILE,
AWS_REGION, AWS_ENDPOINT_URL_DYNAMODB, ...).

Exit codes: 0 every client shown is in sync or applied, 2 a client reports drift (report-only),
1 a client is invalid, rejected or failed, or has no status yet, 3 the table cannot be read,
64 usage error.`;

const HEALTHY: readonly string[] = ["in-sync", "applied"];

function fieldList(changes: readonly { field: string }[]): string {
  return changes.map((change) => change.field).join(", ");
}

function summaryOf(status: ClientStatus): string {
  switch (status.outcome) {
    case "in-sync":
      return "finAPI matches the document";
    case "applied":
      return `${status.changes.length} field(s) changed: ${fieldList(status.changes)}`;
    case "drift-reported":
      return `${status.changes.length} field(s) differ, not patched (report-only): ${fieldList(status.changes)}`;
    case "invalid": {
      const [first, ...more] = status.violations;
      const shown = first ? `${first.path} ${first.message} [${first.rule}]` : "";
      return `${status.violations.length} violation(s): ${shown}${more.length > 0 ? ` (and ${more.length} more)` : ""}`;
    }
    case "rejected":
      return status.message;
    case "failed":
      return `${status.message}${status.retryable ? " (retried by Lambda)" : ""}`;
  }
}

function formatLines(statuses: readonly ClientStatus[]): string {
  const rows = statuses.map((status) => [
    status.client,
    status.outcome,
    status.at,
    status.trigger,
    status.parameterVersion === undefined ? "-" : `v${status.parameterVersion}`,
    summaryOf(status),
  ]);
  const widths = [0, 1, 2, 3, 4].map((column) => Math.max(...rows.map((row) => (row[column] ?? "").length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column] ?? 0))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

function exitCodeFor(statuses: readonly ClientStatus[]): number {
  if (statuses.some((status) => !HEALTHY.includes(status.outcome) && status.outcome !== "drift-reported")) {
    return ExitCode.Invalid;
  }
  if (statuses.some((status) => status.outcome === "drift-reported")) return ExitCode.ChangesPending;
  return ExitCode.Ok;
}

/** `dynamoDb` defaults to a client configured the SDK's usual way, closed when the command ends. */
export async function statusCommand(
  args: readonly string[],
  io: CommandIo,
  dynamoDb?: DynamoDBClient,
): Promise<number> {
  const { values } = parseCommandArgs(args, {
    table: { type: "string" },
    client: { type: "string" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    io.stdout(`${statusUsage}\n`);
    return ExitCode.Ok;
  }
  const table = values.table;
  if (table === undefined || table === "") throw new UsageError("--table is required");

  const client = dynamoDb ?? new DynamoDBClient({});
  let read: Awaited<ReturnType<typeof readStatuses>>;
  try {
    read = await readStatuses(DynamoDBDocumentClient.from(client), table, values.client);
  } catch (error) {
    io.stderr(`Cannot read the status table ${table}: ${describeError(error)}\n`);
    return ExitCode.Error;
  } finally {
    if (dynamoDb === undefined) client.destroy();
  }

  for (const client of read.unreadable) {
    io.stderr(`The status of client ${client} is not in a format this version understands; skipped.\n`);
  }
  if (read.statuses.length === 0) {
    io.stderr(
      values.client === undefined
        ? `No client has a status in ${table} yet: config-sync has not run, or wrote elsewhere.\n`
        : `Client ${values.client} has no status in ${table}: no run has reconciled it yet, or the name is wrong.\n`,
    );
    return ExitCode.Invalid;
  }
  io.stdout(
    values.json
      ? `${read.statuses.map((status) => JSON.stringify(status)).join("\n")}\n`
      : `${formatLines(read.statuses)}\n`,
  );
  return exitCodeFor(read.statuses);
}
