import * as z from "zod";

/*
 * What the local Lambda runtime (lambda-runtime.ts) and a function's worker thread (lambda-worker.ts)
 * say to each other: the function's configuration at start, then invocations and their results, with
 * every line the function writes passed along in order.
 */

export const workerConfigSchema = z.object({
  functionName: z.string(),
  /** file: URL of the module that exports `handler`. */
  handlerUrl: z.string(),
  memoryMb: z.int(),
  region: z.string(),
});
export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export const invocationMessageSchema = z.object({
  requestId: z.string(),
  event: z.unknown(),
  /** ms epoch by which the invocation must end: what `context.getRemainingTimeInMillis()` counts down to. */
  deadline: z.number(),
});
export type InvocationMessage = z.infer<typeof invocationMessageSchema>;

export const workerMessageSchema = z.discriminatedUnion("type", [
  z.object({ type: z.literal("ready") }),
  z.object({ type: z.literal("log"), line: z.string() }),
  z.object({ type: z.literal("result"), requestId: z.string(), payload: z.unknown() }),
  z.object({
    type: z.literal("error"),
    requestId: z.string(),
    errorType: z.string(),
    errorMessage: z.string(),
  }),
]);
export type WorkerMessage = z.infer<typeof workerMessageSchema>;
