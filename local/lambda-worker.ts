import { parentPort, workerData } from "node:worker_threads";
import type { Context } from "aws-lambda";
import {
  type InvocationMessage,
  invocationMessageSchema,
  type WorkerMessage,
  workerConfigSchema,
} from "./lambda-messages.ts";

/*
 * One Lambda execution environment: a worker thread with the function's own environment variables
 * (set by the runtime when it starts the worker), which imports the handler module (the init phase,
 * where the handlers validate their configuration) and then runs one invocation at a time.
 */

if (!parentPort) throw new Error("lambda-worker.ts runs as a worker thread of lambda-runtime.ts");
const port = parentPort;
const config = workerConfigSchema.parse(workerData);
const send = (message: WorkerMessage) => port.postMessage(message);

/*
 * What the function writes (Powertools Logger and Metrics write to process.stdout, as in Lambda) goes
 * to the runtime line by line, on the same channel as the results, so lines and results keep their order.
 */
for (const stream of [process.stdout, process.stderr]) {
  let partial = "";
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    partial += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) send({ type: "log", line });
    const callback = rest.find((argument) => typeof argument === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

const handlerModule = (await import(config.handlerUrl)) as { handler?: unknown };
if (typeof handlerModule.handler !== "function") {
  throw new Error(`${config.handlerUrl} does not export a function named handler`);
}
const handler = handlerModule.handler as (event: unknown, context: Context) => Promise<unknown>;

function contextFor(invocation: InvocationMessage): Context {
  const { functionName, region, memoryMb } = config;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
    memoryLimitInMB: String(memoryMb),
    awsRequestId: invocation.requestId,
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `local/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, invocation.deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

async function invoke(invocation: InvocationMessage): Promise<WorkerMessage> {
  try {
    const payload = await handler(invocation.event, contextFor(invocation));
    /* Lambda returns the payload as JSON: what does not survive JSON.stringify does not reach the caller. */
    return {
      type: "result",
      requestId: invocation.requestId,
      payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)),
    };
  } catch (error) {
    return {
      type: "error",
      requestId: invocation.requestId,
      errorType: error instanceof Error ? error.name : typeof error,
      errorMessage: error instanceof Error ? error.message : String(error),
    };
  }
}

port.on("message", (message: unknown) => {
  const invocation = invocationMessageSchema.parse(message);
  void invoke(invocation).then(send);
});
send({ type: "ready" });
