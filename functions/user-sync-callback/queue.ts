import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import {
  type DeadLetterMessage,
  deletionDeduplicationId,
  deletionMessageGroupId,
  type UserDeletedDetail,
} from "../contracts/user-deletion.ts";

/** Puts a deletion's message into an SQS FIFO queue, or rejects (also when `signal` aborts first). */
export type QueueSender<Message extends UserDeletedDetail> = (
  message: Message,
  signal?: AbortSignal,
) => Promise<void>;

/**
 * Sends to a FIFO queue in the deletion's message group with the deletion id as deduplication id,
 * so that every delivery of one deletion may send it and the queue keeps one message.
 */
export function createFifoQueueSender<Message extends UserDeletedDetail>(
  client: SQSClient,
  queueUrl: string,
): QueueSender<Message> {
  return async (message, signal) => {
    await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(message),
        MessageGroupId: deletionMessageGroupId(message),
        MessageDeduplicationId: deletionDeduplicationId(message),
      }),
      { abortSignal: signal },
    );
  };
}

export type DeletionQueueSender = QueueSender<UserDeletedDetail>;
export type DeadLetterSender = QueueSender<DeadLetterMessage>;
