import {
  type AttributeValue,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";

/** Keyed digests (see secret-match.ts) of every client's path secret under each accepted root version. */
export interface KeptDigests {
  /** Per client name, under the root secret's AWSCURRENT. */
  readonly current: ReadonlyMap<string, Uint8Array>;
  /** Per client name, under AWSPREVIOUS, accepted until the end of the rotation overlap (epoch milliseconds). */
  readonly previous?: {
    readonly digests: ReadonlyMap<string, Uint8Array>;
    readonly acceptedUntilMs: number;
  };
}

/**
 * Where the digests of the clients' accepted path secrets are kept (one item per root secret) beside Secrets Manager, so that an
 * environment starting while Secrets Manager cannot be read still authenticates finAPI's deliveries
 * (finAPI never repeats one, so a delivery that cannot be authenticated is lost).
 */
export interface SecretDigestStore {
  save(rootSecretId: string, digests: KeptDigests): Promise<void>;
  /** The digests last saved for the root secret, or `undefined` when none were or they expired. */
  load(rootSecretId: string): Promise<KeptDigests | undefined>;
  /** Deletes the root secret's digests: it was revoked, and must not come back in a later outage. */
  forget(rootSecretId: string): Promise<void>;
}

/* Apart from the deletion generations' "deletion#" keys, in the same table. */
export const SECRET_DIGESTS_KEY_PREFIX = "callback-secret-digests";
/* The table's TTL attribute (the deletion generations use it too). */
export const EXPIRATION_ATTRIBUTE = "expiration";
export const DEFAULT_DIGEST_MAX_AGE_SECONDS = 7 * 24 * 60 * 60;

export interface DynamoDbDigestStoreOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
  readonly now?: () => Date;
  /**
   * How long saved digests are used: DynamoDB's TTL deletes them some time after, and a read checks
   * the expiry itself (TTL deletion can lag by days).
   * @default 604800 (7 days)
   */
  readonly maxAgeSeconds?: number;
}

const digestMap = (digests: ReadonlyMap<string, Uint8Array>): Record<string, AttributeValue> =>
  Object.fromEntries([...digests].map(([client, digest]) => [client, { B: digest }]));

/* A damaged entry (not binary) is left out: that client is then refused, never accepted by accident. */
const digestsOf = (attribute: Record<string, AttributeValue>): ReadonlyMap<string, Uint8Array> =>
  new Map(
    Object.entries(attribute).flatMap(([client, value]) =>
      value.B === undefined ? [] : [[client, value.B]],
    ),
  );

/** The digests as items of the callback's DynamoDB table, each expiring `maxAgeSeconds` after it was saved. */
export function createDynamoDbDigestStore(options: DynamoDbDigestStoreOptions): SecretDigestStore {
  const { client, tableName } = options;
  const now = options.now ?? (() => new Date());
  const maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_DIGEST_MAX_AGE_SECONDS;
  const key = (rootSecretId: string) => ({ id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#${rootSecretId}` } });
  const nowSeconds = () => Math.floor(now().getTime() / 1000);
  return {
    async save(rootSecretId, digests) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(rootSecretId),
            current: { M: digestMap(digests.current) },
            ...(digests.previous && {
              previous: { M: digestMap(digests.previous.digests) },
              previousAcceptedUntil: { N: String(digests.previous.acceptedUntilMs) },
            }),
            savedAt: { S: now().toISOString() },
            [EXPIRATION_ATTRIBUTE]: { N: String(nowSeconds() + maxAgeSeconds) },
          },
        }),
      );
    },
    async load(rootSecretId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(rootSecretId), ConsistentRead: true }),
      );
      const current = Item?.current?.M;
      const expiresAt = Number(Item?.[EXPIRATION_ATTRIBUTE]?.N);
      if (current === undefined || !(nowSeconds() < expiresAt)) return undefined;
      const previous = Item?.previous?.M;
      const acceptedUntilMs = Number(Item?.previousAcceptedUntil?.N);
      return {
        current: digestsOf(current),
        ...(previous !== undefined &&
          Number.isFinite(acceptedUntilMs) && {
            previous: { digests: digestsOf(previous), acceptedUntilMs },
          }),
      };
    },
    async forget(rootSecretId) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(rootSecretId) }));
    },
  };
}
