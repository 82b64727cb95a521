import type { Context } from "aws-lambda";

/* What a Lambda execution environment (lambda-worker.ts) does around the handler it hosts. */

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Hands what the function writes (Powertools Logger and Metrics write to process.stdout, as in Lambda)
 * to `sendLine` line by line, so the host can pass lines on the same channel as results and keep their order.
 */
export function forwardOutputLines(sendLine: (line: string) => void): void {
  for (const stream of [process.stdout, process.stderr]) {
    let partial = "";
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      partial += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      const lines = partial.split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) sendLine(line);
      const callback = rest.find((argument) => typeof argument === "function") as (() => void) | undefined;
      callback?.();
      return true;
    }) as typeof stream.write;
  }
}

export interface ErrorFields {
  readonly errorType: string;
  readonly errorMessage: string;
}

/** What Lambda reports of a thrown value. */
export function errorFields(error: unknown): ErrorFields {
  return {
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  };
}

export type InvocationOutcome =
  | { readonly ok: true; readonly payload: unknown }
  | ({ readonly ok: false } & ErrorFields);

export async function invokeHandler(
  handler: LambdaHandler,
  event: unknown,
  context: Context,
): Promise<InvocationOutcome> {
  try {
    const payload = await handler(event, context);
    /* Lambda returns the payload as JSON: what does not survive JSON.stringify does not reach the caller. */
    return { ok: true, payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)) };
  } catch (error) {
    return { ok: false, ...errorFields(error) };
  }
}
