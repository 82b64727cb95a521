import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createDynamoDbDigestStore,
  DEFAULT_DIGEST_MAX_AGE_SECONDS,
  SECRET_DIGESTS_KEY_PREFIX,
} from "../../functions/user-sync-callback/secret-digest-store.ts";
import { secretDigest } from "../../functions/user-sync-callback/secret-match.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { secrets } from "./support/harness.ts";

const KEY = Buffer.alloc(32, 3);
const digest = (clientId: string, secret: string) => new Uint8Array(secretDigest(KEY, clientId, secret));
/* Every client's digest under one root version, as the callback keeps them. */
const digestsOf = (version: "previous" | "current") =>
  new Map([
    ["acme", digest("acme/0", secrets.acme[version])],
    ["globex", digest("globex/0", secrets.globex[version])],
  ]);
/** 1,000 clients with 64-character names: the largest item the stack's limit gives. */
const thousandClients = (version: "previous" | "current") =>
  new Map(
    Array.from({ length: 1_000 }, (_, index) => {
      const name = `client-${String(index).padStart(57, "0")}`;
      return [name, digest(`${name}/0`, secrets.acme[version])] as const;
    }),
  );

describe("createDynamoDbDigestStore (on dynalite)", () => {
  const TABLE = "digests";
  const SAVED_AT = Date.parse("2026-12-01T12:00:00Z");
  let standIn: DynamoDbStandIn;
  let client: DynamoDBClient;
  let clock = SAVED_AT;
  const now = () => new Date(clock);

  beforeAll(async () => {
    standIn = await startDynamoDb();
    await standIn.createTable(TABLE);
    client = new DynamoDBClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  const itemOf = async (secretId: string) =>
    (
      await client.send(
        new GetItemCommand({
          TableName: TABLE,
          Key: { id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#${secretId}` } },
        }),
      )
    ).Item;

  it("gives back the digests last saved for a root secret, every client's, AWSPREVIOUS with the end of its overlap", async () => {
    clock = SAVED_AT;
    const store = createDynamoDbDigestStore({ client, tableName: TABLE, now });
    await store.save("callback/root", { current: digestsOf("previous") });
    const previous = { digests: digestsOf("previous"), acceptedUntilMs: SAVED_AT + 3_600_000 };
    await store.save("callback/root", { current: digestsOf("current"), previous });
    expect(await store.load("callback/root")).toEqual({ current: digestsOf("current"), previous });
  });

  it("holds 1,000 clients' digests of both root versions in one item (DynamoDB's 400 KB limit)", async () => {
    clock = SAVED_AT;
    const store = createDynamoDbDigestStore({ client, tableName: TABLE, now });
    const digests = {
      current: thousandClients("current"),
      previous: { digests: thousandClients("previous"), acceptedUntilMs: SAVED_AT + 3_600_000 },
    };
    await store.save("callback/large", digests);
    expect(await store.load("callback/large")).toEqual(digests);
  });

  it("has nothing for a secret never saved or forgotten", async () => {
    clock = SAVED_AT;
    const store = createDynamoDbDigestStore({ client, tableName: TABLE, now });
    expect(await store.load("callback/never")).toBeUndefined();
    await store.save("callback/revoked", { current: digestsOf("current") });
    await store.forget("callback/revoked");
    expect(await store.load("callback/revoked")).toBeUndefined();
    expect(await itemOf("callback/revoked")).toBeUndefined();
  });

  it("stops giving digests back 7 days after they were saved, even before DynamoDB's TTL deletes them", async () => {
    clock = SAVED_AT;
    const store = createDynamoDbDigestStore({ client, tableName: TABLE, now });
    await store.save("callback/aging", { current: digestsOf("current") });
    expect(Number((await itemOf("callback/aging"))?.expiration?.N)).toBe(
      SAVED_AT / 1000 + DEFAULT_DIGEST_MAX_AGE_SECONDS,
    );
    clock = SAVED_AT + DEFAULT_DIGEST_MAX_AGE_SECONDS * 1000 - 1000;
    expect(await store.load("callback/aging")).toBeDefined();
    clock = SAVED_AT + DEFAULT_DIGEST_MAX_AGE_SECONDS * 1000;
    expect(await store.load("callback/aging")).toBeUndefined();
  });

  it("keeps only keyed digests, under a key apart from the idempotency records, with the table's TTL attribute", async () => {
    clock = SAVED_AT;
    await createDynamoDbDigestStore({ client, tableName: TABLE, now, maxAgeSeconds: 60 }).save(
      "callback/globex",
      { current: digestsOf("current") },
    );
    const item = await itemOf("callback/globex");
    expect(Object.keys(item ?? {}).sort()).toEqual(["current", "expiration", "id", "savedAt"]);
    expect(item?.expiration?.N).toBe(String(SAVED_AT / 1000 + 60));
    for (const secret of [secrets.root.current, secrets.acme.current, secrets.globex.current])
      expect(Buffer.from(JSON.stringify(item)).includes(Buffer.from(secret))).toBe(false);
  });
});
