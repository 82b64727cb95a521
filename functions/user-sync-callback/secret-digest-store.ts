import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";

/**
 * Where the digests of each client's accepted secrets are kept beside Secrets Manager, so that an
 * environment starting while Secrets Manager cannot be read still authenticates finAPI's deliveries
 * (finAPI never repeats one, so a delivery that cannot be authenticated is lost).
 */
export interface SecretDigestStore {
  save(secretId: string, digests: readonly Uint8Array[]): Promise<void>;
  /** The digests last saved for the secret, or `undefined` when none were. */
  load(secretId: string): Promise<readonly Uint8Array[] | undefined>;
}

/* Apart from the deletion generations' "deletion#" keys, in the same table. */
export const SECRET_DIGESTS_KEY_PREFIX = "callback-secret-digests";

/**
 * The digests as items of the callback's DynamoDB table, without a TTL: they are replaced whenever an
 * environment reads different values from Secrets Manager.
 */
export function createDynamoDbDigestStore(client: DynamoDBClient, tableName: string): SecretDigestStore {
  const key = (secretId: string) => ({ id: { S: `${SECRET_DIGESTS_KEY_PREFIX}#${secretId}` } });
  return {
    async save(secretId, digests) {
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(secretId),
            digests: { L: digests.map((digest) => ({ B: digest })) },
            savedAt: { S: new Date().toISOString() },
          },
        }),
      );
    },
    async load(secretId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(secretId), ConsistentRead: true }),
      );
      const saved = Item?.digests?.L;
      if (saved === undefined) return undefined;
      return saved.flatMap((value) => (value.B === undefined ? [] : [value.B]));
    },
  };
}
