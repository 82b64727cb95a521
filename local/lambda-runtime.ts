import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { ErrorFields } from "./lambda-execution.ts";
import {
  type InvocationMessage,
  type WorkerConfig,
  type WorkerMessage,
  workerMessageSchema,
} from "./lambda-messages.ts";

export interface LocalLambdaOptions {
  readonly functionName: string;
  /** The module that exports `handler`, as Lambda's `index.handler`: a handler's source or a synthesized bundle. */
  readonly handlerModule: URL;
  /** The function's environment variables: all it sees of `process.env`, as in Lambda. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /**
   * How many environments may run at once (the reserved concurrency); further invocations wait, in
   * the order they came, as Lambda's asynchronous invocations queue under reserved concurrency.
   * @default 1
   */
  readonly concurrency?: number;
  /** @default 256 */
  readonly memoryMb?: number;
  /**
   * Every line any of the function's environments writes (init phase included), and Lambda's
   * START/END/REPORT lines, as CloudWatch Logs would hold them; `from` tells the two apart.
   */
  readonly onLogLine?: (line: string, from: LogLineSource) => void;
}

/** Who wrote a log line: the function (stdout and stderr), or Lambda (its START/END/REPORT lines). */
export type LogLineSource = "function" | "lambda";

interface InvocationFacts {
  readonly requestId: string;
  /** This invocation's lines, between Lambda's START and END/REPORT lines. */
  readonly logLines: string[];
  /** The handler's own time (Lambda's REPORT Duration); up to the timeout or the crash when it did not finish. */
  readonly durationMs: number;
  /** Whether the invocation started a new environment (its init phase ran first). */
  readonly coldStart: boolean;
}

export type InvokeResult =
  | ({ readonly ok: true; readonly payload: unknown } & InvocationFacts)
  | ({
      readonly ok: false;
      /**
       * `Sandbox.Timedout` when the deadline passed and the environment was destroyed mid-run,
       * `Runtime.ExitError` when it was killed, `Runtime.InitError` when a new one could not start,
       * `Closed` when the function was stopped first; otherwise the handler's error.
       */
      readonly errorType: string;
      readonly errorMessage: string;
    } & InvocationFacts);

export interface InvokeOptions {
  /** This invocation's timeout instead of the function's (to stop a run part-way, as a timeout does). */
  readonly timeoutMs?: number;
  /**
   * Destroys the environment when this resolves (at a point the test observed, such as a fault holding
   * the run), while the handler still believes it has its whole timeout: a crash (out of memory, a
   * killed runtime) that no middleware sees coming.
   */
  readonly killWhen?: Promise<unknown>;
}

export interface LocalLambda {
  readonly functionName: string;
  /**
   * Runs the handler with the event and a Lambda context in a warm environment, or a new one when none
   * is idle; at most `concurrency` at once, further invocations wait their turn.
   */
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeResult>;
  /** Destroys every idle environment: the next invocation starts cold, as after Lambda recycles them. */
  recycle(): Promise<void>;
  /**
   * Initialises environments one after the other until `count` are idle, each running `warmUp`'s event
   * once if given (as provisioned concurrency and earlier traffic would), so that a burst of invocations
   * runs side by side on warm environments instead of queueing behind one another's init.
   * Fails with LambdaInitError when an environment cannot start.
   */
  prewarm(count: number, warmUp?: (index: number) => unknown): Promise<void>;
  /** Environments started so far (each one a cold start, its init included). */
  readonly coldStarts: number;
  /** Init durations (module import and configuration) of every environment started so far. */
  readonly initDurationsMs: readonly number[];
  /** Lets running invocations finish, answers waiting ones `Closed`, then ends every environment. */
  close(): Promise<void>;
  /** Ends every environment now: running and waiting invocations answer `Closed`. */
  terminate(): Promise<void>;
}

/** The function's init phase failed: its module threw while loading (a bad environment variable, say). */
export class LambdaInitError extends Error {
  override readonly name = "LambdaInitError";
}

/** A new environment could not start: what its module threw, as Lambda reports it to the invocation that waited. */
class StartFailure {
  readonly reported: ErrorFields;

  constructor(reported: ErrorFields) {
    this.reported = reported;
  }
}

const REGION = "eu-central-1";
const WORKER = new URL("./lambda-worker.ts", import.meta.url);

interface Running {
  readonly requestId: string;
  readonly lines: string[];
  settle(outcome: Outcome): void;
}

type Outcome = WorkerMessage | Crash | "timeout" | "killed";

/** The environment ended under a running invocation. */
interface Crash {
  readonly type: "crash";
  readonly errorType: string;
  readonly errorMessage: string;
}

interface Environment {
  readonly worker: Worker;
  /** No invocation has run in it yet: the next one is a cold start. */
  fresh: boolean;
  running: Running | undefined;
}

/**
 * Runs a Lambda handler the way Lambda does, in worker threads: each execution environment imports the
 * handler module once with the function's environment variables (the init phase), handles one
 * invocation at a time with a real-shaped context and deadline, and is reused while warm. An
 * invocation that outlives its timeout destroys its environment, as Lambda does, and the next one
 * starts cold. Serves `npm start`, the bundle tests and the reliability suite.
 */
export function hostLambda(options: LocalLambdaOptions): LocalLambda {
  const { functionName, onLogLine } = options;
  const concurrency = options.concurrency ?? 1;
  const workerConfig: WorkerConfig = {
    functionName,
    handlerUrl: options.handlerModule.href,
    memoryMb: options.memoryMb ?? 256,
    region: options.environment.AWS_REGION ?? REGION,
  };
  const idle: Environment[] = [];
  const waiting: ((granted: boolean) => void)[] = [];
  const live = new Set<Environment>();
  const inFlight = new Set<Promise<InvokeResult>>();
  const initDurationsMs: number[] = [];
  let running = 0;
  let closed = false;

  /** Passes a line on, and keeps it among `invocationLines` when it belongs to a running invocation. */
  const log = (line: string, from: LogLineSource, invocationLines?: string[]) => {
    invocationLines?.push(line);
    onLogLine?.(line, from);
  };

  const startEnvironment = (): Promise<Environment> =>
    new Promise((resolve, reject) => {
      const worker = new Worker(WORKER, {
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
      const environment: Environment = { worker, fresh: true, running: undefined };
      live.add(environment);
      let started = false;
      const failStart = (reported: ErrorFields) => {
        void worker.terminate();
        reject(new StartFailure({ errorType: reported.errorType, errorMessage: reported.errorMessage }));
      };
      worker.on("message", (raw: unknown) => {
        const message = workerMessageSchema.parse(raw);
        if (message.type === "log") log(message.line, "function", environment.running?.lines);
        else if (message.type === "ready") {
          started = true;
          initDurationsMs.push(message.initMs);
          resolve(environment);
        } else if (message.type === "init-failed") failStart(message);
        else if (environment.running?.requestId === message.requestId) environment.running.settle(message);
      });
      worker.on("error", (error) => {
        if (!started) failStart({ errorType: error.name, errorMessage: error.message });
        else
          environment.running?.settle({ type: "crash", errorType: error.name, errorMessage: error.message });
      });
      worker.on("exit", () => {
        live.delete(environment);
        const index = idle.indexOf(environment);
        if (index >= 0) idle.splice(index, 1);
        if (!started) {
          reject(
            new StartFailure({
              errorType: "Runtime.ExitError",
              errorMessage: `${functionName} stopped while starting`,
            }),
          );
        }
        environment.running?.settle(
          closed
            ? { type: "crash", errorType: "Closed", errorMessage: `${functionName} was stopped` }
            : {
                type: "crash",
                errorType: "Runtime.ExitError",
                errorMessage: "Runtime exited without an answer",
              },
        );
      });
    });

  const acquireSlot = (): Promise<boolean> => {
    if (running < concurrency) {
      running += 1;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => waiting.push(resolve));
  };

  const releaseSlot = () => {
    const next = waiting.shift();
    if (next) next(true);
    else running -= 1;
  };

  const notRun = (errorType: string, errorMessage: string): InvokeResult => ({
    ok: false,
    requestId: randomUUID(),
    errorType,
    errorMessage,
    logLines: [],
    durationMs: 0,
    coldStart: false,
  });
  const stopped = () => notRun("Closed", `${functionName} was stopped`);

  const run = async (
    environment: Environment,
    event: unknown,
    timeoutMs: number,
    killWhen?: Promise<unknown>,
  ): Promise<InvokeResult> => {
    const requestId = randomUUID();
    const coldStart = environment.fresh;
    environment.fresh = false;
    const lines: string[] = [];
    const startedAt = performance.now();
    const outcome = await new Promise<Outcome>((resolve) => {
      const invocation: Running = {
        requestId,
        lines,
        settle: (settled) => {
          clearTimeout(timer);
          environment.running = undefined;
          resolve(settled);
        },
      };
      const timer = setTimeout(() => invocation.settle("timeout"), timeoutMs);
      void killWhen?.then(() => {
        if (environment.running === invocation) invocation.settle("killed");
      });
      environment.running = invocation;
      log(`START RequestId: ${requestId} Version: $LATEST`, "lambda", lines);
      const invocationMessage: InvocationMessage = { requestId, event, deadline: Date.now() + timeoutMs };
      environment.worker.postMessage(invocationMessage);
    });
    const report = (durationMs: number, status?: string) => {
      log(`END RequestId: ${requestId}`, "lambda", lines);
      const ending = status === undefined ? "" : ` Status: ${status}`;
      log(`REPORT RequestId: ${requestId} Duration: ${Math.round(durationMs)} ms${ending}`, "lambda", lines);
    };
    const facts = { requestId, logLines: lines, coldStart };
    if (outcome === "timeout" || outcome === "killed") {
      const durationMs = performance.now() - startedAt;
      report(outcome === "timeout" ? timeoutMs : durationMs, outcome === "timeout" ? "timeout" : "error");
      await environment.worker.terminate();
      return outcome === "timeout"
        ? {
            ok: false,
            errorType: "Sandbox.Timedout",
            errorMessage: `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
            durationMs,
            ...facts,
          }
        : {
            ok: false,
            errorType: "Runtime.ExitError",
            errorMessage: "Runtime exited with error: signal: killed",
            durationMs,
            ...facts,
          };
    }
    if (outcome.type === "crash") {
      const durationMs = performance.now() - startedAt;
      report(durationMs, "error");
      await environment.worker.terminate();
      return {
        ok: false,
        errorType: outcome.errorType,
        errorMessage: outcome.errorMessage,
        durationMs,
        ...facts,
      };
    }
    if (outcome.type !== "result" && outcome.type !== "error") {
      throw new Error(`unexpected message from ${functionName}'s worker: ${outcome.type}`);
    }
    report(outcome.durationMs);
    if (live.has(environment) && !closed) idle.push(environment);
    return outcome.type === "result"
      ? { ok: true, payload: outcome.payload, durationMs: outcome.durationMs, ...facts }
      : {
          ok: false,
          errorType: outcome.errorType,
          errorMessage: outcome.errorMessage,
          durationMs: outcome.durationMs,
          ...facts,
        };
  };

  const invoke = async (event: unknown, invokeOptions: InvokeOptions): Promise<InvokeResult> => {
    if (closed || !(await acquireSlot())) return stopped();
    try {
      let environment = idle.pop();
      if (!environment) {
        try {
          environment = await startEnvironment();
        } catch (error) {
          if (!(error instanceof StartFailure)) throw error;
          return notRun(error.reported.errorType, error.reported.errorMessage);
        }
      }
      if (closed) return stopped();
      return await run(
        environment,
        event,
        invokeOptions.timeoutMs ?? options.timeoutMs,
        invokeOptions.killWhen,
      );
    } finally {
      releaseSlot();
    }
  };

  const stop = () => {
    closed = true;
    idle.length = 0;
    for (const next of waiting.splice(0)) next(false);
  };
  const terminateAll = () => Promise.all([...live].map((environment) => environment.worker.terminate()));

  return {
    functionName,
    invoke(event, invokeOptions = {}) {
      const result = invoke(event, invokeOptions);
      inFlight.add(result);
      void result.finally(() => inFlight.delete(result));
      return result;
    },
    async prewarm(count, warmUp) {
      const warmed: Environment[] = [];
      while (idle.length + warmed.length < Math.min(count, concurrency)) {
        const environment = await startEnvironment().catch((error: unknown) => {
          if (!(error instanceof StartFailure)) throw error;
          throw new LambdaInitError(`${functionName} failed to start: ${error.reported.errorMessage}`);
        });
        if (warmUp) {
          const result = await run(environment, warmUp(warmed.length), options.timeoutMs);
          if (!result.ok) throw new Error(`warming up ${functionName} failed: ${result.errorMessage}`);
          /* run() put the environment back among the idle ones. */
          warmed.push(idle.pop() as Environment);
        } else warmed.push(environment);
      }
      idle.push(...warmed);
    },
    async recycle() {
      const environments = idle.splice(0);
      await Promise.all(environments.map((environment) => environment.worker.terminate()));
    },
    get coldStarts() {
      return initDurationsMs.length;
    },
    initDurationsMs,
    async close() {
      stop();
      await Promise.all(inFlight);
      await terminateAll();
    },
    async terminate() {
      stop();
      await terminateAll();
    },
  };
}

/**
 * Hosts the function and runs its init phase once before answering, as `npm start` wants it: a module
 * that cannot load (a bad environment variable, say) fails here with LambdaInitError and its message.
 */
export async function startLambda(options: LocalLambdaOptions): Promise<LocalLambda> {
  const lambda = hostLambda(options);
  try {
    await lambda.prewarm(1);
  } catch (error) {
    await lambda.terminate();
    throw error;
  }
  return lambda;
}
