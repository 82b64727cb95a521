import { afterEach, describe, expect, it } from "vitest";
import { LambdaInitError, type LocalLambda, startLambda } from "../../local/lambda-runtime.ts";
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
    /* The second invocation must answer within the timeout too: 2 s, not less, holds on a starved machine. */
    const { lambda } = await start("hanging", { timeoutMs: 2_000 });
    expect(await lambda.invoke({})).toMatchObject({
      ok: false,
      errorType: "Sandbox.Timedout",
      errorMessage: "Task timed out after 2.00 seconds",
    });
    expect(await lambda.invoke({ answer: true })).toMatchObject({ ok: true, payload: { invocations: 1 } });
  });

  it("answers invocations queued after close without running them", async () => {
    const { lambda } = await start("echo");
    await lambda.close();
    expect(await lambda.invoke({})).toMatchObject({ ok: false, errorType: "Closed" });
  });
});
