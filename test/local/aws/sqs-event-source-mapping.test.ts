import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import {
  type MappedFunction,
  type SqsEventSourceMapping,
  startSqsEventSourceMapping,
} from "../../../local/aws/sqs-event-source-mapping.ts";
import { type LocalLambda, startLambda } from "../../../local/lambda-runtime.ts";
import { fakeTime } from "../../support/fake-time.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

const VISIBILITY_TIMEOUT_MS = 30_000;

describe("startSqsEventSourceMapping", () => {
  const time = fakeTime();
  let sqs: SqsStandIn;
  let client: SQSClient;
  let lambda: LocalLambda;
  let events: SQSEvent[];
  let mapping: SqsEventSourceMapping;
  let queueNumber = 0;
  let queueName: string;

  /* Records the events the function gets, then lets the fixture Lambda handle them. */
  const recording = (fn: LocalLambda): MappedFunction => ({
    functionName: fn.functionName,
    invoke: (event) => {
      events.push(event as SQSEvent);
      return fn.invoke(event);
    },
  });
  const send = (body: string, group = "group-1") =>
    client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl(queueName),
        MessageBody: body,
        MessageGroupId: group,
        /* Deduplication ids take no spaces. */
        MessageDeduplicationId: `${queueName}:${body}:${group}`.replaceAll(" ", "_"),
      }),
    );

  beforeAll(async () => {
    sqs = await startSqs({ clock: time.now });
    client = new SQSClient(standInClientConfig(sqs.url));
    lambda = await startLambda({
      functionName: "fixture-sqs-batch",
      handlerModule: new URL("../../fixtures/local/handlers/sqs-batch.ts", import.meta.url),
      environment: {},
      timeoutMs: 10_000,
    });
  });

  beforeEach(() => {
    queueNumber += 1;
    queueName = `work-${queueNumber}.fifo`;
    sqs.createQueue(`dead-letters-${queueNumber}.fifo`, { FifoQueue: "true" });
    sqs.createQueue(queueName, {
      FifoQueue: "true",
      VisibilityTimeout: String(VISIBILITY_TIMEOUT_MS / 1000),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sqs.queueArn(`dead-letters-${queueNumber}.fifo`),
        maxReceiveCount: 3,
      }),
    });
    events = [];
    mapping = startSqsEventSourceMapping({
      endpoint: sqs.url,
      queueUrl: sqs.queueUrl(queueName),
      queueArn: sqs.queueArn(queueName),
      target: recording(lambda),
      reportBatchItemFailures: true,
    });
    return () => mapping.close();
  });

  afterAll(async () => {
    client.destroy();
    await lambda.close();
    await sqs.close();
  });

  it("invokes the function with an SQS event shaped like Lambda's and deletes what it processed", async () => {
    const sent = await send("hello");
    await mapping.drain();
    expect(events).toHaveLength(1);
    expect(events[0]?.Records).toEqual([
      {
        messageId: sent.MessageId,
        receiptHandle: expect.any(String),
        body: "hello",
        attributes: {
          ApproximateReceiveCount: "1",
          ApproximateFirstReceiveTimestamp: String(time.now()),
          SentTimestamp: String(time.now()),
          SenderId: "000000000000",
          MessageGroupId: "group-1",
          MessageDeduplicationId: `${queueName}:hello:group-1`,
          SequenceNumber: sent.SequenceNumber,
        },
        messageAttributes: {},
        md5OfBody: expect.stringMatching(/^[0-9a-f]{32}$/),
        eventSource: "aws:sqs",
        eventSourceARN: sqs.queueArn(queueName),
        awsRegion: "eu-central-1",
      },
    ]);
    expect(sqs.bodies(queueName)).toEqual([]);
  });

  it("hands out at most 10 messages per invocation", async () => {
    for (let index = 0; index < 12; index += 1) await send(`message ${index}`, `group-${index}`);
    await mapping.drain();
    expect(events.map((event) => event.Records.length)).toEqual([10, 2]);
    expect(sqs.bodies(queueName)).toEqual([]);
  });

  it("deletes the records not in batchItemFailures and hands the failed one out again after its visibility timeout", async () => {
    const failing = await send("fail", "group-a");
    await send("fine", "group-b");
    await mapping.drain();
    expect(mapping.batches).toEqual([
      {
        messageIds: [failing.MessageId, expect.any(String)],
        deleted: [expect.any(String)],
        failed: [failing.MessageId],
      },
    ]);
    expect(sqs.bodies(queueName)).toEqual(["fail"]);

    await mapping.drain();
    expect(events).toHaveLength(1);
    time.advance(VISIBILITY_TIMEOUT_MS);
    await mapping.drain();
    expect(events).toHaveLength(2);
    expect(events[1]?.Records[0]?.attributes.ApproximateReceiveCount).toBe("2");
  });

  it("moves a message that keeps failing to the dead-letter queue by the queue's redrive policy", async () => {
    await send("fail");
    for (let attempt = 0; attempt < 4; attempt += 1) {
      await mapping.drain();
      time.advance(VISIBILITY_TIMEOUT_MS);
    }
    expect(events).toHaveLength(3);
    expect(sqs.bodies(queueName)).toEqual([]);
    expect(sqs.bodies(`dead-letters-${queueNumber}.fifo`)).toEqual(["fail"]);
  });

  it("fails the whole batch when the function fails: every message of it stays in the queue", async () => {
    await send("throw", "group-a");
    await send("after the throw", "group-a");
    await send("other group", "group-b");
    await mapping.drain();
    expect(mapping.batches[0]).toMatchObject({
      deleted: [],
      batchError: "Error: the batch could not be processed",
    });
    expect(mapping.batches[0]?.failed).toHaveLength(3);
    expect(sqs.bodies(queueName)).toEqual(["throw", "after the throw", "other group"]);
  });

  it("takes an itemIdentifier that is no message of the batch as a failure of the whole batch", async () => {
    await send("bad-answer");
    await send("fine", "group-b");
    await mapping.drain();
    expect(mapping.batches[0]).toMatchObject({
      deleted: [],
      batchError:
        'invalid partial batch response: itemIdentifier "no-such-message" is no message of the batch',
    });
    expect(sqs.bodies(queueName)).toHaveLength(2);
  });

  it("polls on its own when given an interval, and stops when closed", async () => {
    const polling = startSqsEventSourceMapping({
      endpoint: sqs.url,
      queueUrl: sqs.queueUrl(queueName),
      queueArn: sqs.queueArn(queueName),
      target: recording(lambda),
      reportBatchItemFailures: true,
      pollIntervalMs: 10,
    });
    try {
      await send("picked up");
      await expect.poll(() => sqs.bodies(queueName), { timeout: 10_000 }).toEqual([]);
    } finally {
      await polling.close();
    }
    await send("after close");
    await polling.drain();
    expect(sqs.bodies(queueName)).toEqual(["after close"]);
  });

  it("refuses a batch size SQS event sources do not allow", () => {
    expect(() =>
      startSqsEventSourceMapping({
        endpoint: sqs.url,
        queueUrl: sqs.queueUrl(queueName),
        queueArn: sqs.queueArn(queueName),
        target: lambda,
        batchSize: 11,
      }),
    ).toThrow("batchSize must be 1..10 for an SQS event source (it is 11)");
  });
});
