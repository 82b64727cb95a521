import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import { type WorkerConfig, type WorkerMessage, workerMessageSchema } from "./lambda-messages.ts";

export interface LocalLambdaOptions {
  readonly functionName: string;
  /** The module that exports `handler`, as Lambda's `index.handler`. */
  readonly handlerModule: URL;
  /** The function's environment variables: all it sees of `process.env`, as in Lambda. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** @default 256 */
  readonly memoryMb?: number;
  /** Every line the function writes, and Lambda's START/END/REPORT lines, as CloudWatch Logs would hold them. */
  readonly onLogLine?: (line: string) => void;
}

export type InvokeResult =
  | { readonly ok: true; readonly requestId: string; readonly payload: unknown; readonly logLines: string[] }
  | {
      readonly ok: false;
      readonly requestId: string;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly logLines: string[];
    };

export interface LocalLambda {
  readonly functionName: string;
  /**
   * Runs the handler with the event and a Lambda context, after the invocations before it: one
   * execution environment handles one event at a time (reserved concurrency 1).
   */
  invoke(event: unknown): Promise<InvokeResult>;
  close(): Promise<void>;
}

/** The function's init phase failed: its module threw while loading (a bad environment variable, say). */
export class LambdaInitError extends Error {
  override readonly name = "LambdaInitError";
}

const REGION = "eu-central-1";

interface Environment {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** The worker is gone (an uncaught error ended it, or a timeout): the next invocation needs a new one. */
  readonly exited: boolean;
}

/**
 * Runs a Lambda handler locally, exactly as its Lambda bundle would run it: the module is imported
 * once per execution environment (a worker thread with the function's environment variables), then
 * each invocation calls `handler(event, context)` with a real-shaped context and deadline. A timeout
 * ends the environment, as Lambda does, and the next invocation starts a new one (a cold start).
 */
export async function startLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const { functionName, timeoutMs, onLogLine } = options;
  const workerConfig: WorkerConfig = {
    functionName,
    handlerUrl: options.handlerModule.href,
    memoryMb: options.memoryMb ?? 256,
    region: options.environment.AWS_REGION ?? REGION,
  };
  let lines: string[] = [];
  let current: { requestId: string; settle: (message: WorkerMessage) => void } | undefined;
  let closed = false;

  const log = (line: string) => {
    lines.push(line);
    onLogLine?.(line);
  };

  const startEnvironment = (): Environment => {
    const worker = new Worker(new URL("./lambda-worker.ts", import.meta.url), {
      workerData: workerConfig,
      /* The variables Lambda itself sets: Powertools reads them (cold start, function name). */
      env: {
        ...options.environment,
        AWS_LAMBDA_FUNCTION_NAME: functionName,
        AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(workerConfig.memoryMb),
        AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
      },
    });
    worker.unref();
    let exited = false;
    const ready = new Promise<void>((resolve, reject) => {
      worker.on("message", (raw: unknown) => {
        const message = workerMessageSchema.parse(raw);
        if (message.type === "ready") resolve();
        else if (message.type === "log") log(message.line);
        else if (current?.requestId === message.requestId) current.settle(message);
      });
      worker.on("error", (error) => {
        const failure = new LambdaInitError(`${functionName} failed to start: ${error.message}`);
        reject(failure);
        current?.settle({
          type: "error",
          requestId: current.requestId,
          errorType: error.name,
          errorMessage: error.message,
        });
      });
      worker.on("exit", () => {
        exited = true;
        reject(new LambdaInitError(`${functionName} stopped while starting`));
      });
    });
    return {
      worker,
      ready,
      get exited() {
        return exited;
      },
    };
  };

  let environment = startEnvironment();
  await environment.ready;
  let queue: Promise<unknown> = Promise.resolve();

  const run = async (event: unknown): Promise<InvokeResult> => {
    const requestId = randomUUID();
    lines = [];
    if (closed) {
      return {
        ok: false,
        requestId,
        errorType: "Closed",
        errorMessage: `${functionName} was stopped`,
        logLines: [],
      };
    }
    if (environment.exited) {
      environment = startEnvironment();
      environment.ready.catch(() => {});
    }
    try {
      await environment.ready;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      return { ok: false, requestId, errorType: "Runtime.InitError", errorMessage: message, logLines: [] };
    }
    const startedAt = Date.now();
    log(`START RequestId: ${requestId} Version: $LATEST`);
    const outcome = await new Promise<WorkerMessage | "timeout">((resolve) => {
      const timer = setTimeout(() => resolve("timeout"), timeoutMs);
      current = {
        requestId,
        settle: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      };
      environment.worker.postMessage({ requestId, event, deadline: startedAt + timeoutMs });
    });
    current = undefined;
    const ended = `END RequestId: ${requestId}`;
    if (outcome === "timeout") {
      log(`${ended}\nREPORT RequestId: ${requestId} Duration: ${timeoutMs} ms Status: timeout`);
      await environment.worker.terminate();
      environment = startEnvironment();
      environment.ready.catch(() => {});
      const seconds = (timeoutMs / 1000).toFixed(2);
      return {
        ok: false,
        requestId,
        errorType: "Sandbox.Timedout",
        errorMessage: `Task timed out after ${seconds} seconds`,
        logLines: lines,
      };
    }
    log(ended);
    log(`REPORT RequestId: ${requestId} Duration: ${Date.now() - startedAt} ms`);
    if (outcome.type === "result") return { ok: true, requestId, payload: outcome.payload, logLines: lines };
    if (outcome.type === "error") {
      return {
        ok: false,
        requestId,
        errorType: outcome.errorType,
        errorMessage: outcome.errorMessage,
        logLines: lines,
      };
    }
    throw new Error(`unexpected message from ${functionName}'s worker: ${outcome.type}`);
  };

  return {
    functionName,
    invoke(event) {
      const result = queue.then(() => run(event));
      queue = result.catch(() => {});
      return result;
    },
    async close() {
      closed = true;
      await queue;
      await environment.worker.terminate();
    },
  };
}
