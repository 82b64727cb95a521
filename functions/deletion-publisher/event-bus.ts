import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import {
  USER_DELETED_DETAIL_TYPE,
  USER_DELETED_SOURCE,
  type UserDeletedDetail,
} from "../contracts/user-deletion.ts";

/** Puts one deletion on the bus and resolves to its event id, or rejects. */
export type DeletionPublisher = (detail: UserDeletedDetail) => Promise<string>;

/** EventBridge took the call but not the entry: a 200 answer that the SDK does not retry. */
export class EntryRejectedError extends Error {
  constructor(errorCode: string | undefined, errorMessage: string | undefined) {
    super(`EventBridge rejected the event: ${errorCode ?? "no error code"}: ${errorMessage ?? "no message"}`);
    this.name = "EntryRejectedError";
  }
}

export function createEventBusPublisher(client: EventBridgeClient, eventBusName: string): DeletionPublisher {
  return async (detail) => {
    const result = await client.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: eventBusName,
            Source: USER_DELETED_SOURCE,
            DetailType: USER_DELETED_DETAIL_TYPE,
            Detail: JSON.stringify(detail),
            Time: new Date(detail.receivedAt),
          },
        ],
      }),
    );
    const entry = result.Entries?.[0];
    if ((result.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
      throw new EntryRejectedError(entry?.ErrorCode, entry?.ErrorMessage);
    }
    return entry.EventId;
  };
}
