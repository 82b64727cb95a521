import { type DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { publishedMarkKey } from "../contracts/user-deletion.ts";

/**
 * How long the mark that a deletion was published is kept: longer than a message of that deletion can
 * live on its way back to the publisher (4 days in the deletion queue, then 14 in the FIFO dead-letter
 * queue, which restarts a moved message's retention, then 4 again after a redrive: 22 days), so that
 * a redriven or repeated message of a published deletion is still recognised.
 */
export const PUBLISHED_MARK_TTL_SECONDS = 30 * 24 * 60 * 60;

/** The mark that a deletion is on the bus. */
export interface PublishedMark {
  readonly eventId?: string;
  readonly publishedAt?: string;
}

/** Which deletions are already on the bus, by deletion id. */
export interface PublishedMarks {
  /** The deletion's mark, or `undefined` when it was not published. */
  find(deletionId: string): Promise<PublishedMark | undefined>;
  markPublished(deletionId: string, eventId: string): Promise<void>;
}

/** The marks as items of the deletions table (key `published#<deletionId>`, TTL attribute `expiration`). */
export function createDynamoDbPublishedMarks(
  client: DynamoDBClient,
  tableName: string,
  now: () => Date = () => new Date(),
): PublishedMarks {
  const key = (deletionId: string) => ({ id: { S: publishedMarkKey(deletionId) } });
  return {
    async find(deletionId) {
      const { Item } = await client.send(
        new GetItemCommand({ TableName: tableName, Key: key(deletionId), ConsistentRead: true }),
      );
      if (Item === undefined) return undefined;
      return { eventId: Item.eventId?.S, publishedAt: Item.publishedAt?.S };
    },
    async markPublished(deletionId, eventId) {
      const publishedAt = now();
      await client.send(
        new PutItemCommand({
          TableName: tableName,
          Item: {
            ...key(deletionId),
            eventId: { S: eventId },
            publishedAt: { S: publishedAt.toISOString() },
            expiration: { N: String(Math.floor(publishedAt.getTime() / 1000) + PUBLISHED_MARK_TTL_SECONDS) },
          },
        }),
      );
    },
  };
}
