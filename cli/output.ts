import type { Violation } from "../functions/finapi/schema.ts";
import { UsageError } from "./io.ts";

/** How a command reports: lines for people, one JSON document on stdout, or GitHub workflow annotations. */
export type OutputFormat = "text" | "json" | "github";

const FORMATS: readonly OutputFormat[] = ["text", "json", "github"];

/** `--json` is short for `--format json`; both at once must agree. */
export function outputFormat(values: { readonly json?: boolean; readonly format?: string }): OutputFormat {
  const format = values.format ?? (values.json ? "json" : "text");
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--format must be one of ${FORMATS.join(", ")} (got "${format}")`);
  }
  if (values.json && format !== "json") throw new UsageError(`--json contradicts --format ${format}`);
  return format as OutputFormat;
}

/** Where a violation's key stands in its file, when the text was at hand (1-based). */
type Located = Violation & { readonly line?: number; readonly column?: number };

/* GitHub's workflow-command escaping: data loses %, CR and LF; property values also : and ,. */
const escapeData = (text: string) =>
  text.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A");
const escapeProperty = (text: string) => escapeData(text).replaceAll(":", "%3A").replaceAll(",", "%2C");

/** One `::error file=F,line=L,col=C,title=T::message` workflow command. */
export function githubError(
  message: string,
  where: { readonly file: string; readonly line?: number; readonly column?: number; readonly title?: string },
): string {
  const properties = [
    `file=${escapeProperty(where.file)}`,
    ...(where.line === undefined ? [] : [`line=${where.line}`]),
    ...(where.column === undefined ? [] : [`col=${where.column}`]),
    ...(where.title === undefined ? [] : [`title=${escapeProperty(where.title)}`]),
  ];
  return `::error ${properties.join(",")}::${escapeData(message)}`;
}

/** One annotation line per violation, for a GitHub Actions step's log. */
export function githubAnnotations(violations: readonly Located[], file: string): string {
  return violations
    .map((violation) =>
      githubError(`${violation.path} ${violation.message}`, {
        file,
        ...(violation.line === undefined ? {} : { line: violation.line }),
        ...(violation.column === undefined ? {} : { column: violation.column }),
        title: `finapi-config: ${violation.rule}`,
      }),
    )
    .join("\n");
}

/** A command's whole answer as one JSON document on stdout. */
export function jsonDocument(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
