import { readFileSync } from "node:fs";
import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { type SqsStandIn, startSqs } from "../../local/aws/sqs.ts";
import { type LocalLambda, startLambda } from "../../local/lambda-runtime.ts";
import { fakeTime } from "../support/fake-time.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import {
  createStandInResources,
  physicalValues,
  queueEventSourcesOf,
  type Resource,
  startQueueEventSources,
} from "./support/synthesized-stack.ts";

const TEMPLATE = JSON.parse(
  readFileSync(new URL("../fixtures/reliability/queue-event-sources.template.json", import.meta.url), "utf8"),
) as { Resources: Record<string, Resource> };
const template = {
  resourcesOf: (type: string) =>
    Object.entries(TEMPLATE.Resources).filter(([, resource]) => resource.Type === type),
};

describe("createStandInResources, queueEventSourcesOf and startQueueEventSources on a template with a FIFO queue and an event-source mapping", () => {
  const time = fakeTime();
  let sqs: SqsStandIn;
  let dynamo: DynamoDbStandIn;
  let client: SQSClient;
  let publisher: LocalLambda;
  const physical = new Map<string, string>();

  beforeAll(async () => {
    [sqs, dynamo] = await Promise.all([startSqs({ clock: time.now }), startDynamoDb()]);
    client = new SQSClient(standInClientConfig(sqs.url));
    await createStandInResources(template, { dynamo, sqs }, physical);
    publisher = await startLambda({
      functionName: "Publisher",
      handlerModule: new URL("../fixtures/local/handlers/sqs-batch.ts", import.meta.url),
      environment: {},
      timeoutMs: 10_000,
    });
  });

  afterAll(async () => {
    client.destroy();
    await publisher.close();
    await Promise.all([sqs.close(), dynamo.close()]);
  });

  it("creates FIFO queues named as CloudFormation names them, the dead-letter queue first, and answers their Refs and GetAtts", () => {
    const lookup = physicalValues(physical, "eu-central-1", "https://unused.example/");
    expect(lookup("DeletionQueue")).toBe(sqs.queueUrl("DeletionQueue.fifo"));
    expect(lookup("DeletionQueue", "Arn")).toBe("arn:aws:sqs:eu-central-1:000000000000:DeletionQueue.fifo");
    expect(lookup("DeletionDeadLetters", "QueueName")).toBe("DeletionDeadLetters.fifo");
    expect(lookup("FailedInvocations")).toBe(sqs.queueUrl("failed-invocations"));
    expect(lookup("Publisher", "Arn")).toBe("arn:aws:lambda:eu-central-1:000000000000:function:Publisher");
    expect(() => lookup("BusPolicy")).toThrow("no stand-in for BusPolicy");
  });

  it("gives the queue the template's FIFO settings, visibility timeout and redrive policy", async () => {
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: physical.get("DeletionQueue"), AttributeNames: ["All"] }),
    );
    expect(Attributes).toMatchObject({
      FifoQueue: "true",
      ContentBasedDeduplication: "false",
      VisibilityTimeout: "60",
    });
    expect(JSON.parse(Attributes?.RedrivePolicy ?? "{}")).toEqual({
      deadLetterTargetArn: sqs.queueArn("DeletionDeadLetters.fifo"),
      maxReceiveCount: 2,
    });
  });

  it("reads the enabled SQS event-source mappings with their function, batch size and response types", () => {
    expect(queueEventSourcesOf(template, physical)).toEqual([
      {
        logicalId: "PublisherDeletionQueueSource",
        functionLogicalId: "Publisher",
        queueUrl: sqs.queueUrl("DeletionQueue.fifo"),
        queueArn: sqs.queueArn("DeletionQueue.fifo"),
        batchSize: 10,
        reportBatchItemFailures: true,
      },
    ]);
  });

  it("runs the mapping: processed messages leave the queue, a failing one reaches the dead-letter queue after maxReceiveCount receives", async () => {
    const [source] = queueEventSourcesOf(template, physical);
    if (!source) throw new Error("the fixture template has an event-source mapping");
    const asked: string[] = [];
    const mappings = startQueueEventSources([source], {
      endpoint: sqs.url,
      region: "eu-central-1",
      pollIntervalMs: 0,
      functionOf: (logicalId) => {
        asked.push(logicalId);
        return publisher;
      },
    });
    const mapping = mappings.get("PublisherDeletionQueueSource");
    if (!mapping) throw new Error("no mapping started for PublisherDeletionQueueSource");
    expect(asked).toEqual(["Publisher"]);
    try {
      for (const [body, group] of [
        ["fine", "alice"],
        ["fail", "bob"],
      ]) {
        await client.send(
          new SendMessageCommand({
            QueueUrl: source.queueUrl,
            MessageBody: body,
            MessageGroupId: group,
            MessageDeduplicationId: `${body}-${group}`,
          }),
        );
      }
      for (let attempt = 0; attempt < 3; attempt += 1) {
        await mapping.drain();
        time.advance(60_000);
      }
      expect(sqs.bodies("DeletionQueue.fifo")).toEqual([]);
      expect(sqs.bodies("DeletionDeadLetters.fifo")).toEqual(["fail"]);
      expect(mapping.batches.map((batch) => batch.deleted.length)).toEqual([1, 0]);
    } finally {
      await mapping.close();
    }
  });

  it("refuses a mapping whose function is not in the template", () => {
    const broken = {
      resourcesOf: (type: string) =>
        type === "AWS::Lambda::EventSourceMapping"
          ? [
              [
                "Orphan",
                {
                  Type: type,
                  Properties: {
                    EventSourceArn: { "Fn::GetAtt": ["DeletionQueue", "Arn"] },
                    FunctionName: { Ref: "Missing" },
                  },
                },
              ] as [string, Resource],
            ]
          : template.resourcesOf(type),
    };
    expect(() => queueEventSourcesOf(broken, physical)).toThrow(
      "Orphan: Missing is not a function of the template",
    );
  });
});
