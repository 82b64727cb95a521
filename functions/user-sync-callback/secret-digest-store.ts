import {
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";

/** Keyed digests (see secret-match.ts) of a secret's accepted versions. */
export interface KeptDigests {
  readonly current: Uint8Array;
  /** AWSPREVIOUS, accepted until the end of the rotation overlap (epoch milliseconds). */
  readonly previous?: { readonly digest: Uint8Array; readonly acceptedUntilMs: number };
}

/**
 * Where the digests of each client's accepted secrets are kept beside Secrets Manager, so that an
 * environment starting while Secrets Manager cannot be read still authenticates finAPI's deliveries
 * (finAPI never repeats one, so a delivery that cannot be authenticated is lost).
 */
export interface SecretDigestStore {
  save(secretId: string, digests: KeptDigests): Promise<void>;
  /** The digests last saved for the secret, or `undefined` when none were or they expired. */
  load(secretId: string): Promise<KeptDigests | undefined>;
  /** Deletes the secret's digests: it was revoked, and must not come back in a later outage. */
  forget(secretId: string): Promise<void>;
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

/** The digests as items of the callback's DynamoDB table, each expiring `maxAgeSeconds` after it was saved. */
export function createDynamoDbDigestStore(options: DynamoDbDigestStoreOptions): SecretDigestStore {
  const { client, tableName } = options;
  const now = options.now ?? (() => new Date());
  const maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_DIGEST_MAX_AGE_SECONDS;
  const key = (secretId: string) => ({ id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#${secretId}` } });
  const nowSeconds = () => Math.floor(now().getTime() / 1000);
  return {
    async save(secretId, digests) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(secretId),
            current: { B: digests.current },
            ...(digests.previous && {
              previous: { B: digests.previous.digest },
              previousAcceptedUntil: { N: String(digests.previous.acceptedUntilMs) },
            }),
            savedAt: { S: now().toISOString() },
            [EXPIRATION_ATTRIBUTE]: { N: String(nowSeconds() + maxAgeSeconds) },
          },
        }),
      );
    },
    async load(secretId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(secretId), ConsistentRead: true }),
      );
      const current = Item?.current?.B;
      const expiresAt = Number(Item?.[EXPIRATION_ATTRIBUTE]?.N);
      if (current === undefined || !(nowSeconds() < expiresAt)) return undefined;
      const previous = Item?.previous?.B;
      const acceptedUntilMs = Number(Item?.previousAcceptedUntil?.N);
      return {
        current,
        ...(previous !== undefined &&
          Number.isFinite(acceptedUntilMs) && { previous: { digest: previous, acceptedUntilMs } }),
      };
    },
    async forget(secretId) {
      await client.send(new DeleteItemCommand({ TableName: tableName, Key: key(secretId) }));
    },
  };
}
