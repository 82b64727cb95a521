import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type PutItemCommandInput,
} from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeError } from "../../functions/commons/errors.ts";
import { deletionGenerationKey } from "../../functions/contracts/user-deletion.ts";
import {
  createDynamoDbDeletionStore,
  DeletionStoreError,
  MAX_REGISTER_ROUNDS,
} from "../../functions/user-sync-callback/deletion-store.ts";
import type { Delivery } from "../../functions/user-sync-callback/generation.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";

const TABLE = "deletions";
const WINDOW_MS = 3_600_000;
const DAY_S = 86_400;
const T0 = Date.parse("2026-03-01T10:00:00.000Z");
const LIVE_CLIENTS = ["acme", "globex", "umbrella"];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const delivery = (userId: string, client: string, at = T0, userBase = "live"): Delivery => ({
  userBase,
  environment: userBase === "sandbox" ? "sandbox" : "live",
  userId,
  event: "DELETED",
  client,
  at,
});

/** Fails the first call of `commandName` after it reached the table, as a lost answer does: the SDK retries it. */
function loseFirstAnswerOf(client: DynamoDBClient, commandName: string) {
  let lost = false;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (!lost && context.commandName === commandName) {
        lost = true;
        throw Object.assign(new Error("the answer did not arrive in time"), { name: "TimeoutError" });
      }
      return result;
    },
    { step: "deserialize", name: "loseFirstAnswer" },
  );
}

describe("createDynamoDbDeletionStore (on dynalite)", () => {
  let dynamo: DynamoDbStandIn;
  const clients: DynamoDBClient[] = [];
  const newClient = (maxAttempts = 3) => {
    const client = new DynamoDBClient({ ...standInClientConfig(dynamo.url), maxAttempts });
    clients.push(client);
    return client;
  };
  const storeOn = (client: DynamoDBClient, tableName = TABLE) =>
    createDynamoDbDeletionStore({ client, tableName, fanOutWindowMs: WINDOW_MS });
  const itemOf = async (userId: string, userBase = "live") =>
    (
      await dynamo.client.send(
        new GetItemCommand({
          TableName: TABLE,
          Key: { id: { S: deletionGenerationKey(userBase, userId) } },
          ConsistentRead: true,
        }),
      )
    ).Item;

  beforeAll(async () => {
    dynamo = await startDynamoDb();
    await dynamo.createTable(TABLE);
  });

  afterAll(async () => {
    for (const client of clients) client.destroy();
    await dynamo.close();
  });

  it("records a first delivery as a new deletion in the documented item, expiring a day after the window", async () => {
    const store = storeOn(newClient());
    const registration = await store.register(delivery("item-1", "acme"), LIVE_CLIENTS);
    expect(registration).toMatchObject({ kind: "new", reason: "first-known" });
    const item = await itemOf("item-1");
    expect(item).toMatchObject({
      id: { S: "deletion#live#item-1" },
      deletionId: { S: expect.stringMatching(UUID) },
      firstDeliveredAt: { N: String(T0) },
      deliveredBy: { SS: ["acme"] },
      enqueued: { BOOL: false },
      expiration: { N: String(Math.floor((T0 + WINDOW_MS) / 1000) + DAY_S) },
    });
    expect(item?.deletionId?.S).toBe(registration.generation.deletionId);
  });

  it("adds another client's delivery to the current deletion, and starts a new one when a client delivers again", async () => {
    const store = storeOn(newClient());
    const first = await store.register(delivery("fanout-1", "acme"), LIVE_CLIENTS);
    const copy = await store.register(delivery("fanout-1", "globex", T0 + 2_000), LIVE_CLIENTS);
    expect(copy).toMatchObject({
      kind: "duplicate",
      generation: { deletionId: first.generation.deletionId, client: "acme", firstDeliveredAt: T0 },
    });
    expect([...(copy.generation.deliveredBy ?? [])].sort()).toEqual(["acme", "globex"]);

    const again = await store.register(delivery("fanout-1", "globex", T0 + 3_000), LIVE_CLIENTS);
    expect(again).toMatchObject({ kind: "new", reason: "client-delivered-again" });
    expect(again.generation.deletionId).not.toBe(first.generation.deletionId);
    expect((await itemOf("fanout-1"))?.deliveredBy).toEqual({ SS: ["globex"] });
  });

  it("keeps the generations of two user bases apart for the same user id", async () => {
    const store = storeOn(newClient());
    const live = await store.register(delivery("shared-1", "acme"), LIVE_CLIENTS);
    const sandbox = await store.register(delivery("shared-1", "acme-sandbox", T0, "sandbox"), [
      "acme-sandbox",
    ]);
    expect([live.kind, sandbox.kind]).toEqual(["new", "new"]);
    expect(sandbox.generation).toMatchObject({ userBase: "sandbox", environment: "sandbox" });
    expect((await itemOf("shared-1", "sandbox"))?.deletionId?.S).toBe(sandbox.generation.deletionId);
    expect((await itemOf("shared-1"))?.deletionId?.S).toBe(live.generation.deletionId);
  });

  it("marks the current deletion enqueued, and leaves a newer deletion alone when marking a replaced one", async () => {
    const store = storeOn(newClient());
    const first = await store.register(delivery("mark-1", "acme"), LIVE_CLIENTS);
    await store.markEnqueued(first.generation);
    expect((await itemOf("mark-1"))?.enqueued).toEqual({ BOOL: true });
    const copy = await store.register(delivery("mark-1", "globex", T0 + 1), LIVE_CLIENTS);
    expect(copy.generation.enqueued).toBe(true);

    const second = await store.register(delivery("mark-1", "acme", T0 + 2), LIVE_CLIENTS);
    await store.markEnqueued(first.generation);
    expect((await itemOf("mark-1"))?.enqueued).toEqual({ BOOL: false });
    expect((await itemOf("mark-1"))?.deletionId?.S).toBe(second.generation.deletionId);
  });

  it("settles 12 clients of one user base delivering one deletion at once as one deletion, for each of 8 users", async () => {
    const manyClients = Array.from({ length: 12 }, (_, index) => `client-${index}`);
    /* One SDK client per delivery, as separate Lambda instances have. */
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, user) =>
        Promise.all(
          manyClients.map((client) =>
            storeOn(newClient()).register(delivery(`race-${user}`, client), manyClients),
          ),
        ),
      ),
    );
    for (const [user, registrations] of results.entries()) {
      expect(registrations.filter((registration) => registration.kind === "new")).toHaveLength(1);
      expect(new Set(registrations.map((registration) => registration.generation.deletionId)).size).toBe(1);
      const item = await itemOf(`race-${user}`);
      expect([...(item?.deliveredBy?.SS ?? [])].sort()).toEqual([...manyClients].sort());
    }
  }, 60_000);

  it("makes two deletions of deliveries through three clients at once interleaved with a second delivery through one of them", async () => {
    for (let run = 0; run < 6; run++) {
      const userId = `interleaved-${run}`;
      const registrations = await Promise.all(
        ["acme", "globex", "acme", "umbrella"].map((client) =>
          storeOn(newClient()).register(delivery(userId, client), LIVE_CLIENTS),
        ),
      );
      expect(registrations.filter((registration) => registration.kind === "new")).toHaveLength(2);
      expect(new Set(registrations.map((registration) => registration.generation.deletionId)).size).toBe(2);
    }
  }, 60_000);

  it("lets a delivery stalled between its read and its write, while the other copies complete, join their deletion", async () => {
    const stalled = newClient();
    let reachedWrite: () => void = () => {};
    const atWrite = new Promise<void>((resolve) => {
      reachedWrite = resolve;
    });
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    /* However long a starved delivery stays here, nothing judges it by the time it took. */
    stalled.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === "PutItemCommand") {
          reachedWrite();
          await released;
        }
        return next(args);
      },
      { step: "finalizeRequest", name: "stallBeforeWrite" },
    );
    const slow = storeOn(stalled).register(delivery("stalled-1", "acme"), LIVE_CLIENTS);
    await atWrite;
    const globex = await storeOn(newClient()).register(
      delivery("stalled-1", "globex", T0 + 10),
      LIVE_CLIENTS,
    );
    const umbrella = await storeOn(newClient()).register(
      delivery("stalled-1", "umbrella", T0 + 20),
      LIVE_CLIENTS,
    );
    release();
    const acme = await slow;
    expect([globex.kind, umbrella.kind, acme.kind]).toEqual(["new", "duplicate", "duplicate"]);
    expect(acme.generation.deletionId).toBe(globex.generation.deletionId);
    expect([...((await itemOf("stalled-1"))?.deliveredBy?.SS ?? [])].sort()).toEqual(LIVE_CLIENTS);
  });

  it("recognises its own new deletion when the answer to its write was lost and the SDK's retry failed the condition", async () => {
    const client = newClient();
    loseFirstAnswerOf(client, "PutItemCommand");
    const registration = await storeOn(client).register(delivery("lost-put-1", "acme"), LIVE_CLIENTS);
    expect(registration).toMatchObject({ kind: "new", reason: "first-known" });
    const item = await itemOf("lost-put-1");
    expect(item?.deletionId?.S).toBe(registration.generation.deletionId);
    expect(item?.deliveryIds?.SS).toHaveLength(1);
  });

  it("recognises its own duplicate when the answer to its update was lost, instead of starting a deletion", async () => {
    await storeOn(newClient()).register(delivery("lost-join-1", "acme"), LIVE_CLIENTS);
    const client = newClient();
    loseFirstAnswerOf(client, "UpdateItemCommand");
    const registration = await storeOn(client).register(
      delivery("lost-join-1", "globex", T0 + 1),
      LIVE_CLIENTS,
    );
    expect(registration.kind).toBe("duplicate");
    expect([...((await itemOf("lost-join-1"))?.deliveredBy?.SS ?? [])].sort()).toEqual(["acme", "globex"]);
  });

  it(`gives up as a store failure after ${MAX_REGISTER_ROUNDS} rounds in which other writers always won`, async () => {
    const client = newClient();
    const rival = newClient();
    let rounds = 0;
    /* After each read, another writer replaces the deletion, so the condition on what was read fails. */
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === "GetItemCommand") {
          rounds++;
          const item: PutItemCommandInput["Item"] = {
            id: { S: deletionGenerationKey("live", "contended-1") },
            deletionId: { S: crypto.randomUUID() },
            userBase: { S: "live" },
            environment: { S: "live" },
            userId: { S: "contended-1" },
            event: { S: "DELETED" },
            client: { S: "globex" },
            firstDeliveredAt: { N: String(T0) },
            deliveredBy: { SS: ["globex"] },
            deliveryIds: { SS: [crypto.randomUUID()] },
            enqueued: { BOOL: false },
          };
          await rival.send(new PutItemCommand({ TableName: TABLE, Item: item }));
        }
        return result;
      },
      { step: "deserialize", name: "rivalWriter" },
    );
    const registration = storeOn(client).register(delivery("contended-1", "acme"), LIVE_CLIENTS);
    await expect(registration).rejects.toThrow(DeletionStoreError);
    await expect(registration).rejects.toThrow(`${MAX_REGISTER_ROUNDS} times`);
    expect(rounds).toBe(MAX_REGISTER_ROUNDS);
  });

  it("fails as a store failure, naming DynamoDB's error, when the table does not exist", async () => {
    const registration = storeOn(newClient(1), "no-such-table").register(
      delivery("missing-1", "acme"),
      LIVE_CLIENTS,
    );
    await expect(registration).rejects.toThrow(DeletionStoreError);
    await expect(registration).rejects.toThrow(/the deletions table failed: ResourceNotFoundException/);
  });

  it("fails as a store failure, deciding nothing, on an item it cannot read", async () => {
    await dynamo.client.send(
      new PutItemCommand({
        TableName: TABLE,
        Item: { id: { S: deletionGenerationKey("live", "malformed-1") }, deletionId: { S: "not-a-uuid" } },
      }),
    );
    const registration = storeOn(newClient()).register(delivery("malformed-1", "acme"), LIVE_CLIENTS);
    await expect(registration).rejects.toThrow(/the deletion item is malformed: deletionId/);
    expect((await itemOf("malformed-1"))?.deletionId).toEqual({ S: "not-a-uuid" });
  });
});

describe("describeError", () => {
  it("describes an error with its causes, and non-errors as text", () => {
    const error = new Error("outer", { cause: new TypeError("inner") });
    expect(describeError(error)).toBe("Error: outer (cause: TypeError: inner)");
    expect(describeError("plain")).toBe("plain");
  });
});
