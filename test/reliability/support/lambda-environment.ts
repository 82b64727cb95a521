import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import {
  errorFields,
  forwardOutputLines,
  type HostedFunction,
  invokeHandler,
  type LambdaHandler,
  lambdaContext,
} from "../../../local/lambda-execution.ts";

/*
 * One Lambda execution environment, as a worker thread of lambda-host.ts: its own process.env (the
 * function's environment), the bundle imported once (the init phase), then one invocation at a time.
 * What the bundle writes reaches the host line by line on the same channel as the results, so that an
 * invocation's lines have all arrived when its result does.
 */

export interface EnvironmentData {
  readonly bundle: string;
  readonly functionName: string;
  readonly memoryMb: number;
}

export interface InvocationRequest {
  readonly requestId: string;
  readonly event: unknown;
  /** ms epoch by which the invocation must end: what getRemainingTimeInMillis counts down to. */
  readonly deadline: number;
}

export type EnvironmentMessage =
  | { readonly type: "line"; readonly line: string }
  | { readonly type: "ready"; readonly initMs: number }
  | { readonly type: "init-failed"; readonly errorType: string; readonly errorMessage: string }
  | {
      readonly type: "result";
      readonly requestId: string;
      readonly ok: true;
      readonly payload: unknown;
      /** The handler's own time, without the host's messaging: Lambda's REPORT Duration. */
      readonly durationMs: number;
    }
  | {
      readonly type: "result";
      readonly requestId: string;
      readonly ok: false;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly durationMs: number;
    };

if (!parentPort) throw new Error("lambda-environment.ts runs as a worker thread of lambda-host.ts");
const port = parentPort;
const data = workerData as EnvironmentData;
const send = (message: EnvironmentMessage) => port.postMessage(message);

forwardOutputLines((line) => {
  if (line.trim() !== "") send({ type: "line", line });
});

const hosted: HostedFunction = {
  functionName: data.functionName,
  region: "eu-central-1",
  memoryMb: data.memoryMb,
  logStreamPrefix: "reliability",
};

async function invoke(handler: LambdaHandler, request: InvocationRequest): Promise<EnvironmentMessage> {
  const startedAt = performance.now();
  const outcome = await invokeHandler(handler, request.event, lambdaContext(hosted, request));
  return {
    type: "result",
    requestId: request.requestId,
    ...outcome,
    durationMs: performance.now() - startedAt,
  };
}

const initStartedAt = performance.now();
try {
  const module = (await import(pathToFileURL(data.bundle).href)) as { handler?: unknown };
  if (typeof module.handler !== "function") throw new Error(`${data.bundle} exports no handler`);
  const handler = module.handler as LambdaHandler;
  port.on("message", (request: InvocationRequest) => {
    void invoke(handler, request).then(send);
  });
  send({ type: "ready", initMs: performance.now() - initStartedAt });
} catch (error) {
  send({ type: "init-failed", ...errorFields(error) });
}
