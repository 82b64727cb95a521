import { SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, it } from "vitest";
import { AWS_CLIENT_CONFIG } from "../../functions/aws/client-config.ts";
import { CallbackMetric } from "../../functions/contracts/metrics.ts";
import { deadLetterMessageSchema, userDeletedDetailSchema } from "../../functions/contracts/user-deletion.ts";
import { createCallbackHandler } from "../../functions/user-sync-callback/app.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { createDefaultDependencies } from "../../functions/user-sync-callback/dependencies.ts";
import { createFifoQueueSender } from "../../functions/user-sync-callback/queue.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import {
  callbackEvent,
  DEAD_LETTER_QUEUE_NAME,
  DELETION_QUEUE_NAME,
  deletionBody,
  deliveryThrough,
  invoke,
  lambdaContext,
} from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

/* The handler's SDK clients make three attempts; failing all three is a failure "after the SDK's retries". */
const SDK_ATTEMPTS = 3;
const serverError = () => new AwsServiceError("InternalError", "service unavailable", 500);

describe("user-sync-callback hand-off to the deletion queue and dead letters", () => {
  const suite = useCallbackSuite();

  const deadLettersOf = (userId: string) =>
    suite.standIns.deadLetters().filter((message) => message.userId === userId);
  const sendCallsOf = (userId: string) =>
    suite.standIns.sendCalls().filter((call) => call.body.userId === userId);

  it("hands one message to the deletion queue whose body is the documented contract", async () => {
    const answer = await invoke(suite.handler, { body: deletionBody("ok-1") });
    expect(answer.statusCode).toBe(202);
    const [detail] = suite.standIns.deletionsOf("ok-1");
    expect(userDeletedDetailSchema.parse(detail)).toMatchObject({ userId: "ok-1", client: "acme" });
    expect(suite.standIns.enqueued().filter((message) => message.userId === "ok-1")).toHaveLength(1);
    expect(deadLettersOf("ok-1")).toEqual([]);
  });

  it("keeps the deletion in the FIFO dead-letter queue, same group and deduplication id, when every attempt to enqueue it fails", async () => {
    suite.standIns.sqs.failNext("SendMessage", serverError(), SDK_ATTEMPTS);
    const answer = await invoke(suite.handler, { body: deletionBody("down-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("down-1")).toEqual([]);
    const calls = sendCallsOf("down-1");
    expect(calls.map((call) => call.queueName)).toEqual([
      ...Array<string>(SDK_ATTEMPTS).fill(DELETION_QUEUE_NAME),
      DEAD_LETTER_QUEUE_NAME,
    ]);
    const [message] = deadLettersOf("down-1");
    const deletionId = deadLetterMessageSchema.parse(message).deletionId;
    expect(message).toMatchObject({
      userId: "down-1",
      userBase: "live",
      environment: "live",
      client: "acme",
      reason: expect.stringContaining("InternalError"),
    });
    for (const call of calls) {
      expect(call).toMatchObject({ groupId: "live:down-1", deduplicationId: deletionId });
    }
    expect(suite.output.count(CallbackMetric.ForwardFailed, "acme")).toBe(1);
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: "deletion not forwarded; kept in the dead-letter queue",
        deletionId,
      }),
    );
  });

  it("hands the deletion off when an SDK retry succeeds, without a dead letter", async () => {
    suite.standIns.sqs.failNext("SendMessage", serverError(), SDK_ATTEMPTS - 1);
    const answer = await invoke(suite.handler, { body: deletionBody("retry-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("retry-1")).toHaveLength(1);
    expect(deadLettersOf("retry-1")).toEqual([]);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
  });

  it("keeps one deletion when the deletion queue took a message whose answer was lost and the SDK sent it again", async () => {
    const sqs = new SQSClient(AWS_CLIENT_CONFIG);
    let lost = false;
    sqs.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        if (!lost) {
          lost = true;
          throw Object.assign(new Error("the answer did not arrive in time"), { name: "TimeoutError" });
        }
        return result;
      },
      { step: "deserialize", name: "loseFirstAnswer" },
    );
    const config = loadCallbackConfig(process.env);
    const handler = createCallbackHandler({
      ...createDefaultDependencies(config),
      sendToDeletionQueue: createFifoQueueSender(sqs, config.deletionQueueUrl),
    });
    const answer = await invoke(handler, { body: deletionBody("timeout-1") });
    expect(answer.statusCode).toBe(202);
    const calls = sendCallsOf("timeout-1");
    expect(calls).toHaveLength(2);
    expect(new Set(calls.map((call) => call.deduplicationId)).size).toBe(1);
    expect(suite.standIns.deletionsOf("timeout-1")).toHaveLength(1);
    expect(deadLettersOf("timeout-1")).toEqual([]);
    sqs.destroy();
  });

  it("answers 500 only when the dead-letter queue fails too, counts it, and lets another client's copy hand the same deletion off", async () => {
    suite.standIns.sqs.failNext("SendMessage", serverError(), 2 * SDK_ATTEMPTS);
    const answer = await invoke(suite.handler, { body: deletionBody("lost-1") });
    expect(answer.statusCode).toBe(500);
    expect(JSON.parse(answer.body ?? "")).toEqual({ message: "the deletion could not be kept" });
    expect(suite.output.count(CallbackMetric.DeadLetterFailed, "acme")).toBe(1);
    const critical = suite.output.logs().find((line) => line.level === "CRITICAL");
    expect(critical).toMatchObject({
      userId: "lost-1",
      deletionId: expect.any(String),
      deadLetterError: expect.stringContaining("InternalError"),
    });
    expect(suite.standIns.deletionsOf("lost-1")).toEqual([]);

    /* finAPI's copy through globex finds the deletion not enqueued and sends the very same message. */
    const copy = await invoke(suite.handler, deliveryThrough("globex", "lost-1"));
    expect(copy.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("lost-1")).toEqual([
      expect.objectContaining({ deletionId: critical?.deletionId, client: "acme" }),
    ]);
    expect(suite.output.count(CallbackMetric.Duplicate, "globex")).toBe(1);
  });

  it("hands a deletion off as a new deletion when the deletions table fails, and warns and counts that it may be a duplicate", async () => {
    const config = loadCallbackConfig(process.env);
    const brokenStore = createCallbackHandler(
      createDefaultDependencies({ ...config, deletionsTableName: "no-such-table" }),
    );
    const answer = await invoke(brokenStore, { body: deletionBody("store-1") });
    expect(answer.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("store-1")).toEqual([
      expect.objectContaining({ userId: "store-1", client: "acme", userBase: "live" }),
    ]);
    expect(deadLettersOf("store-1")).toEqual([]);
    expect(suite.output.count(CallbackMetric.DeletionStoreFailed, "acme")).toBe(1);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        message:
          "deletions table failed; handing the delivery off as a new deletion, which may be a duplicate",
        error: expect.stringMatching(/ResourceNotFound/),
      }),
    );
  });

  it("answers 202 and warns when the deletion is enqueued but the table does not record that, so the next copy sends the same message", async () => {
    const dependencies = createDefaultDependencies(loadCallbackConfig(process.env));
    const forgetful = createCallbackHandler({
      ...dependencies,
      deletions: {
        register: dependencies.deletions.register,
        markEnqueued: () => Promise.reject(new Error("ProvisionedThroughputExceededException: slow down")),
      },
    });
    expect((await invoke(forgetful, { body: deletionBody("unmarked-1") })).statusCode).toBe(202);
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({
        level: "WARN",
        message: "deletion enqueued, but the deletions table did not record it",
        error: expect.stringContaining("slow down"),
      }),
    );
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    await invoke(suite.handler, deliveryThrough("globex", "unmarked-1"));
    const sent = sendCallsOf("unmarked-1");
    expect(sent.map((call) => call.queueName)).toEqual([DELETION_QUEUE_NAME, DELETION_QUEUE_NAME]);
    expect(new Set(sent.map((call) => call.deduplicationId)).size).toBe(1);
    expect(suite.standIns.deletionsOf("unmarked-1")).toHaveLength(1);
  });

  it("does not start handing off when the invocation has no time left beyond the dead-letter reserve", async () => {
    const answer = await suite.handler(
      callbackEvent({ body: deletionBody("deadline-1") }),
      lambdaContext(3_000),
    );
    expect(answer).toMatchObject({ statusCode: 202 });
    expect(sendCallsOf("deadline-1").map((call) => call.queueName)).toEqual([DEAD_LETTER_QUEUE_NAME]);
    expect(deadLettersOf("deadline-1")).toEqual([
      expect.objectContaining({ reason: expect.stringContaining("AbortError") }),
    ]);
  });
});
