import { afterEach, describe, expect, it } from "vitest";
import {
  hostLambda,
  LambdaInitError,
  type LocalLambda,
  type LocalLambdaOptions,
  startLambda,
} from "../../local/lambda-runtime.ts";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";

const handlerModule = (name: string) => new URL(`../fixtures/local/handlers/${name}.ts`, import.meta.url);

describe("startLambda", { timeout: WORKER_TIMEOUT_MS }, () => {
  const started: LocalLambda[] = [];
  const start = async (
    name: string,
    options: { timeoutMs?: number; environment?: Record<string, string> } = {},
  ) => {
    const lines: string[] = [];
    const lambda = await startLambda({
      functionName: `fixture-${name}`,
      handlerModule: handlerModule(name),
      environment: options.environment ?? { GREETING: "hello" },
      timeoutMs: options.timeoutMs ?? 10_000,
      memoryMb: 512,
      onLogLine: (line) => lines.push(line),
    });
    started.push(lambda);
    return { lambda, lines };
  };
  /** Hosted without starting an environment first, as the reliability suite and the bundle tests host bundles. */
  const host = (name: string, options: Partial<LocalLambdaOptions> = {}) => {
    const lambda = hostLambda({
      functionName: `fixture-${name}`,
      handlerModule: handlerModule(name),
      environment: { GREETING: "hello" },
      timeoutMs: 10_000,
      ...options,
    });
    started.push(lambda);
    return lambda;
  };

  afterEach(async () => {
    await Promise.all(started.splice(0).map((lambda) => lambda.close()));
  });

  it("calls the handler with the event and a Lambda context, in an environment that holds only the function's variables", async () => {
    const { lambda } = await start("echo");
    const result = await lambda.invoke({ hello: "world" });
    expect(result).toMatchObject({ ok: true });
    if (!result.ok) return;
    expect(result.payload).toMatchObject({
      event: { hello: "world" },
      greeting: "hello",
      home: null,
      initializationType: "on-demand",
      functionName: "fixture-echo",
      memoryLimitInMB: "512",
      requestId: result.requestId,
    });
    const { remainingMs } = result.payload as { remainingMs: number };
    expect(remainingMs).toBeGreaterThan(0);
    expect(remainingMs).toBeLessThanOrEqual(10_000);
  });

  it("passes on every line the function writes, in order, between Lambda's START and END/REPORT lines", async () => {
    const { lambda, lines } = await start("echo");
    const result = await lambda.invoke({});
    const requestId = result.requestId;
    expect(result.logLines).toEqual([
      `START RequestId: ${requestId} Version: $LATEST`,
      JSON.stringify({ message: "first line", requestId }),
      "second line",
      `END RequestId: ${requestId}`,
      expect.stringMatching(new RegExp(`^REPORT RequestId: ${requestId} Duration: \\d+ ms$`)),
    ]);
    expect(lines).toEqual(result.logLines);
  });

  it("runs one invocation at a time and keeps the module loaded between them (a warm environment)", async () => {
    const { lambda } = await start("echo");
    const results = await Promise.all([lambda.invoke({ waitMs: 30 }), lambda.invoke({}), lambda.invoke({})]);
    const payloads = results.map((result) => (result.ok ? result.payload : undefined)) as {
      invocations: number;
      concurrent: number;
    }[];
    expect(payloads.map((payload) => payload.invocations)).toEqual([1, 2, 3]);
    expect(payloads.every((payload) => payload.concurrent === 1)).toBe(true);
  });

  it("fails to start with the module's own message when its init phase throws", async () => {
    await expect(start("failing-init", { environment: {} })).rejects.toThrow(
      new LambdaInitError(
        "fixture-failing-init failed to start: fixture configuration is invalid: REQUIRED_SETTING: is required",
      ),
    );
  });

  it("starts once the init phase finds its configuration", async () => {
    const { lambda } = await start("failing-init", { environment: { REQUIRED_SETTING: "set" } });
    expect(await lambda.invoke({})).toMatchObject({ ok: true, payload: "unreachable" });
  });

  it("returns the handler's error as Lambda reports it: type and message", async () => {
    const { lambda } = await start("throwing");
    expect(await lambda.invoke({})).toMatchObject({
      ok: false,
      errorType: "UpstreamUnavailable",
      errorMessage: "finAPI did not answer",
    });
  });

  it("ends an invocation at the timeout and starts a fresh environment for the next one", async () => {
    const { lambda } = await start("hanging", { timeoutMs: 250 });
    expect(await lambda.invoke({})).toMatchObject({
      ok: false,
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 0.25 seconds",
    });
    /* The answer gets a timeout of its own, one that a starved machine cannot exceed: only the first invocation is meant to time out. */
    expect(await lambda.invoke({ answer: true }, { timeoutMs: 10_000 })).toMatchObject({
      ok: true,
      payload: { invocations: 1 },
    });
  });

  it("runs up to `concurrency` invocations side by side, each in an environment of its own, and queues the rest", async () => {
    const lambda = host("echo", { concurrency: 2 });
    const results = await Promise.all([
      lambda.invoke({ waitMs: 50 }),
      lambda.invoke({ waitMs: 50 }),
      lambda.invoke({}),
    ]);
    const payloads = results.map((result) => (result.ok ? result.payload : undefined)) as {
      concurrent: number;
    }[];
    expect(payloads.map((payload) => payload.concurrent)).toEqual([1, 1, 1]);
    expect(results.map((result) => result.coldStart)).toEqual([true, true, false]);
    expect(lambda.coldStarts).toBe(2);
    expect(lambda.initDurationsMs).toHaveLength(2);
  });

  it("tells lines written by the function from Lambda's own START/END/REPORT lines", async () => {
    const lines: [string, string][] = [];
    const lambda = host("echo", { onLogLine: (line, from) => lines.push([from, line]) });
    const result = await lambda.invoke({});
    expect(lines.map(([from]) => from)).toEqual(["lambda", "function", "function", "lambda", "lambda"]);
    expect(lines.map(([, line]) => line)).toEqual(result.logLines);
  });

  it("starts cold again after recycle, and prewarm initialises environments before the first invocation", async () => {
    const lambda = host("echo", { concurrency: 2 });
    await lambda.prewarm(2);
    expect(lambda.coldStarts).toBe(2);
    expect(await lambda.invoke({})).toMatchObject({ ok: true, coldStart: true, payload: { invocations: 1 } });
    expect(await lambda.invoke({})).toMatchObject({
      ok: true,
      coldStart: false,
      payload: { invocations: 2 },
    });
    await lambda.recycle();
    expect(await lambda.invoke({})).toMatchObject({ ok: true, coldStart: true, payload: { invocations: 1 } });
    expect(lambda.coldStarts).toBe(3);
  });

  it("ends one invocation at its own timeout, shorter than the function's", async () => {
    const lambda = host("hanging");
    expect(await lambda.invoke({}, { timeoutMs: 100 })).toMatchObject({
      ok: false,
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 0.10 seconds",
    });
    expect(await lambda.invoke({ answer: true })).toMatchObject({ ok: true, coldStart: true });
  });

  it("destroys the environment mid-run when killWhen resolves, and the next invocation starts cold", async () => {
    const lambda = host("hanging");
    let kill = () => {};
    const killed = lambda.invoke({}, { killWhen: new Promise<void>((resolve) => (kill = resolve)) });
    kill();
    expect(await killed).toMatchObject({
      ok: false,
      errorType: "Runtime.ExitError",
      errorMessage: "Runtime exited with error: signal: killed",
    });
    expect(await lambda.invoke({ answer: true })).toMatchObject({
      ok: true,
      coldStart: true,
      payload: { invocations: 1 },
    });
  });

  it("answers an invocation whose new environment cannot start with the module's error, as Lambda reports it", async () => {
    const lambda = host("failing-init", { environment: {} });
    expect(await lambda.invoke({})).toMatchObject({
      ok: false,
      errorType: "Error",
      errorMessage: "fixture configuration is invalid: REQUIRED_SETTING: is required",
    });
  });

  it("answers a running invocation Closed when terminated, without waiting for it", async () => {
    const lambda = host("hanging");
    const running = lambda.invoke({});
    while (lambda.coldStarts === 0) await new Promise((resolve) => setImmediate(resolve));
    await lambda.terminate();
    expect(await running).toMatchObject({ ok: false, errorType: "Closed" });
  });

  it("answers invocations queued after close without running them", async () => {
    const { lambda } = await start("echo");
    await lambda.close();
    expect(await lambda.invoke({})).toMatchObject({ ok: false, errorType: "Closed" });
  });
});
