import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readStatuses } from "../../cli/status-table.ts";
import { createStatusStore, type StatusStore } from "../../functions/config-sync/status-store.ts";
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
    expect(await store.record(applied(2, "2026-11-21T10:00:00.000Z"))).toBe("stored");
    expect(await store.record(applied(1, "2026-11-21T10:00:05.000Z"))).toBe("superseded");
    expect(await stored()).toEqual([applied(2, "2026-11-21T10:00:00.000Z")]);
  });

  it("replaces a status of the same or an older parameter version", async () => {
    await store.record(applied(1, "2026-11-21T10:00:00.000Z"));
    expect(await store.record(applied(1, "2026-11-21T10:01:00.000Z"))).toBe("stored");
    expect(await store.record(applied(3, "2026-11-21T10:02:00.000Z"))).toBe("stored");
    expect(await stored()).toEqual([applied(3, "2026-11-21T10:02:00.000Z")]);
  });

  it("lets a status without a version (the parameter could not be read) replace any, and be replaced", async () => {
    await store.record(applied(4, "2026-11-21T10:00:00.000Z"));
    const unread: ClientStatus = {
      client: "acme",
      at: "2026-11-21T10:01:00.000Z",
      trigger: "schedule",
      outcome: "failed",
      message: 'reading parameter "/finapi/acme" from Parameter Store failed (ThrottlingException)',
      retryable: true,
    };
    expect(await store.record(unread)).toBe("stored");
    expect(await stored()).toEqual([unread]);
    expect(await store.record(applied(2, "2026-11-21T10:02:00.000Z"))).toBe("stored");
    expect(await stored()).toEqual([applied(2, "2026-11-21T10:02:00.000Z")]);
  });

  it("writes nothing once the signal is aborted", async () => {
    await store.record(applied(1, "2026-11-21T10:00:00.000Z"));
    const controller = new AbortController();
    controller.abort();
    await expect(
      store.record(applied(2, "2026-11-21T10:01:00.000Z"), { signal: controller.signal }),
    ).rejects.toThrow();
    expect(await stored()).toEqual([applied(1, "2026-11-21T10:00:00.000Z")]);
  });
});
