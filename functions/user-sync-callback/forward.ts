import { type EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  type DeadLetterMessage,
  USER_DELETED_DETAIL_TYPE,
  USER_DELETED_SOURCE,
  type UserDeletedDetail,
} from "./events.ts";

/** Publishes one deletion and resolves to its event id, or rejects (also when `signal` aborts first). */
export type DeletionPublisher = (detail: UserDeletedDetail, signal?: AbortSignal) => Promise<string>;

/** Keeps a deletion that could not be forwarded, or rejects. */
export type DeadLetterWriter = (message: DeadLetterMessage) => Promise<void>;

/** EventBridge took the call but not the entry: a 200 answer that the SDK does not retry. */
export class EntryRejectedError extends Error {
  constructor(errorCode: string | undefined, errorMessage: string | undefined) {
    super(`EventBridge rejected the event: ${errorCode ?? "no error code"}: ${errorMessage ?? "no message"}`);
    this.name = "EntryRejectedError";
  }
}

export function createEventBridgePublisher(
  client: EventBridgeClient,
  eventBusName: string,
): DeletionPublisher {
  return async (detail, signal) => {
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
      { abortSignal: signal },
    );
    const entry = result.Entries?.[0];
    if ((result.FailedEntryCount ?? 0) > 0 || !entry?.EventId) {
      throw new EntryRejectedError(entry?.ErrorCode, entry?.ErrorMessage);
    }
    return entry.EventId;
  };
}

export function createSqsDeadLetterWriter(client: SQSClient, queueUrl: string): DeadLetterWriter {
  return async (message) => {
    await client.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(message) }));
  };
}
