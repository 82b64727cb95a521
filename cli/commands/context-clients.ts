import { dirname, resolve } from "node:path";
import { type ClientConfig, parseStackConfig } from "../../infra/config.ts";
import { UsageError } from "../io.ts";
import { readDocument } from "../options.ts";

/**
 * The clients of a CDK context file (cdk.json, or any JSON file with a "context" object), validated by
 * the stack's own rules, so that the CLI and `cdk synth` never disagree. A context file that cannot be
 * read is a usage error; an invalid context throws the stack's StackConfigError with every problem.
 */
export async function contextClients(path: string): Promise<readonly ClientConfig[]> {
  const read = await readDocument(path);
  if (!read.ok) throw new UsageError(`--context ${path}: ${read.reason}`);
  let json: unknown;
  try {
    json = JSON.parse(read.value);
  } catch {
    throw new UsageError(`--context ${path}: is not JSON`);
  }
  const context = (json as { context?: unknown }).context;
  if (typeof context !== "object" || context === null) {
    throw new UsageError(`--context ${path}: has no "context" object`);
  }
  /* Documents named in the context are relative to the context file's folder, the repository. */
  return parseStackConfig(context as Record<string, unknown>, dirname(resolve(path))).clients;
}
