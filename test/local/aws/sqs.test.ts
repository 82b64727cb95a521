import {
  CreateQueueCommand,
  DeleteMessageCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
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
