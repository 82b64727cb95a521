import { pathToFileURL } from "node:url";
import { parentPort, workerData } from "node:worker_threads";
import type { Context } from "aws-lambda";

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

for (const stream of [process.stdout, process.stderr]) {
  let partial = "";
  stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    partial += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
    const lines = partial.split("\n");
    partial = lines.pop() ?? "";
    for (const line of lines) if (line.trim() !== "") send({ type: "line", line });
    const callback = rest.find((argument) => typeof argument === "function") as (() => void) | undefined;
    callback?.();
    return true;
  }) as typeof stream.write;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

function contextFor(request: InvocationRequest): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: data.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:eu-central-1:000000000000:function:${data.functionName}`,
    memoryLimitInMB: String(data.memoryMb),
    awsRequestId: request.requestId,
    logGroupName: `/aws/lambda/${data.functionName}`,
    logStreamName: `reliability/[$LATEST]${process.pid}`,
    getRemainingTimeInMillis: () => Math.max(0, request.deadline - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

async function invoke(handler: Handler, request: InvocationRequest): Promise<EnvironmentMessage> {
  const startedAt = performance.now();
  try {
    const payload = await handler(request.event, contextFor(request));
    return {
      type: "result",
      requestId: request.requestId,
      ok: true,
      /* Lambda hands the caller the payload as JSON. */
      payload: payload === undefined ? null : JSON.parse(JSON.stringify(payload)),
      durationMs: performance.now() - startedAt,
    };
  } catch (error) {
    return {
      type: "result",
      requestId: request.requestId,
      ok: false,
      errorType: error instanceof Error ? error.name : typeof error,
      errorMessage: error instanceof Error ? error.message : String(error),
      durationMs: performance.now() - startedAt,
    };
  }
}

const initStartedAt = performance.now();
try {
  const module = (await import(pathToFileURL(data.bundle).href)) as { handler?: unknown };
  if (typeof module.handler !== "function") throw new Error(`${data.bundle} exports no handler`);
  const handler = module.handler as Handler;
  port.on("message", (request: InvocationRequest) => {
    void invoke(handler, request).then(send);
  });
  send({ type: "ready", initMs: performance.now() - initStartedAt });
} catch (error) {
  send({
    type: "init-failed",
    errorType: error instanceof Error ? error.name : typeof error,
    errorMessage: error instanceof Error ? error.message : String(error),
  });
}
