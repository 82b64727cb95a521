import { parseArgs } from "node:util";
import { formatViolations, parseDesiredDocument } from "../../functions/finapi/schema.ts";
import { type CommandIo, ExitCode, UsageError } from "../io.ts";
import { parseEnvironment, parseOrUsageError, readDocument } from "../options.ts";

export const validateUsage = `Usage: finapi-config validate [--environment sandbox|live|alpha] FILE...

Checks desired-state documents offline against finAPI's ClientConfigurationParams rules (a key written
twice is a violation too) and prints every violation as FILE:LINE:COLUMN: PATH MESSAGE [RULE].
finAPI is not called.

Options:
  --environment E  the rules of which finAPI environment to apply (live accepts only https
                   callback URLs) [default: live, the strictest]
  -h, --help       show this help

Exit codes: 0 every document is valid, 1 any document is invalid or unreadable, 64 usage error.`;

export async function validateCommand(args: readonly string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseOrUsageError(() =>
    parseArgs({
      args: [...args],
      options: { environment: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    }),
  );
  if (values.help) {
    io.stdout(`${validateUsage}\n`);
    return ExitCode.Ok;
  }
  if (positionals.length === 0) throw new UsageError("name at least one FILE to validate");
  const environment = parseEnvironment(values.environment) ?? "live";

  let invalid = 0;
  for (const file of positionals) {
    const document = await readDocument(file);
    if (!document.ok) {
      invalid++;
      io.stderr(`${file}: ${document.reason}\n`);
      continue;
    }
    const result = parseDesiredDocument(document.text, environment);
    if (result.ok) {
      io.stdout(`${file}: valid (${environment} rules)\n`);
    } else {
      invalid++;
      io.stderr(`${formatViolations(result.violations, file)}\n`);
    }
  }
  const summary =
    invalid === 0
      ? `${positionals.length} document(s) valid.`
      : `${invalid} of ${positionals.length} document(s) invalid.`;
  (invalid === 0 ? io.stdout : io.stderr)(`${summary}\n`);
  return invalid === 0 ? ExitCode.Ok : ExitCode.Invalid;
}
