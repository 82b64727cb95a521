import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
} from "@aws-sdk/lib-dynamodb";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readStatuses } from "../../cli/status-table.ts";
import {
  createStatusStore,
  STATUS_BATCH_SIZE,
  type StatusStore,
} from "../../functions/config-sync/status-store.ts";
import type { ClientStatus } from "../../functions/contracts/config-sync.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";

const TABLE = "status";

function applied(parameterVersion: number | undefined, at: string): ClientStatus {
  return {
    client: "acme",
    at,
    trigger: "parameter-change",
    ...(parameterVersion === undefined ? {} : { parameterVersion }),
    outcome: "applied",
    changes: [{ field: "refreshTokensValidityPeriod", from: 3600, to: 3600 + (parameterVersion ?? 0) }],
    finapiRequestId: `finapi-config-sync-${at}`,
  };
}

describe("createStatusStore (against dynalite)", () => {
  let dynamo: DynamoDbStandIn;
  let document: DynamoDBDocumentClient;
  let store: StatusStore;
  let table = 0;
  let tableName = TABLE;

  const stored = async () => (await readStatuses(document, tableName, "acme")).statuses;

  beforeAll(async () => {
    dynamo = await startDynamoDb();
    document = DynamoDBDocumentClient.from(dynamo.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  });
  afterAll(() => dynamo.close());
  beforeEach(async () => {
    table += 1;
    tableName = `${TABLE}-${table}`;
    await dynamo.createTable(tableName, "client");
    store = createStatusStore(document, tableName);
  });

  it("never replaces a newer parameter version's status with an older one's", async () => {
    expect(await store.record([applied(2, "2026-11-21T10:00:00.000Z")])).toEqual(["stored"]);
    expect(await store.record([applied(1, "2026-11-21T10:00:05.000Z")])).toEqual(["superseded"]);
    expect(await stored()).toEqual([applied(2, "2026-11-21T10:00:00.000Z")]);
  });

  it("replaces a status of the same or an older parameter version", async () => {
    await store.record([applied(1, "2026-11-21T10:00:00.000Z")]);
    expect(await store.record([applied(1, "2026-11-21T10:01:00.000Z")])).toEqual(["stored"]);
    expect(await store.record([applied(3, "2026-11-21T10:02:00.000Z")])).toEqual(["stored"]);
    expect(await stored()).toEqual([applied(3, "2026-11-21T10:02:00.000Z")]);
  });

  it("lets a status without a version (the parameter could not be read) replace any, and be replaced", async () => {
    await store.record([applied(4, "2026-11-21T10:00:00.000Z")]);
    const unread: ClientStatus = {
      client: "acme",
      at: "2026-11-21T10:01:00.000Z",
      trigger: "schedule",
      outcome: "failed",
      message: 'reading parameter "/finapi/acme" from Parameter Store failed (ThrottlingException)',
      retryable: true,
    };
    expect(await store.record([unread])).toEqual(["stored"]);
    expect(await stored()).toEqual([unread]);
    expect(await store.record([applied(2, "2026-11-21T10:02:00.000Z")])).toEqual(["stored"]);
    expect(await stored()).toEqual([applied(2, "2026-11-21T10:02:00.000Z")]);
  });

  it("stores a batch of 25 clients' statuses, keeping each newer version's status the table holds", async () => {
    const batch = Array.from({ length: STATUS_BATCH_SIZE }, (_, index) => ({
      ...applied(2, "2026-11-21T10:01:00.000Z"),
      client: `client-${index}`,
    }));
    await store.record([{ ...applied(3, "2026-11-21T10:00:00.000Z"), client: "client-7" }]);

    const written = await store.record(batch);

    expect(written.filter((write) => write === "stored")).toHaveLength(STATUS_BATCH_SIZE - 1);
    expect(written[7]).toBe("superseded");
    const { statuses } = await readStatuses(document, tableName);
    expect(statuses).toHaveLength(STATUS_BATCH_SIZE);
    expect(statuses.find((status) => status.client === "client-7")?.parameterVersion).toBe(3);
    expect(statuses.find((status) => status.client === "client-8")?.parameterVersion).toBe(2);
  });

  it("writes nothing once the signal is aborted", async () => {
    await store.record([applied(1, "2026-11-21T10:00:00.000Z")]);
    const controller = new AbortController();
    controller.abort();
    await expect(
      store.record([applied(2, "2026-11-21T10:01:00.000Z")], { signal: controller.signal }),
    ).rejects.toThrow();
    expect(await stored()).toEqual([applied(1, "2026-11-21T10:00:00.000Z")]);
  });
});

describe("createStatusStore (DynamoDB throttling a batch)", () => {
  const dynamo = new DynamoDBClient({ region: "eu-central-1" });
  const document = DynamoDBDocumentClient.from(dynamo);
  const dynamoMock = mockClient(document);
  afterAll(() => dynamoMock.restore());

  it("sends unprocessed writes again, and reports the ones DynamoDB never took as unprocessed", async () => {
    const globex = { ...applied(1, "2026-11-21T10:00:00.000Z"), client: "globex" };
    dynamoMock.reset();
    dynamoMock.on(BatchGetCommand).resolves({ Responses: { [TABLE]: [] } });
    const sent: string[][] = [];
    dynamoMock.on(BatchWriteCommand).callsFake((input: BatchWriteCommandInput) => {
      const items = (input.RequestItems?.[TABLE] ?? []).map((request) => request.PutRequest?.Item);
      sent.push(items.map((item) => String(item?.client)));
      /* acme is taken on its second attempt; globex never. */
      const unprocessed = items.filter((item) => item?.client === "globex" || sent.length === 1);
      return { UnprocessedItems: { [TABLE]: unprocessed.map((Item) => ({ PutRequest: { Item } })) } };
    });

    const written = await createStatusStore(document, TABLE).record([
      applied(1, "2026-11-21T10:00:00.000Z"),
      globex,
    ]);

    expect(written).toEqual(["stored", "unprocessed"]);
    expect(sent).toEqual([["acme", "globex"], ["acme", "globex"], ["globex"], ["globex"]]);
  });
});
