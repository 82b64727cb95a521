import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDynamoDbDigestStore,
  SECRET_DIGESTS_KEY_PREFIX,
} from "../../functions/user-sync-callback/secret-digest-store.ts";
import { secretDigest } from "../../functions/user-sync-callback/secret-match.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { secrets } from "./support/harness.ts";

describe("createDynamoDbDigestStore (on dynalite)", () => {
  const TABLE = "digests";
  let standIn: DynamoDbStandIn;
  let client: DynamoDBClient;

  beforeAll(async () => {
    standIn = await startDynamoDb();
    await standIn.createTable(TABLE);
    client = new DynamoDBClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  it("gives back the digests last saved for a secret", async () => {
    const store = createDynamoDbDigestStore(client, TABLE);
    await store.save("callback/acme", [secretDigest(secrets.acme.previous)]);
    await store.save("callback/acme", [
      secretDigest(secrets.acme.current),
      secretDigest(secrets.acme.previous),
    ]);
    expect(await store.load("callback/acme")).toEqual([
      new Uint8Array(secretDigest(secrets.acme.current)),
      new Uint8Array(secretDigest(secrets.acme.previous)),
    ]);
  });

  it("has nothing for a secret never saved, and an empty list for one saved without accepted values", async () => {
    const store = createDynamoDbDigestStore(client, TABLE);
    expect(await store.load("callback/never")).toBeUndefined();
    await store.save("callback/revoked", []);
    expect(await store.load("callback/revoked")).toEqual([]);
  });

  it("keeps only digests, under a key apart from the idempotency records, with no expiry", async () => {
    await createDynamoDbDigestStore(client, TABLE).save("callback/globex", [
      secretDigest(secrets.globex.current),
    ]);
    const { Item } = await client.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#callback/globex` } },
      }),
    );
    expect(Object.keys(Item ?? {}).sort()).toEqual(["digests", "id", "savedAt"]);
    expect(JSON.stringify(Item)).not.toContain(secrets.globex.current);
    expect(Buffer.from(JSON.stringify(Item)).includes(Buffer.from(secrets.globex.current))).toBe(false);
  });
});
