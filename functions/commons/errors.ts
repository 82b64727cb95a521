/*
 * How errors are named in log lines, outcomes, dead letters and CLI output, one way everywhere. Only
 * the name and message are used: an SDK error's message names the operation and the reason, never a
 * secret value, and nothing here reads an error's other fields.
 */

/** The error's name (`ThrottlingException`), or the type of what was thrown when it is not an Error. */
export function errorName(error: unknown): string {
  return error instanceof Error ? error.name : typeof error;
}

/** `Name: message (cause: Name: message)`, the form errors take in logs, dead letters and the CLI. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = `${error.name}: ${error.message}`;
  return error.cause === undefined ? text : `${text} (cause: ${describeError(error.cause)})`;
}

/** The error as structured log fields. */
export function errorFields(error: unknown): { readonly name: string; readonly message?: string } {
  return error instanceof Error ? { name: error.name, message: error.message } : { name: typeof error };
}
