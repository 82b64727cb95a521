import { parentPort, workerData } from "node:worker_threads";
import { lambdaContext } from "./lambda-context.ts";
import { errorFields, forwardOutputLines, invokeHandler, type LambdaHandler } from "./lambda-execution.ts";
import type { InvocationMessage, WorkerConfig, WorkerMessage } from "./lambda-messages.ts";

/*
 * One Lambda execution environment: a worker thread with the function's own environment variables
 * (set by the host when it starts the worker), which imports the handler module once (the init phase,
 * where the handlers validate their configuration) and then runs one invocation at a time.
 */

if (!parentPort) throw new Error("lambda-worker.ts runs as a worker thread of lambda-runtime.ts");
const port = parentPort;
/* Built by the host (see lambda-messages.ts for why it is not parsed here). */
const config = workerData as WorkerConfig;
const send = (message: WorkerMessage) => port.postMessage(message);

forwardOutputLines((line) => send({ type: "log", line }));

async function invoke(handler: LambdaHandler, invocation: InvocationMessage): Promise<WorkerMessage> {
  const { requestId } = invocation;
  const startedAt = performance.now();
  const context = lambdaContext({
    functionName: config.functionName,
    region: config.region,
    memoryMb: config.memoryMb,
    requestId,
    remainingMs: () => Math.max(0, invocation.deadline - Date.now()),
  });
  const outcome = await invokeHandler(handler, invocation.event, context);
  const durationMs = performance.now() - startedAt;
  if (outcome.ok) return { type: "result", requestId, payload: outcome.payload, durationMs };
  return {
    type: "error",
    requestId,
    errorType: outcome.errorType,
    errorMessage: outcome.errorMessage,
    durationMs,
  };
}

const initStartedAt = performance.now();
try {
  const handlerModule = (await import(config.handlerUrl)) as { handler?: unknown };
  if (typeof handlerModule.handler !== "function") {
    throw new Error(`${config.handlerUrl} does not export a function named handler`);
  }
  const handler = handlerModule.handler as LambdaHandler;
  port.on("message", (message: InvocationMessage) => {
    void invoke(handler, message).then(send);
  });
  send({ type: "ready", initMs: performance.now() - initStartedAt });
} catch (error) {
  send({ type: "init-failed", ...errorFields(error) });
}
