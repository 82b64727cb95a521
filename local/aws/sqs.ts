import { createHash, randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const ACCOUNT = "000000000000";
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
const MAX_MESSAGES_PER_RECEIVE = 10;

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  receiptHandle: string | undefined;
  invisibleUntil: number;
}

export interface SqsStandInOptions {
  /** Queues that exist from the start. */
  readonly queueNames?: readonly string[];
}

export interface SqsStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_SQS`; queue URLs point at it too. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  queueUrl(queueName: string): string;
  /** The bodies of the messages still in the queue (received or not), oldest first. */
  bodies(queueName: string): string[];
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

const md5Hex = (text: string) => createHash("md5").update(text, "utf8").digest("hex");

/** A local SQS (standard queues): CreateQueue, GetQueueUrl, SendMessage, ReceiveMessage, DeleteMessage. */
export async function startSqs(options: SqsStandInOptions = {}): Promise<SqsStandIn> {
  const queues = new Map<string, StoredMessage[]>();
  let baseUrl = "";

  const urlOf = (queueName: string) => `${baseUrl}/${ACCOUNT}/${queueName}`;
  const queueNamed = (queueName: string) => {
    const queue = queues.get(queueName);
    if (!queue) {
      throw new AwsServiceError("QueueDoesNotExist", "The specified queue does not exist.");
    }
    return queue;
  };
  const queueAt = (input: Record<string, unknown>) => {
    const queueUrl = input.QueueUrl;
    if (typeof queueUrl !== "string") throw new AwsServiceError("MissingParameter", "QueueUrl is required.");
    return queueNamed(queueUrl.slice(queueUrl.lastIndexOf("/") + 1));
  };

  for (const name of options.queueNames ?? []) queues.set(name, []);

  const server = await startAwsJsonServer({
    targetPrefix: "AmazonSQS",
    operations: {
      CreateQueue: (input) => {
        const name = input.QueueName;
        if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
          throw new AwsServiceError("InvalidParameterValue", "QueueName must be 1..80 of A-Z a-z 0-9 - _");
        }
        if (!queues.has(name)) queues.set(name, []);
        return { QueueUrl: urlOf(name) };
      },
      GetQueueUrl: (input) => {
        const name = String(input.QueueName);
        queueNamed(name);
        return { QueueUrl: urlOf(name) };
      },
      SendMessage: (input) => {
        const queue = queueAt(input);
        const body = input.MessageBody;
        if (typeof body !== "string" || body === "") {
          throw new AwsServiceError(
            "MissingParameter",
            "The request must contain the parameter MessageBody.",
          );
        }
        const message: StoredMessage = {
          messageId: randomUUID(),
          body,
          receiptHandle: undefined,
          invisibleUntil: 0,
        };
        queue.push(message);
        return { MessageId: message.messageId, MD5OfMessageBody: md5Hex(body) };
      },
      ReceiveMessage: (input) => {
        const queue = queueAt(input);
        const limit = Math.min(Number(input.MaxNumberOfMessages ?? 1), MAX_MESSAGES_PER_RECEIVE);
        const visibilitySeconds = Number(input.VisibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS);
        const now = Date.now();
        const received = queue.filter((message) => message.invisibleUntil <= now).slice(0, limit);
        for (const message of received) {
          message.receiptHandle = randomUUID();
          message.invisibleUntil = now + visibilitySeconds * 1000;
        }
        return {
          Messages: received.map((message) => ({
            MessageId: message.messageId,
            ReceiptHandle: message.receiptHandle,
            Body: message.body,
            MD5OfBody: md5Hex(message.body),
          })),
        };
      },
      DeleteMessage: (input) => {
        const queue = queueAt(input);
        const index = queue.findIndex((message) => message.receiptHandle === input.ReceiptHandle);
        if (index < 0) {
          throw new AwsServiceError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
        }
        queue.splice(index, 1);
        return {};
      },
    },
  });
  baseUrl = server.url;

  return {
    url: server.url,
    calls: server.calls,
    queueUrl(queueName) {
      queueNamed(queueName);
      return urlOf(queueName);
    },
    bodies: (queueName) => queueNamed(queueName).map((message) => message.body),
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}
