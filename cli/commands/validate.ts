import { existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import {
  type FinapiEnvironment,
  formatViolations,
  parseDesiredDocument,
  type Violation,
} from "../../functions/finapi/schema.ts";
import { StackConfigError } from "../../infra/config.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { parseCommandArgs, parseEnvironment, readDocument } from "../options.ts";
import { githubAnnotations, githubError, jsonDocument, outputFormat } from "../output.ts";
import { contextClients } from "./context-clients.ts";

export const validateUsage = `Usage: finapi-config validate [--environment sandbox|live|alpha] [--json | --format F] FILE...
       finapi-config validate --all [--context cdk.json] [--documents DIR] [--json | --format F]

Checks desired-state documents offline against finAPI's ClientConfigurationParams rules (a key written
twice is a violation too) and prints every violation as FILE:LINE:COLUMN: PATH MESSAGE [RULE].
finAPI is not called.

With --all, every client of the CDK context is checked with its own environment's rules: its
"document" from the context, or <DIR>/<client>.json when --documents DIR is given (a client with
neither is not checked).

Options:
  --file FILE      a document to check (repeatable; FILE arguments work the same; - reads stdin)
  --environment E  the rules of which finAPI environment to apply (live accepts only https
                   callback URLs) [default: live, the strictest]
  --all            check every client's document of the CDK context (see above)
  --context FILE   the CDK context naming the clients [default: cdk.json]
  --documents DIR  where pipeline-owned documents live, one <client>.json per client
  --json           print one JSON document: {valid, environment, documents: [{file, valid, violations}]}
  --format F       text, json or github (violations as GitHub workflow annotations)
  -h, --help       show this help

Exit codes: 0 every document is valid, 1 any document is invalid or unreadable, 64 usage error.`;

/** One document's verdict, as --json prints it. */
interface DocumentVerdict {
  readonly file: string;
  readonly valid: boolean;
  readonly violations: readonly Violation[];
  /** Why the file could not be read, when it could not. */
  readonly error?: string;
}

export async function validateCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    args,
    {
      file: { type: "string", multiple: true },
      environment: { type: "string" },
      all: { type: "boolean" },
      context: { type: "string" },
      documents: { type: "string" },
      json: { type: "boolean" },
      format: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    { allowPositionals: true },
  );
  if (values.help) {
    io.stdout(`${validateUsage}\n`);
    return ExitCode.Ok;
  }
  const format = outputFormat(values);
  const environment = parseEnvironment(values.environment) ?? "live";
  const targets = values.all
    ? await clientDocuments(io, values.context ?? "cdk.json", values.documents)
    : [...(values.file ?? []), ...positionals].map((file) => ({ file, environment }));
  if (targets === undefined) return ExitCode.Invalid;
  if (targets.length === 0) {
    throw new UsageError(
      values.all
        ? `no client of ${values.context ?? "cdk.json"} has a document to check (a context "document", or <client>.json in --documents DIR)`
        : "name at least one FILE to validate (- reads stdin)",
    );
  }
  const files = targets.map((target) => target.file);

  const verdicts: DocumentVerdict[] = [];
  for (const { file, environment } of targets) {
    const document = await readDocument(file, io);
    if (!document.ok) {
      verdicts.push({ file, valid: false, violations: [], error: document.reason });
      if (format !== "json") io.stderr(`${file}: ${document.reason}\n`);
      if (format === "github") io.stdout(`${githubError(document.reason, { file })}\n`);
      continue;
    }
    const result = parseDesiredDocument(document.value, environment);
    verdicts.push({ file, valid: result.ok, violations: result.ok ? [] : result.violations });
    if (format === "json") continue;
    if (result.ok) {
      io.stdout(`${file}: valid (${environment} rules)\n`);
    } else {
      io.stderr(`${formatViolations(result.violations, file)}\n`);
      if (format === "github") io.stdout(`${githubAnnotations(result.violations, file)}\n`);
    }
  }
  const invalid = verdicts.filter((verdict) => !verdict.valid).length;
  if (format === "json") {
    io.stdout(
      jsonDocument({ valid: invalid === 0, ...(values.all ? {} : { environment }), documents: verdicts }),
    );
  } else {
    const summary =
      invalid === 0
        ? `${files.length} document(s) valid.`
        : `${invalid} of ${files.length} document(s) invalid.`;
    (invalid === 0 ? io.stdout : io.stderr)(`${summary}\n`);
  }
  return invalid === 0 ? ExitCode.Ok : ExitCode.Invalid;
}

/**
 * The documents of the context's clients with each client's environment: its context document, or
 * <DIR>/<client>.json when that exists. `undefined` after printing the context's problems.
 */
async function clientDocuments(
  io: CommandIo,
  contextPath: string,
  documentsDir: string | undefined,
): Promise<{ file: string; environment: FinapiEnvironment }[] | undefined> {
  let clients: Awaited<ReturnType<typeof contextClients>>;
  try {
    clients = await contextClients(contextPath);
  } catch (error) {
    if (!(error instanceof StackConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    return undefined;
  }
  const targets: { file: string; environment: FinapiEnvironment }[] = [];
  for (const client of clients) {
    const file =
      client.document !== undefined
        ? relative(".", resolve(dirname(contextPath), client.document))
        : documentsDir === undefined
          ? undefined
          : join(documentsDir, `${client.name}.json`);
    if (file !== undefined && (client.document !== undefined || existsSync(file))) {
      targets.push({ file, environment: client.environment });
    }
  }
  return targets;
}
