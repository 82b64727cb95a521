import { readFile } from "node:fs/promises";
import { type ParseArgsConfig, parseArgs } from "node:util";
import type { Result } from "../functions/commons/result.ts";
import { finapiBaseUrlProblem, LOCAL_BASE_URL_RULE } from "../functions/finapi/base-url.ts";
import { nearestName } from "../functions/finapi/nearest-name.ts";
import { type FinapiEnvironment, finapiEnvironmentSchema } from "../functions/finapi/schema.ts";
import { type CommandIo, UsageError } from "./io.ts";

type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

/* node:util's words for an option it does not know, e.g. "Unknown option '--fiel'". */
const UNKNOWN_OPTION = /Unknown option '(-{1,2}[^']+)'/;

/**
 * node:util parseArgs in strict mode, with what it throws turned into a usage error; an unknown
 * option is named with the nearest known one ("did you mean --file?").
 */
export function parseCommandArgs<T extends OptionsConfig>(
  args: readonly string[],
  options: T,
  { allowPositionals = false }: { allowPositionals?: boolean } = {},
) {
  try {
    return parseArgs({ args: [...args], options, allowPositionals, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = UNKNOWN_OPTION.exec(message)?.[1];
    if (unknown === undefined) throw new UsageError(message);
    const nearest = nearestName(
      unknown.replace(/^-+/, ""),
      Object.keys(options).filter((name) => name.length > 1),
    );
    throw new UsageError(`unknown option ${unknown}${nearest ? `; did you mean --${nearest}?` : ""}`);
  }
}

/** The one document a command works on: `--file FILE` or a positional FILE, never two different ones. */
export function documentArgument(file: string | undefined, positionals: readonly string[]): string {
  const named = [...(file === undefined ? [] : [file]), ...positionals];
  const distinct = [...new Set(named)];
  if (distinct.length === 0) throw new UsageError("name the document: FILE or --file FILE (- reads stdin)");
  if (distinct.length > 1)
    throw new UsageError(`name one document, not ${distinct.length}: ${distinct.join(", ")}`);
  return distinct[0] as string;
}

export function parseEnvironment(value: string | undefined): FinapiEnvironment | undefined {
  if (value === undefined) return undefined;
  const parsed = finapiEnvironmentSchema.safeParse(value);
  if (!parsed.success)
    throw new UsageError(`--environment must be one of sandbox, live, alpha (got "${value}")`);
  return parsed.data;
}

/** finAPI's live host implies the live rules; every other base URL is treated as sandbox unless told. */
export function environmentForBaseUrl(baseUrl: string): FinapiEnvironment {
  return URL.parse(baseUrl)?.hostname === "live.finapi.io" ? "live" : "sandbox";
}

export function requireBaseUrl(value: string | undefined): string {
  if (value === undefined)
    throw new UsageError("--base-url is required, for example --base-url https://sandbox.finapi.io");
  const problem = finapiBaseUrlProblem(value, LOCAL_BASE_URL_RULE);
  if (problem) throw new UsageError(`--base-url ${problem}`);
  return value;
}

/** What a document FILE names: a path, or `-` for standard input. */
export async function readDocument(
  path: string,
  io?: Pick<CommandIo, "readStdin">,
): Promise<Result<string, { reason: string }>> {
  if (path === "-") {
    if (!io?.readStdin) return { ok: false, reason: "standard input cannot be read here" };
    return { ok: true, value: await io.readStdin() };
  }
  try {
    return { ok: true, value: await readFile(path, "utf8") };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === "ENOENT"
        ? "no such file"
        : code === "EISDIR"
          ? "is a directory"
          : `cannot be read (${code ?? "error"})`;
    return { ok: false, reason };
  }
}
