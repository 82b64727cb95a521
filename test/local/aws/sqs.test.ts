import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  InvalidAttributeValue,
  MessageNotInflight,
  QueueDoesNotExist,
  QueueNameExists,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import { fakeTime } from "../../support/fake-time.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startSqs", () => {
  let standIn: SqsStandIn;
  let client: SQSClient;

  beforeAll(async () => {
    standIn = await startSqs({ queueNames: ["dead-letters"] });
    client = new SQSClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  it("keeps a sent message with a body checksum the SDK accepts", async () => {
    const queueUrl = standIn.queueUrl("dead-letters");
    const sent = await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"ü":1}' }));
    expect(sent.MessageId).toBeTypeOf("string");
    expect(standIn.bodies("dead-letters")).toEqual(['{"ü":1}']);
  });

  it("hands a message out once per visibility timeout and forgets it when deleted", async () => {
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: "work" }));
    await client.send(new SendMessageCommand({ QueueUrl, MessageBody: "job" }));
    const first = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(first.Messages?.map((message) => message.Body)).toEqual(["job"]);
    const second = await client.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10 }));
    expect(second.Messages ?? []).toEqual([]);
    await client.send(
      new DeleteMessageCommand({ QueueUrl, ReceiptHandle: first.Messages?.[0]?.ReceiptHandle }),
    );
    expect(standIn.bodies("work")).toEqual([]);
  });

  it("answers QueueDoesNotExist for a queue nobody created", async () => {
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: `${standIn.url}/000000000000/nope`, MessageBody: "x" })),
    ).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});

describe("startSqs FIFO queues", () => {
  const time = fakeTime();
  let standIn: SqsStandIn;
  let client: SQSClient;
  let deadLetterUrl: string;
  let queueUrl: string;

  const createFifo = async (name: string, attributes: Record<string, string> = {}) => {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: { FifoQueue: "true", ...attributes } }),
    );
    return QueueUrl as string;
  };
  const receive = (url: string, max = 10) =>
    client
      .send(
        new ReceiveMessageCommand({
          QueueUrl: url,
          MaxNumberOfMessages: max,
          MessageSystemAttributeNames: ["All"],
        }),
      )
      .then((answer) => answer.Messages ?? []);
  const sendTo = (url: string, body: string, group: string, deduplicationId: string) =>
    client.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: body,
        MessageGroupId: group,
        MessageDeduplicationId: deduplicationId,
      }),
    );
  let sequence = 0;
  const uniqueId = () => `id-${++sequence}`;

  beforeAll(async () => {
    standIn = await startSqs({ clock: time.now });
    client = new SQSClient(standInClientConfig(standIn.url));
    deadLetterUrl = await createFifo("deletions-dlq.fifo");
    queueUrl = await createFifo("deletions.fifo", {
      VisibilityTimeout: "30",
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: standIn.queueArn("deletions-dlq.fifo"),
        maxReceiveCount: 2,
      }),
    });
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  /* Each test leaves the queue empty: every message received is deleted or expires into the DLQ. */
  const emptyQueue = async (url: string) => {
    time.advance(31_000);
    for (;;) {
      const messages = await receive(url);
      if (messages.length === 0) return;
      for (const message of messages) {
        await client.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
      }
    }
  };

  it("refuses a FIFO queue whose name does not end with .fifo, and a .fifo name without FifoQueue", async () => {
    await expect(createFifo("deletions")).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: expect.stringContaining("must end with .fifo suffix"),
    });
    await expect(client.send(new CreateQueueCommand({ QueueName: "plain.fifo" }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
    });
  });

  it("refuses a redrive policy to a queue that does not exist or is not FIFO", async () => {
    standIn.createQueue("standard-dlq");
    await expect(
      createFifo("redrive-to-standard.fifo", {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: standIn.queueArn("standard-dlq"),
          maxReceiveCount: 3,
        }),
      }),
    ).rejects.toBeInstanceOf(InvalidAttributeValue);
    await expect(
      createFifo("redrive-to-nothing.fifo", {
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: "arn:aws:sqs:eu-central-1:000000000000:nothing.fifo",
          maxReceiveCount: 3,
        }),
      }),
    ).rejects.toThrow("Dead letter target does not exist.");
  });

  it("answers QueueNameExists for a second CreateQueue with other attributes, the URL for the same ones", async () => {
    await expect(createFifo("deletions-dlq.fifo")).resolves.toBe(deadLetterUrl);
    await expect(createFifo("deletions-dlq.fifo", { VisibilityTimeout: "5" })).rejects.toBeInstanceOf(
      QueueNameExists,
    );
  });

  it("requires a MessageGroupId, worded as SQS does", async () => {
    await expect(
      client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x", MessageDeduplicationId: "d" }),
      ),
    ).rejects.toMatchObject({
      name: "MissingParameter",
      message: "The request must contain the parameter MessageGroupId.",
    });
  });

  it("refuses group and deduplication ids that are not 1..128 alphanumeric and punctuation characters", async () => {
    await expect(sendTo(queueUrl, "x", "user base:alice", uniqueId())).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: expect.stringContaining(
        "MessageGroupId can only include alphanumeric and punctuation characters",
      ),
    });
    await expect(sendTo(queueUrl, "x", "sandbox:alice@example.com", "d".repeat(129))).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: expect.stringContaining("MessageDeduplicationId can only include"),
    });
    expect(standIn.bodies("deletions.fifo")).toEqual([]);
  });

  it("requires a MessageDeduplicationId unless the queue deduplicates by content", async () => {
    await expect(
      client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: "x", MessageGroupId: "g" })),
    ).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message:
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
    });
    const byContent = await createFifo("by-content.fifo", { ContentBasedDeduplication: "true" });
    const first = await client.send(
      new SendMessageCommand({ QueueUrl: byContent, MessageBody: "same", MessageGroupId: "g" }),
    );
    const second = await client.send(
      new SendMessageCommand({ QueueUrl: byContent, MessageBody: "same", MessageGroupId: "g" }),
    );
    expect(second.MessageId).toBe(first.MessageId);
    expect(standIn.bodies("by-content.fifo")).toEqual(["same"]);
  });

  it("accepts a deduplication id sent again within 5 minutes but keeps one message, answering the first MessageId", async () => {
    const deduplicationId = uniqueId();
    const first = await sendTo(queueUrl, "deletion", "user-1", deduplicationId);
    time.advance(4 * 60_000 + 59_000);
    const again = await sendTo(queueUrl, "deletion (another copy)", "user-1", deduplicationId);
    expect(again.MessageId).toBe(first.MessageId);
    expect(again.SequenceNumber).toBe(first.SequenceNumber);
    expect(standIn.bodies("deletions.fifo")).toEqual(["deletion"]);
    await emptyQueue(queueUrl);
  });

  it("takes a deduplication id sent 5 minutes later as a new message", async () => {
    const deduplicationId = uniqueId();
    const first = await sendTo(queueUrl, "first", "user-2", deduplicationId);
    await emptyQueue(queueUrl);
    time.advance(5 * 60_000);
    const later = await sendTo(queueUrl, "later", "user-2", deduplicationId);
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(BigInt(later.SequenceNumber as string)).toBeGreaterThan(BigInt(first.SequenceNumber as string));
    expect(standIn.bodies("deletions.fifo")).toEqual(["later"]);
    await emptyQueue(queueUrl);
  });

  it("holds back a group's later messages while an earlier one is in flight, other groups flow", async () => {
    await sendTo(queueUrl, "a1", "group-a", uniqueId());
    await sendTo(queueUrl, "a2", "group-a", uniqueId());
    await sendTo(queueUrl, "b1", "group-b", uniqueId());
    const [a1] = await receive(queueUrl, 1);
    expect(a1?.Body).toBe("a1");
    expect((await receive(queueUrl)).map((message) => message.Body)).toEqual(["b1"]);
    expect(await receive(queueUrl)).toEqual([]);
    await client.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: a1?.ReceiptHandle }));
    expect((await receive(queueUrl)).map((message) => message.Body)).toEqual(["a2"]);
    await emptyQueue(queueUrl);
  });

  it("hands a whole group out in order in one receive", async () => {
    for (const body of ["c1", "c2", "c3"]) await sendTo(queueUrl, body, "group-c", uniqueId());
    expect((await receive(queueUrl)).map((message) => message.Body)).toEqual(["c1", "c2", "c3"]);
    await emptyQueue(queueUrl);
  });

  it("returns the message system attributes asked for", async () => {
    const deduplicationId = uniqueId();
    const sent = await sendTo(queueUrl, "attributes", "group-d", deduplicationId);
    const [message] = await receive(queueUrl);
    expect(message?.Attributes).toEqual({
      ApproximateReceiveCount: "1",
      ApproximateFirstReceiveTimestamp: String(time.now()),
      SentTimestamp: String(time.now()),
      SenderId: "000000000000",
      MessageGroupId: "group-d",
      MessageDeduplicationId: deduplicationId,
      SequenceNumber: sent.SequenceNumber,
    });
    await emptyQueue(queueUrl);
    const only = await sendTo(queueUrl, "only the count", "group-d", uniqueId());
    const answer = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MessageSystemAttributeNames: ["ApproximateReceiveCount"],
      }),
    );
    expect(answer.Messages?.[0]).toMatchObject({
      MessageId: only.MessageId,
      Attributes: { ApproximateReceiveCount: "1" },
    });
    await emptyQueue(queueUrl);
  });

  it("moves a message received maxReceiveCount times without a delete to the dead-letter queue on the next receive", async () => {
    const sent = await sendTo(queueUrl, "poison", "group-e", uniqueId());
    await sendTo(queueUrl, "after the poison", "group-e", uniqueId());
    expect((await receive(queueUrl, 1)).map((message) => message.Body)).toEqual(["poison"]);
    time.advance(30_000);
    const [second] = await receive(queueUrl, 1);
    expect(second?.Attributes?.ApproximateReceiveCount).toBe("2");
    time.advance(30_000);
    expect((await receive(queueUrl, 1)).map((message) => message.Body)).toEqual(["after the poison"]);
    expect(standIn.bodies("deletions-dlq.fifo")).toEqual(["poison"]);
    const [dead] = await receive(deadLetterUrl);
    expect(dead).toMatchObject({
      MessageId: sent.MessageId,
      Attributes: { DeadLetterQueueSourceArn: standIn.queueArn("deletions.fifo"), MessageGroupId: "group-e" },
    });
    await emptyQueue(queueUrl);
    await emptyQueue(deadLetterUrl);
  });

  it("changes a message's visibility: 0 hands it out again at once, a message not in flight is refused", async () => {
    await sendTo(queueUrl, "retry me", "group-f", uniqueId());
    const [message] = await receive(queueUrl);
    await client.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: message?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const [again] = await receive(queueUrl);
    expect(again?.Attributes?.ApproximateReceiveCount).toBe("2");
    time.advance(30_000);
    await expect(
      client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: again?.ReceiptHandle,
          VisibilityTimeout: 10,
        }),
      ),
    ).rejects.toBeInstanceOf(MessageNotInflight);
    await emptyQueue(queueUrl);
    await emptyQueue(deadLetterUrl);
  });

  it("counts visible and in-flight messages in GetQueueAttributes", async () => {
    await sendTo(queueUrl, "g1", "group-g", uniqueId());
    await sendTo(queueUrl, "h1", "group-h", uniqueId());
    await receive(queueUrl, 1);
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({
      ApproximateNumberOfMessages: "1",
      ApproximateNumberOfMessagesNotVisible: "1",
      FifoQueue: "true",
      ContentBasedDeduplication: "false",
      VisibilityTimeout: "30",
      QueueArn: standIn.queueArn("deletions.fifo"),
    });
    expect(JSON.parse(Attributes?.RedrivePolicy as string)).toEqual({
      deadLetterTargetArn: standIn.queueArn("deletions-dlq.fifo"),
      maxReceiveCount: 2,
    });
    await emptyQueue(queueUrl);
  });

  it("sends and deletes in batches, failing only the bad entries", async () => {
    const duplicated = uniqueId();
    const sent = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          {
            Id: "one",
            MessageBody: "batch 1",
            MessageGroupId: "group-i",
            MessageDeduplicationId: duplicated,
          },
          {
            Id: "two",
            MessageBody: "batch 2",
            MessageGroupId: "group-i",
            MessageDeduplicationId: duplicated,
          },
          { Id: "three", MessageBody: "batch 3", MessageDeduplicationId: uniqueId() },
        ],
      }),
    );
    expect(sent.Successful?.map((entry) => entry.Id)).toEqual(["one", "two"]);
    expect(sent.Successful?.[1]?.MessageId).toBe(sent.Successful?.[0]?.MessageId);
    expect(sent.Failed).toEqual([
      {
        Id: "three",
        SenderFault: true,
        Code: "MissingParameter",
        Message: "The request must contain the parameter MessageGroupId.",
      },
    ]);
    const [message] = await receive(queueUrl);
    const deleted = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: "good", ReceiptHandle: message?.ReceiptHandle },
          { Id: "stale", ReceiptHandle: "not-a-handle" },
        ],
      }),
    );
    expect(deleted.Successful).toEqual([{ Id: "good" }]);
    expect(deleted.Failed).toMatchObject([{ Id: "stale", Code: "ReceiptHandleIsInvalid" }]);
    expect(standIn.bodies("deletions.fifo")).toEqual([]);
  });
});
