import { randomUUID } from "node:crypto";
import { Worker } from "node:worker_threads";
import type { EnvironmentData, EnvironmentMessage, InvocationRequest } from "./lambda-environment.ts";

export interface HostedFunctionOptions {
  readonly functionName: string;
  /** The synthesized bundle's index.mjs. */
  readonly bundle: string;
  /** All the function sees of process.env, as in Lambda. */
  readonly environment: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  /** How many environments may run at once (the reserved concurrency); further invocations wait. */
  readonly concurrency: number;
  /** @default 256 */
  readonly memoryMb?: number;
  /** Every line any of the function's environments writes, stdout and stderr alike. */
  readonly onLine: (line: string) => void;
}

export type InvokeResult =
  | { readonly ok: true; readonly payload: unknown; readonly durationMs: number; readonly coldStart: boolean }
  | {
      readonly ok: false;
      /** `Sandbox.Timedout` when the deadline passed and the environment was destroyed mid-run. */
      readonly errorType: string;
      readonly errorMessage: string;
      readonly durationMs: number;
      readonly coldStart: boolean;
    };

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

export interface HostedFunction {
  readonly functionName: string;
  invoke(event: unknown, options?: InvokeOptions): Promise<InvokeResult>;
  /** Destroys every idle environment: the next invocation starts cold, as after Lambda recycles them. */
  recycle(): Promise<void>;
  /**
   * Initialises environments one after the other until `count` are idle, each running `warmUp`'s event
   * once if given (as provisioned concurrency and earlier traffic would), so that a burst of invocations
   * runs side by side on warm environments instead of queueing behind one another's init.
   */
  prewarm(count: number, warmUp?: (index: number) => unknown): Promise<void>;
  /** Environments started so far (each one a cold start, its init included). */
  readonly coldStarts: number;
  /** Init durations (module import and configuration) of every environment started so far. */
  readonly initDurationsMs: readonly number[];
  close(): Promise<void>;
}

interface Environment {
  readonly worker: Worker;
  readonly fresh: boolean;
}

const TIMED_OUT = "Sandbox.Timedout";
const KILLED = "Runtime.ExitError";

/**
 * Runs a synthesized Lambda bundle the way Lambda does, in worker threads: each execution environment
 * imports the bundle once with the function's environment variables, handles one invocation at a time,
 * is reused while warm, and is destroyed when an invocation outlives its timeout (the next one starts
 * cold). At most `concurrency` environments exist; further invocations wait for one (Lambda's
 * asynchronous invocations queue in the same way under reserved concurrency).
 */
export function hostFunction(options: HostedFunctionOptions): HostedFunction {
  const idle: Environment[] = [];
  const waiting: ((slot: true) => void)[] = [];
  const live = new Set<Worker>();
  const initDurationsMs: number[] = [];
  let running = 0;
  let closed = false;

  const start = (): Promise<Environment> =>
    new Promise((resolve, reject) => {
      const data: EnvironmentData = {
        bundle: options.bundle,
        functionName: options.functionName,
        memoryMb: options.memoryMb ?? 256,
      };
      const worker = new Worker(new URL("./lambda-environment.ts", import.meta.url), {
        workerData: data,
        env: { ...options.environment, AWS_LAMBDA_FUNCTION_NAME: options.functionName },
      });
      worker.unref();
      live.add(worker);
      worker.once("exit", () => live.delete(worker));
      worker.once("error", reject);
      worker.on("message", (message: EnvironmentMessage) => {
        if (message.type === "line") options.onLine(message.line);
        else if (message.type === "ready") {
          initDurationsMs.push(message.initMs);
          resolve({ worker, fresh: true });
        } else if (message.type === "init-failed") {
          void worker.terminate();
          reject(new Error(`${options.functionName} failed to initialise: ${message.errorMessage}`));
        }
      });
    });

  const acquireSlot = async () => {
    if (running < options.concurrency) {
      running += 1;
      return;
    }
    await new Promise<true>((resolve) => waiting.push(resolve));
  };

  const releaseSlot = () => {
    const next = waiting.shift();
    if (next) next(true);
    else running -= 1;
  };

  const run = (
    environment: Environment,
    event: unknown,
    timeoutMs: number,
    killWhen?: Promise<unknown>,
  ): Promise<InvokeResult> =>
    new Promise((resolve) => {
      const requestId = randomUUID();
      const coldStart = environment.fresh;
      const startedAt = performance.now();
      let settled = false;
      const destroy = (killed: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        environment.worker.off("message", onMessage);
        void environment.worker.terminate();
        resolve({
          ok: false,
          errorType: killed ? KILLED : TIMED_OUT,
          errorMessage: killed
            ? "Runtime exited with error: signal: killed"
            : `Task timed out after ${(timeoutMs / 1000).toFixed(2)} seconds`,
          durationMs: performance.now() - startedAt,
          coldStart,
        });
      };
      const timer = setTimeout(() => destroy(false), timeoutMs);
      void killWhen?.then(() => destroy(true));
      const onMessage = (message: EnvironmentMessage) => {
        if (message.type !== "result" || message.requestId !== requestId) return;
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        environment.worker.off("message", onMessage);
        idle.push({ worker: environment.worker, fresh: false });
        resolve(
          message.ok
            ? { ok: true, payload: message.payload, durationMs: message.durationMs, coldStart }
            : {
                ok: false,
                errorType: message.errorType,
                errorMessage: message.errorMessage,
                durationMs: message.durationMs,
                coldStart,
              },
        );
      };
      environment.worker.on("message", onMessage);
      const request: InvocationRequest = { requestId, event, deadline: Date.now() + timeoutMs };
      environment.worker.postMessage(request);
    });

  return {
    functionName: options.functionName,
    async invoke(event, invokeOptions = {}) {
      if (closed) throw new Error(`${options.functionName} is closed`);
      await acquireSlot();
      try {
        const environment = idle.pop() ?? (await start());
        return await run(
          environment,
          event,
          invokeOptions.timeoutMs ?? options.timeoutMs,
          invokeOptions.killWhen,
        );
      } finally {
        releaseSlot();
      }
    },
    async prewarm(count, warmUp) {
      const warmed: Environment[] = [];
      while (idle.length + warmed.length < Math.min(count, options.concurrency)) {
        const environment = await start();
        if (warmUp) {
          const result = await run(environment, warmUp(warmed.length), options.timeoutMs);
          if (!result.ok)
            throw new Error(`warming up ${options.functionName} failed: ${result.errorMessage}`);
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
      closed = true;
      idle.length = 0;
      await Promise.all([...live].map((worker) => worker.terminate()));
    },
  };
}
