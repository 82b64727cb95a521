import * as z from "zod";

/*
 * What the Lambda host (lambda-runtime.ts) and one of its execution environments (lambda-worker.ts,
 * a worker thread) say to each other: the function's configuration at start, then invocations and
 * their results, with every line the function writes passed along in order on the same channel, so
 * that an invocation's lines have all arrived when its result does.
 */

/*
 * What the host sends is typed, not parsed: the host builds it, and an environment that loaded zod to
 * check it would pay a few hundred ms of CPU at every cold start. What an environment sends is parsed
 * by the host: the function's own code runs on that side.
 */

export interface WorkerConfig {
  readonly functionName: string;
  /** file: URL of the module that exports `handler`: a handler's source or a synthesized bundle's index.mjs. */
  readonly handlerUrl: string;
  readonly memoryMb: number;
  readonly region: string;
}

export interface InvocationMessage {
  readonly requestId: string;
  readonly event: unknown;
  /** ms epoch by which the invocation must end: what `context.getRemainingTimeInMillis()` counts down to. */
  readonly deadline: number;
}

/** The handler's own time, without the host's messaging: Lambda's REPORT Duration. */
const durationMs = z.number();

export const workerMessageSchema = z.discriminatedUnion("type", [
  /** The init phase (importing the module, which validates its configuration) took `initMs`. */
  z.object({ type: z.literal("ready"), initMs: z.number() }),
  z.object({ type: z.literal("init-failed"), errorType: z.string(), errorMessage: z.string() }),
  z.object({ type: z.literal("log"), line: z.string() }),
  z.object({ type: z.literal("result"), requestId: z.string(), payload: z.unknown(), durationMs }),
  z.object({
    type: z.literal("error"),
    requestId: z.string(),
    errorType: z.string(),
    errorMessage: z.string(),
    durationMs,
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
