import { parentPort, workerData } from "node:worker_threads";
import {
  forwardOutputLines,
  type HostedFunction,
  invokeHandler,
  type LambdaHandler,
  lambdaContext,
} from "./lambda-execution.ts";
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

forwardOutputLines((line) => send({ type: "log", line }));

const handlerModule = (await import(config.handlerUrl)) as { handler?: unknown };
if (typeof handlerModule.handler !== "function") {
  throw new Error(`${config.handlerUrl} does not export a function named handler`);
}
const handler = handlerModule.handler as LambdaHandler;
const hosted: HostedFunction = { ...config, logStreamPrefix: "local" };

async function invoke(invocation: InvocationMessage): Promise<WorkerMessage> {
  const outcome = await invokeHandler(handler, invocation.event, lambdaContext(hosted, invocation));
  const { requestId } = invocation;
  if (outcome.ok) return { type: "result", requestId, payload: outcome.payload };
  return { type: "error", requestId, errorType: outcome.errorType, errorMessage: outcome.errorMessage };
}

port.on("message", (message: unknown) => {
  const invocation = invocationMessageSchema.parse(message);
  void invoke(invocation).then(send);
});
send({ type: "ready" });
