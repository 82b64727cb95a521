import { readFile } from "node:fs/promises";
import { finapiBaseUrlProblem, LOCAL_BASE_URL_RULE } from "../functions/finapi/base-url.ts";
import { type FinapiEnvironment, finapiEnvironmentSchema } from "../functions/finapi/schema.ts";
import { UsageError } from "./io.ts";

/** Runs an argument parser (node:util parseArgs), turning what it throws into a usage error. */
export function parseOrUsageError<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
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

export async function readDocument(
  path: string,
): Promise<{ ok: true; text: string } | { ok: false; reason: string }> {
  try {
    return { ok: true, text: await readFile(path, "utf8") };
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
