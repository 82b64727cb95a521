import { describe, expect, it } from "vitest";
import { CallbackMetric } from "../../functions/observability/metrics.ts";
import { createCallbackHandler } from "../../functions/user-sync-callback/app.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { createDefaultDependencies } from "../../functions/user-sync-callback/dependencies.ts";
import {
  deadLetterMessageSchema,
  userDeletedDetailSchema,
} from "../../functions/user-sync-callback/events.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { callbackEvent, deletionBody, invoke, lambdaContext, pathOf, secrets } from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

/* The handler's SDK clients make three attempts; failing all three is a failure "after the SDK's retries". */
const SDK_ATTEMPTS = 3;
const serverError = () => new AwsServiceError("InternalException", "service unavailable", 500);

describe("user-sync-callback forwarding and dead letters", () => {
  const suite = useCallbackSuite();

  const deadLettersOf = (userId: string) =>
    suite.standIns.deadLetters().filter((message) => message.userId === userId);

  it("puts one event on the bus whose detail is the documented contract", async () => {
    const answer = await invoke(suite.handler, { body: deletionBody("ok-1") });
    expect(answer.statusCode).toBe(202);
    const [event] = suite.standIns.deletionsOf("ok-1");
    expect(userDeletedDetailSchema.parse(event?.detail)).toMatchObject({ userId: "ok-1", client: "acme" });
    expect(deadLettersOf("ok-1")).toEqual([]);
  });

  it("dead-letters a deletion whose entry EventBridge rejects (a partial failure), and releases its record", async () => {
    suite.standIns.eventBridge.failNextEntries(1);
    const answer = await invoke(suite.handler, { body: deletionBody("partial-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("partial-1")).toEqual([]);
    const [message] = deadLettersOf("partial-1");
    expect(deadLetterMessageSchema.parse(message)).toMatchObject({
      userId: "partial-1",
      event: "DELETED",
      client: "acme",
      reason: expect.stringContaining("InternalFailure"),
    });
    expect(suite.output.count(CallbackMetric.ForwardFailed, "acme")).toBe(1);

    const repeat = await invoke(suite.handler, {
      path: pathOf("globex", secrets.globex.current),
      body: deletionBody("partial-1"),
    });
    expect(repeat.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("partial-1").map((event) => event.detail.client)).toEqual(["globex"]);
  });

  it("dead-letters a deletion when every attempt to call EventBridge fails, and releases its record", async () => {
    suite.standIns.eventBridge.failNext("PutEvents", serverError(), SDK_ATTEMPTS);
    const callsBefore = suite.standIns.eventBridge.calls.length;
    const answer = await invoke(suite.handler, { body: deletionBody("down-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.eventBridge.calls.length - callsBefore).toBe(SDK_ATTEMPTS);
    expect(deadLettersOf("down-1")).toEqual([
      expect.objectContaining({ reason: expect.stringContaining("InternalException") }),
    ]);
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: "deletion not forwarded; kept in the dead-letter queue",
      }),
    );

    await invoke(suite.handler, { body: deletionBody("down-1") });
    expect(suite.standIns.deletionsOf("down-1")).toHaveLength(1);
  });

  it("forwards when an SDK retry succeeds, without a dead letter", async () => {
    suite.standIns.eventBridge.failNext("PutEvents", serverError(), SDK_ATTEMPTS - 1);
    await invoke(suite.handler, { body: deletionBody("retry-1") });
    expect(suite.standIns.deletionsOf("retry-1")).toHaveLength(1);
    expect(deadLettersOf("retry-1")).toEqual([]);
  });

  it("answers 500 only when the dead-letter write fails too, counts it, and leaves the deletion retryable", async () => {
    suite.standIns.eventBridge.failNext("PutEvents", serverError(), SDK_ATTEMPTS);
    suite.standIns.sqs.failNext("SendMessage", serverError(), SDK_ATTEMPTS);
    const answer = await invoke(suite.handler, { body: deletionBody("lost-1") });
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body ?? "")).toEqual({ message: "the deletion could not be kept" });
    expect(suite.output.count(CallbackMetric.DeadLetterFailed, "acme")).toBe(1);
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({ level: "CRITICAL", userId: "lost-1", deadLetterError: expect.any(String) }),
    );

    expect((await invoke(suite.handler, { body: deletionBody("lost-1") })).statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("lost-1")).toHaveLength(1);
  });

  it("dead-letters a deletion when the idempotency store fails, without forwarding it", async () => {
    const config = loadCallbackConfig(process.env);
    const brokenStore = createCallbackHandler(
      createDefaultDependencies({ ...config, idempotencyTableName: "no-such-table" }),
    );
    const answer = await invoke(brokenStore, { body: deletionBody("store-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("store-1")).toEqual([]);
    expect(deadLettersOf("store-1")).toEqual([
      expect.objectContaining({
        reason: expect.stringMatching(/^idempotency store failed: .*ResourceNotFound/),
      }),
    ]);
    expect(suite.output.count(CallbackMetric.ForwardFailed, "acme")).toBe(1);
  });

  it("does not start publishing when the invocation has no time left beyond the dead-letter reserve", async () => {
    const callsBefore = suite.standIns.eventBridge.calls.length;
    const answer = await suite.handler(
      callbackEvent({ body: deletionBody("deadline-1") }),
      lambdaContext(3_000),
    );
    expect(answer).toMatchObject({ statusCode: 202 });
    expect(suite.standIns.eventBridge.calls.length).toBe(callsBefore);
    expect(deadLettersOf("deadline-1")).toEqual([
      expect.objectContaining({ reason: expect.stringContaining("forwarding failed: AbortError") }),
    ]);
  });
});
