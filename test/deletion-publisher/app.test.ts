import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { FullBatchFailureError } from "@aws-lambda-powertools/batch";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { METRICS_NAMESPACE, PublisherMetric } from "../../functions/contracts/metrics.ts";
import {
  deletionMessageGroupId,
  publishedMarkKey,
  USER_DELETED_DETAIL_TYPE,
  USER_DELETED_SOURCE,
  type UserDeletedDetail,
} from "../../functions/contracts/user-deletion.ts";
import {
  createDeletionPublisherHandler,
  type PublisherDependencies,
} from "../../functions/deletion-publisher/app.ts";
import { createEventBusPublisher } from "../../functions/deletion-publisher/event-bus.ts";
import {
  createDynamoDbPublishedMarks,
  PUBLISHED_MARK_TTL_SECONDS,
  type PublishedMarks,
} from "../../functions/deletion-publisher/published-marks.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { type EventBridgeStandIn, startEventBridge } from "../../local/aws/eventbridge.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { lambdaContext } from "../../local/lambda-context.ts";
import { type CapturedOutput, captureOutput } from "../support/output-capture.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/deletion-publisher/${name}`, import.meta.url), "utf8"));
const recordTemplate = fixture("fifo-record.json") as SQSRecord;
const deletions = fixture("deletions.json") as Record<"live" | "sandbox" | "mandator", UserDeletedDetail>;

const TABLE_NAME = "deletions";
const BUS_NAME = "user-sync";
const NOW = new Date("2026-12-01T15:00:05.000Z");
const RECORD_BUDGET_MS = 45_000;

/** A deletion of the fixture's kind with a fresh deletion id, so that tests do not see each other's marks. */
const freshDeletion = (kind: keyof typeof deletions): UserDeletedDetail => ({
  ...deletions[kind],
  deletionId: randomUUID(),
});

/** The deletion queue's message for a deletion, as Lambda's SQS event source hands it over. */
function messageOf(detail: UserDeletedDetail, receiveCount = 1): SQSRecord {
  return {
    ...recordTemplate,
    messageId: randomUUID(),
    body: JSON.stringify(detail),
    attributes: {
      ...recordTemplate.attributes,
      ApproximateReceiveCount: String(receiveCount),
      MessageGroupId: deletionMessageGroupId(detail),
      MessageDeduplicationId: detail.deletionId,
    },
  };
}

const unreadableMessage = (body: string, groupId: string): SQSRecord => ({
  ...recordTemplate,
  messageId: randomUUID(),
  body,
  attributes: { ...recordTemplate.attributes, MessageGroupId: groupId },
});

const batchOf = (...records: SQSRecord[]): SQSEvent => ({ Records: records });

/** A Lambda context with a fixed remaining time: no wall clock decides a test. */
const contextWith = (remainingMs: number): Context =>
  lambdaContext({ functionName: "deletion-publisher", remainingMs });

const failedIds = (response: SQSBatchResponse) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);

describe("the deletion publisher", () => {
  let dynamo: DynamoDbStandIn;
  let eventBridge: EventBridgeStandIn;
  let output: CapturedOutput;
  let marks: PublishedMarks;

  const handlerWith = (overrides: Partial<PublisherDependencies> = {}) =>
    createDeletionPublisherHandler({
      publish: createEventBusPublisher(new EventBridgeClient(standInClientConfig(eventBridge.url)), BUS_NAME),
      publishedMarks: marks,
      recordTimeBudgetMs: RECORD_BUDGET_MS,
      logger: new Logger({ serviceName: "deletion-publisher" }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "deletion-publisher" }),
      ...overrides,
    });
  const publishBatch = (
    event: SQSEvent,
    overrides: Partial<PublisherDependencies> = {},
    remainingMs = 60_000,
  ) => handlerWith(overrides)(event, contextWith(remainingMs));

  const eventsOf = (detail: UserDeletedDetail) =>
    eventBridge.events.filter((event) => event.detail.deletionId === detail.deletionId);
  const putEventsCallsFor = (detail: UserDeletedDetail) =>
    eventBridge.calls.filter(
      (call) => call.operation === "PutEvents" && JSON.stringify(call.input).includes(detail.deletionId),
    );
  const markOf = async (detail: UserDeletedDetail) =>
    (
      await dynamo.client.send(
        new GetItemCommand({
          TableName: TABLE_NAME,
          Key: { id: { S: publishedMarkKey(detail.deletionId) } },
          ConsistentRead: true,
        }),
      )
    ).Item;
  const logsWith = (message: string) => output.logs().filter((line) => line.message === message);
  /* Powertools Metrics aggregates one invocation's values of a metric into an array. */
  const counted = (name: string) =>
    output
      .lines()
      .flatMap((line) => {
        const record = JSON.parse(line) as Record<string, unknown>;
        return record._aws === undefined || record[name] === undefined ? [] : [record[name]].flat();
      })
      .reduce<number>((sum, value) => sum + Number(value), 0);

  beforeAll(async () => {
    [dynamo, eventBridge] = await Promise.all([startDynamoDb(), startEventBridge({ busNames: [BUS_NAME] })]);
    await dynamo.createTable(TABLE_NAME);
    marks = createDynamoDbPublishedMarks(dynamo.client, TABLE_NAME, () => NOW);
  });
  afterAll(async () => {
    await Promise.all([dynamo?.close(), eventBridge?.close()]);
  });
  beforeEach(() => {
    output = captureOutput();
  });
  afterEach(() => {
    output.stop();
  });

  it("puts a deletion on the bus once, as the contract's source and detail type at the time it was received, and marks it published for 14 days", async () => {
    const detail = freshDeletion("live");

    const response = await publishBatch(batchOf(messageOf(detail)));

    expect(response).toEqual({ batchItemFailures: [] });
    const [event, ...others] = eventsOf(detail);
    expect(others).toEqual([]);
    expect(event).toMatchObject({
      eventBusName: BUS_NAME,
      source: USER_DELETED_SOURCE,
      detailType: USER_DELETED_DETAIL_TYPE,
      detail,
    });
    const entries = putEventsCallsFor(detail).flatMap((call) => call.input.Entries as { Time: number }[]);
    expect(entries.map((entry) => new Date(entry.Time * 1000).toISOString())).toEqual([detail.receivedAt]);
    expect(await markOf(detail)).toEqual({
      id: { S: publishedMarkKey(detail.deletionId) },
      eventId: { S: event?.eventId },
      publishedAt: { S: NOW.toISOString() },
      expiration: { N: String(NOW.getTime() / 1000 + PUBLISHED_MARK_TTL_SECONDS) },
    });
    expect(counted(PublisherMetric.Published)).toBe(1);
    expect(logsWith("deletion published")).toEqual([
      expect.objectContaining({
        deletionId: detail.deletionId,
        userBase: "live",
        environment: "live",
        userId: "customer-4711",
        eventId: event?.eventId,
      }),
    ]);
  });

  it("publishes the same message received twice (a repeat after a lost acknowledgement) only once", async () => {
    const detail = freshDeletion("sandbox");

    await publishBatch(batchOf(messageOf(detail)));
    const repeat = await publishBatch(batchOf(messageOf(detail, 2)));

    expect(repeat).toEqual({ batchItemFailures: [] });
    expect(eventsOf(detail)).toHaveLength(1);
    expect(putEventsCallsFor(detail)).toHaveLength(1);
    expect(counted(PublisherMetric.AlreadyPublished)).toBe(1);
    expect(logsWith("deletion already published; not published again")).toEqual([
      expect.objectContaining({ deletionId: detail.deletionId, eventId: eventsOf(detail)[0]?.eventId }),
    ]);
  });

  it("skips a deletion that is already marked published (a redrive from the dead-letter queue) without calling EventBridge", async () => {
    const detail = freshDeletion("mandator");
    await marks.markPublished(detail.deletionId, "earlier-event-id");

    const response = await publishBatch(batchOf(messageOf(detail, 6)));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(putEventsCallsFor(detail)).toEqual([]);
    expect(counted(PublisherMetric.AlreadyPublished)).toBe(1);
    expect(counted(PublisherMetric.Published)).toBe(0);
  });

  it("publishes a dead letter the callback wrote (the detail and a reason), once redriven to the deletion queue, as the detail alone", async () => {
    const detail = freshDeletion("sandbox");
    const deadLetter = {
      ...messageOf(detail, 1),
      body: JSON.stringify({ ...detail, reason: "SQS unreachable" }),
    };

    const response = await publishBatch(batchOf(deadLetter));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventsOf(detail).map((event) => event.detail)).toEqual([detail]);
  });

  it("skips a redriven dead letter whose deletion another delivery already published", async () => {
    const detail = freshDeletion("live");
    await publishBatch(batchOf(messageOf(detail)));
    const deadLetter = {
      ...messageOf(detail, 1),
      body: JSON.stringify({ ...detail, reason: "SQS throttled" }),
    };

    const response = await publishBatch(batchOf(deadLetter));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventsOf(detail)).toHaveLength(1);
    expect(counted(PublisherMetric.AlreadyPublished)).toBe(1);
  });

  it("publishes two user bases' deletions of the same user id, each naming its user base and environment", async () => {
    const live = freshDeletion("live");
    const sandbox = freshDeletion("sandbox");

    const response = await publishBatch(batchOf(messageOf(live), messageOf(sandbox)));

    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventsOf(live).map((event) => event.detail)).toEqual([live]);
    expect(eventsOf(sandbox).map((event) => event.detail)).toEqual([sandbox]);
  });

  it("returns a deletion EventBridge failed to take to the queue, unmarked, and publishes it when the message comes back", async () => {
    const detail = freshDeletion("live");
    const bystander = freshDeletion("mandator");
    const failing = messageOf(detail);
    eventBridge.failNext("PutEvents", new AwsServiceError("InternalException", "Internal error", 500));

    const response = await publishBatch(batchOf(failing, messageOf(bystander)));

    expect(failedIds(response)).toEqual([failing.messageId]);
    expect(eventsOf(detail)).toEqual([]);
    expect(await markOf(detail)).toBeUndefined();
    expect(counted(PublisherMetric.PublishFailed)).toBe(1);
    expect(logsWith("deletion not published; the message returns to the queue")).toEqual([
      expect.objectContaining({
        deletionId: detail.deletionId,
        userBase: "live",
        error: expect.objectContaining({ name: "InternalException" }),
      }),
    ]);
    expect(eventsOf(bystander)).toHaveLength(1);

    expect(await publishBatch(batchOf(messageOf(detail, 2)))).toEqual({ batchItemFailures: [] });
    expect(eventsOf(detail)).toHaveLength(1);
    expect(await markOf(detail)).toBeDefined();
  });

  it("fails the whole invocation when every message of the batch failed, so Lambda counts an error", async () => {
    const detail = freshDeletion("sandbox");
    eventBridge.failNext("PutEvents", new AwsServiceError("InternalException", "Internal error", 500));

    await expect(publishBatch(batchOf(messageOf(detail)))).rejects.toBeInstanceOf(FullBatchFailureError);
    expect(eventsOf(detail)).toEqual([]);
    expect(await markOf(detail)).toBeUndefined();
    expect(counted(PublisherMetric.PublishFailed)).toBe(1);
  });

  it("takes an entry EventBridge rejected inside a 200 answer (FailedEntryCount 1) as a failure: back to the queue, unmarked", async () => {
    const detail = freshDeletion("live");
    const bystander = freshDeletion("mandator");
    const rejected = messageOf(detail);
    eventBridge.failNextEntries(1, { errorCode: "ThrottlingException", errorMessage: "Rate exceeded" });

    const response = await publishBatch(batchOf(rejected, messageOf(bystander)));

    expect(failedIds(response)).toEqual([rejected.messageId]);
    expect(eventsOf(detail)).toEqual([]);
    expect(await markOf(detail)).toBeUndefined();
    expect(logsWith("deletion not published; the message returns to the queue")).toEqual([
      expect.objectContaining({
        error: { name: "EntryRejectedError", message: expect.stringContaining("ThrottlingException") },
      }),
    ]);
  });

  it("reports a deletion whose mark could not be written as done, since it is on the bus, with a warning", async () => {
    const detail = freshDeletion("live");
    const unmarkable: PublishedMarks = {
      find: (deletionId) => marks.find(deletionId),
      markPublished: () =>
        Promise.reject(new AwsServiceError("ProvisionedThroughputExceededException", "slow down")),
    };

    const response = await publishBatch(batchOf(messageOf(detail)), { publishedMarks: unmarkable });

    expect(response).toEqual({ batchItemFailures: [] });
    expect(eventsOf(detail)).toHaveLength(1);
    expect(await markOf(detail)).toBeUndefined();
    expect(counted(PublisherMetric.Published)).toBe(1);
    expect(logsWith("deletion published, but its published mark was not written")).toEqual([
      expect.objectContaining({
        level: "WARN",
        deletionId: detail.deletionId,
        eventId: eventsOf(detail)[0]?.eventId,
      }),
    ]);
  });

  it("publishes again when that message comes back anyway (a redrive after a lost mark): the documented crash window", async () => {
    const detail = freshDeletion("sandbox");
    const unmarkable: PublishedMarks = {
      find: (deletionId) => marks.find(deletionId),
      markPublished: () => Promise.reject(new Error("mark lost")),
    };
    await publishBatch(batchOf(messageOf(detail)), { publishedMarks: unmarkable });

    await publishBatch(batchOf(messageOf(detail, 2)));

    expect(eventsOf(detail)).toHaveLength(2);
    expect(new Set(eventsOf(detail).map((event) => event.detail.deletionId)).size).toBe(1);
  });

  it("returns a deletion whose published mark cannot be read to the queue without publishing it", async () => {
    const detail = freshDeletion("live");
    const unreadableMarks: PublishedMarks = {
      find: () => Promise.reject(new AwsServiceError("InternalServerError", "try again", 500)),
      markPublished: (deletionId, eventId) => marks.markPublished(deletionId, eventId),
    };

    await expect(
      publishBatch(batchOf(messageOf(detail)), { publishedMarks: unreadableMarks }),
    ).rejects.toBeInstanceOf(FullBatchFailureError);

    expect(putEventsCallsFor(detail)).toEqual([]);
    expect(counted(PublisherMetric.PublishFailed)).toBe(1);
    expect(logsWith("published mark not readable; the message returns to the queue")).toEqual([
      expect.objectContaining({ deletionId: detail.deletionId, userBase: "live" }),
    ]);
  });

  it("holds back the later messages of a failed message's group (one user's deletions stay in order) and publishes other users' messages of the batch", async () => {
    const first = freshDeletion("live");
    const second = { ...freshDeletion("live"), receivedAt: "2026-12-01T15:10:00.000Z" };
    const otherUser = freshDeletion("mandator");
    const [firstMessage, secondMessage, otherMessage] = [
      messageOf(first),
      messageOf(second),
      messageOf(otherUser),
    ];
    expect(firstMessage.attributes.MessageGroupId).toBe(secondMessage.attributes.MessageGroupId);
    eventBridge.failNext("PutEvents", new AwsServiceError("InternalException", "Internal error", 500));

    const response = await publishBatch(batchOf(firstMessage, secondMessage, otherMessage));

    expect(failedIds(response)).toEqual([firstMessage.messageId, secondMessage.messageId]);
    expect(putEventsCallsFor(second)).toEqual([]);
    expect(eventsOf(first)).toEqual([]);
    expect(eventsOf(second)).toEqual([]);
    expect(eventsOf(otherUser)).toHaveLength(1);
  });

  it.each([
    ["a body that is not JSON", "{ not json"],
    ["a detail without its deletion id", JSON.stringify({ ...deletions.live, deletionId: undefined })],
    ["a detail with a field the contract does not have", JSON.stringify({ ...deletions.live, extra: "x" })],
    ["a detail of another event", JSON.stringify({ ...deletions.live, event: "CREATED" })],
  ])(
    "never drops %s: it is logged with its message id, counted and failed, so it ends in the dead-letter queue",
    async (_, body) => {
      const bystander = freshDeletion("sandbox");
      const unreadable = unreadableMessage(body, "live:customer-unreadable");

      const response = await publishBatch(batchOf(unreadable, messageOf(bystander)));

      expect(failedIds(response)).toEqual([unreadable.messageId]);
      expect(counted(PublisherMetric.UnreadableMessage)).toBe(1);
      expect(
        logsWith("unreadable message in the deletion queue; it will end in the dead-letter queue"),
      ).toEqual([
        expect.objectContaining({
          level: "ERROR",
          messageId: unreadable.messageId,
          error: expect.objectContaining({ name: "UnreadableMessageError" }),
        }),
      ]);
      expect(output.lines().join("\n")).not.toContain(body);
      expect(eventsOf(bystander)).toHaveLength(1);
    },
  );

  it("leaves every message in the queue, unpublished, when less of the invocation is left than a record may take", async () => {
    const detail = freshDeletion("live");
    const other = freshDeletion("mandator");
    const messages = [messageOf(detail), messageOf(other)];

    await expect(publishBatch(batchOf(...messages), {}, RECORD_BUDGET_MS - 1)).rejects.toBeInstanceOf(
      FullBatchFailureError,
    );

    expect(putEventsCallsFor(detail)).toEqual([]);
    expect(putEventsCallsFor(other)).toEqual([]);
    expect(logsWith("deletion left in the queue: too little time left in this invocation")).toHaveLength(2);
  });
});
