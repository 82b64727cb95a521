import { formatViolations, parseDesiredDocument, type Violation } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { parseCommandArgs, parseEnvironment, readDocument } from "../options.ts";
import { githubAnnotations, githubError, jsonDocument, outputFormat } from "../output.ts";

export const validateUsage = `Usage: finapi-config validate [--environment sandbox|live|alpha] [--json | --format F] FILE...

Checks desired-state documents offline against finAPI's ClientConfigurationParams rules and prints every
violation with its file and field path. finAPI is not called.

Options:
  --file FILE      a document to check (repeatable; FILE arguments work the same; - reads stdin)
  --environment E  the rules of which finAPI environment to apply (live accepts only https
                   callback URLs) [default: live, the strictest]
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
  const files = [...(values.file ?? []), ...positionals];
  if (files.length === 0) throw new UsageError("name at least one FILE to validate (- reads stdin)");
  const environment = parseEnvironment(values.environment) ?? "live";

  const verdicts: DocumentVerdict[] = [];
  for (const file of files) {
    const document = await readDocument(file, io);
    if (!document.ok) {
      verdicts.push({ file, valid: false, violations: [], error: document.reason });
      if (format !== "json") io.stderr(`${file}: ${document.reason}\n`);
      if (format === "github") io.stdout(`${githubError(document.reason, { file })}\n`);
      continue;
    }
    const result = parseDesiredDocument(document.text, environment);
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
    io.stdout(jsonDocument({ valid: invalid === 0, environment, documents: verdicts }));
  } else {
    const summary =
      invalid === 0
        ? `${files.length} document(s) valid.`
        : `${invalid} of ${files.length} document(s) invalid.`;
    (invalid === 0 ? io.stdout : io.stderr)(`${summary}\n`);
  }
  return invalid === 0 ? ExitCode.Ok : ExitCode.Invalid;
}
