import { createHash, randomUUID } from "node:crypto";
import { type AwsJsonCall, AwsServiceError, startAwsJsonServer } from "./json-protocol-server.ts";

const ACCOUNT = "000000000000";
const REGION = "eu-central-1";
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;
const MAX_VISIBILITY_TIMEOUT_SECONDS = 12 * 60 * 60;
const MAX_MESSAGES_PER_RECEIVE = 10;
const MAX_ENTRIES_PER_BATCH = 10;
const MAX_RECEIVE_COUNT_LIMIT = 1000;
/** SQS FIFO's deduplication interval: a second send of one deduplication id within it is dropped. */
const DEDUPLICATION_INTERVAL_MS = 5 * 60 * 1000;
const STANDARD_NAME = /^[A-Za-z0-9_-]{1,80}$/;
/** MessageGroupId and MessageDeduplicationId: 1..128 alphanumeric and punctuation characters. */
const FIFO_ID = /^[\x21-\x7e]{1,128}$/;
const FIFO_NAME = /^[A-Za-z0-9_-]{1,75}\.fifo$/;
/** The queue attributes CreateQueue and SetQueueAttributes take that the stand-in models. */
const SETTABLE_ATTRIBUTES = new Set([
  "FifoQueue",
  "ContentBasedDeduplication",
  "VisibilityTimeout",
  "RedrivePolicy",
]);
/* Accepted and kept, without effect here (no encryption, retention or size limits are modelled). */
const INERT_ATTRIBUTES = new Set([
  "MessageRetentionPeriod",
  "MaximumMessageSize",
  "KmsMasterKeyId",
  "KmsDataKeyReusePeriodSeconds",
  "SqsManagedSseEnabled",
  "DeduplicationScope",
  "FifoThroughputLimit",
  "ReceiveMessageWaitTimeSeconds",
  "DelaySeconds",
  "Policy",
  "RedriveAllowPolicy",
]);
/** The message system attributes ReceiveMessage can return (`All` asks for each). */
const MESSAGE_SYSTEM_ATTRIBUTES = [
  "ApproximateReceiveCount",
  "ApproximateFirstReceiveTimestamp",
  "SentTimestamp",
  "SenderId",
  "MessageGroupId",
  "MessageDeduplicationId",
  "SequenceNumber",
  "DeadLetterQueueSourceArn",
] as const;
type MessageSystemAttribute = (typeof MESSAGE_SYSTEM_ATTRIBUTES)[number];

interface StoredMessage {
  readonly messageId: string;
  readonly body: string;
  readonly sentAt: number;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  /** The ARN of the queue the redrive policy moved the message from. */
  deadLetterSourceArn: string | undefined;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  receiptHandle: string | undefined;
  invisibleUntil: number;
}

interface RedrivePolicy {
  readonly deadLetterTargetArn: string;
  readonly maxReceiveCount: number;
}

interface Queue {
  readonly name: string;
  readonly fifo: boolean;
  readonly attributes: Readonly<Record<string, string>>;
  readonly contentBasedDeduplication: boolean;
  readonly visibilityTimeoutSeconds: number;
  readonly redrivePolicy: RedrivePolicy | undefined;
  readonly messages: StoredMessage[];
  /** FIFO: deduplication id → the message it was first sent as, and when. */
  readonly sentDeduplicationIds: Map<string, { messageId: string; sequenceNumber: string; sentAt: number }>;
  nextSequenceNumber: bigint;
}

export interface SqsStandInOptions {
  /** Standard queues that exist from the start. */
  readonly queueNames?: readonly string[];
  /** ms epoch; visibility timeouts, the deduplication interval and timestamps run on it. @default Date.now */
  readonly clock?: () => number;
}

export interface SqsStandIn {
  /** The endpoint to put into `AWS_ENDPOINT_URL_SQS`; queue URLs point at it too. */
  readonly url: string;
  readonly calls: readonly AwsJsonCall[];
  /**
   * Creates the queue as CreateQueue does (a name ending `.fifo` with `FifoQueue: "true"` is a FIFO
   * queue), or returns the URL of the one with that name and the same attributes.
   */
  createQueue(queueName: string, attributes?: Readonly<Record<string, string>>): string;
  queueUrl(queueName: string): string;
  queueArn(queueName: string): string;
  /** The bodies of the messages still in the queue (received or not), oldest first. */
  bodies(queueName: string): string[];
  failNext(operation: string, error: AwsServiceError, times?: number): void;
  close(): Promise<void>;
}

const md5Hex = (text: string) => createHash("md5").update(text, "utf8").digest("hex");
const sha256Hex = (text: string) => createHash("sha256").update(text, "utf8").digest("hex");
const arnOf = (queueName: string) => `arn:aws:sqs:${REGION}:${ACCOUNT}:${queueName}`;
const queueNameOfArn = (arn: string) => arn.slice(arn.lastIndexOf(":") + 1);

const invalidAttribute = (name: string, value: string, reason: string) =>
  new AwsServiceError(
    "InvalidAttributeValue",
    `Invalid value for the parameter ${name}: ${value}. Reason: ${reason}`,
  );
const invalidParameter = (name: string, value: string, reason: string) =>
  new AwsServiceError(
    "InvalidParameterValue",
    `Value ${value} for parameter ${name} is invalid. Reason: ${reason}`,
  );
const missingParameter = (name: string) =>
  new AwsServiceError("MissingParameter", `The request must contain the parameter ${name}.`);

function stringField(input: Record<string, unknown>, name: string): string | undefined {
  const value = input[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidParameter(name, JSON.stringify(value), "must be a string.");
  return value;
}

function integerAttribute(name: string, value: string, min: number, max: number): number {
  const number = Number(value);
  if (!/^\d+$/.test(value) || number < min || number > max) {
    throw invalidAttribute(name, value, `must be an integer from ${min} to ${max}.`);
  }
  return number;
}

function booleanAttribute(name: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (value !== "true" && value !== "false") throw invalidAttribute(name, value, "must be true or false.");
  return value === "true";
}

/**
 * A local SQS, standard and FIFO queues, as the SDK sees the real one: CreateQueue (with attributes),
 * GetQueueUrl, GetQueueAttributes, SendMessage(Batch), ReceiveMessage, DeleteMessage(Batch) and
 * ChangeMessageVisibility. FIFO queues require a message group, drop a deduplication id sent again
 * within 5 minutes (answering the first send's MessageId), and never hand out a message while an
 * earlier one of its group is in flight. A queue's RedrivePolicy moves a message that was received
 * maxReceiveCount times without being deleted to its dead-letter queue on the next receive.
 * Receives answer at once (no long polling) and there are no delays.
 */
export async function startSqs(options: SqsStandInOptions = {}): Promise<SqsStandIn> {
  const clock = options.clock ?? Date.now;
  const queues = new Map<string, Queue>();
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
    if (typeof queueUrl !== "string") throw missingParameter("QueueUrl");
    return queueNamed(queueUrl.slice(queueUrl.lastIndexOf("/") + 1));
  };

  const redrivePolicyOf = (value: string, fifo: boolean): RedrivePolicy => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      throw invalidAttribute("RedrivePolicy", value, "Redrive policy is not a valid JSON map.");
    }
    const { deadLetterTargetArn, maxReceiveCount } = (parsed ?? {}) as Record<string, unknown>;
    if (typeof deadLetterTargetArn !== "string") {
      throw invalidAttribute("RedrivePolicy", value, "Redrive policy must contain deadLetterTargetArn.");
    }
    const count = integerAttribute(
      "RedrivePolicy.maxReceiveCount",
      String(maxReceiveCount),
      1,
      MAX_RECEIVE_COUNT_LIMIT,
    );
    const target = queues.get(queueNameOfArn(deadLetterTargetArn));
    if (!target || arnOf(target.name) !== deadLetterTargetArn) {
      throw invalidAttribute("RedrivePolicy", value, "Dead letter target does not exist.");
    }
    if (target.fifo !== fifo) {
      throw invalidAttribute(
        "RedrivePolicy",
        value,
        "Dead-letter queue must be same type of queue as the source.",
      );
    }
    return { deadLetterTargetArn, maxReceiveCount: count };
  };

  const createQueue = (name: string, attributes: Readonly<Record<string, string>> = {}): string => {
    for (const attribute of Object.keys(attributes)) {
      if (!SETTABLE_ATTRIBUTES.has(attribute) && !INERT_ATTRIBUTES.has(attribute)) {
        throw new AwsServiceError("InvalidAttributeName", `Unknown Attribute ${attribute}.`);
      }
    }
    const fifo = booleanAttribute("FifoQueue", attributes.FifoQueue);
    if (fifo ? !FIFO_NAME.test(name) : !STANDARD_NAME.test(name)) {
      throw new AwsServiceError(
        "InvalidParameterValue",
        fifo
          ? "The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length."
          : "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length",
      );
    }
    const existing = queues.get(name);
    if (existing) {
      const differing = Object.entries(attributes).find(([key, value]) => existing.attributes[key] !== value);
      if (differing) {
        throw new AwsServiceError(
          "QueueNameExists",
          `A queue already exists with the same name and a different value for attribute ${differing[0]}`,
        );
      }
      return urlOf(name);
    }
    const contentBasedDeduplication = booleanAttribute(
      "ContentBasedDeduplication",
      attributes.ContentBasedDeduplication,
    );
    if (contentBasedDeduplication && !fifo) {
      throw invalidAttribute("ContentBasedDeduplication", "true", "Only FIFO queues support it.");
    }
    queues.set(name, {
      name,
      fifo,
      attributes: { ...attributes },
      contentBasedDeduplication,
      visibilityTimeoutSeconds:
        attributes.VisibilityTimeout === undefined
          ? DEFAULT_VISIBILITY_TIMEOUT_SECONDS
          : integerAttribute(
              "VisibilityTimeout",
              attributes.VisibilityTimeout,
              0,
              MAX_VISIBILITY_TIMEOUT_SECONDS,
            ),
      redrivePolicy:
        attributes.RedrivePolicy === undefined ? undefined : redrivePolicyOf(attributes.RedrivePolicy, fifo),
      messages: [],
      sentDeduplicationIds: new Map(),
      nextSequenceNumber: 10_000_000_000_000_000_000n,
    });
    return urlOf(name);
  };

  const attributesInput = (input: Record<string, unknown>): Record<string, string> => {
    const attributes = input.Attributes ?? {};
    if (typeof attributes !== "object" || attributes === null || Array.isArray(attributes)) {
      throw invalidParameter("Attributes", JSON.stringify(attributes), "must be a map.");
    }
    return Object.fromEntries(Object.entries(attributes).map(([key, value]) => [key, String(value)]));
  };

  const send = (queue: Queue, input: Record<string, unknown>) => {
    const body = stringField(input, "MessageBody");
    if (body === undefined || body === "") throw missingParameter("MessageBody");
    const groupId = stringField(input, "MessageGroupId");
    const explicitDeduplicationId = stringField(input, "MessageDeduplicationId");
    if (input.DelaySeconds !== undefined && Number(input.DelaySeconds) !== 0) {
      throw invalidParameter(
        "DelaySeconds",
        String(input.DelaySeconds),
        queue.fifo
          ? "The request include parameter that is not valid for this queue type."
          : "Delays are not modelled by the local SQS.",
      );
    }
    const now = clock();
    if (!queue.fifo) {
      if (explicitDeduplicationId !== undefined) {
        throw invalidParameter(
          "MessageDeduplicationId",
          explicitDeduplicationId,
          "The request include parameter that is not valid for this queue type.",
        );
      }
      const message = storedMessage(body, now, groupId, undefined, undefined);
      queue.messages.push(message);
      return { MessageId: message.messageId, MD5OfMessageBody: md5Hex(body) };
    }
    if (groupId === undefined || groupId === "") throw missingParameter("MessageGroupId");
    for (const [name, id] of [
      ["MessageGroupId", groupId],
      ["MessageDeduplicationId", explicitDeduplicationId],
    ] as const) {
      if (id !== undefined && !FIFO_ID.test(id)) {
        throw invalidParameter(
          name,
          id,
          `${name} can only include alphanumeric and punctuation characters. 1 to 128 in length.`,
        );
      }
    }
    const deduplicationId =
      explicitDeduplicationId ?? (queue.contentBasedDeduplication ? sha256Hex(body) : undefined);
    if (deduplicationId === undefined) {
      throw new AwsServiceError(
        "InvalidParameterValue",
        "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
      );
    }
    const earlier = queue.sentDeduplicationIds.get(deduplicationId);
    if (earlier && now - earlier.sentAt < DEDUPLICATION_INTERVAL_MS) {
      /* Accepted and dropped: SQS answers as if it had been sent, with the first send's ids. */
      return {
        MessageId: earlier.messageId,
        MD5OfMessageBody: md5Hex(body),
        SequenceNumber: earlier.sequenceNumber,
      };
    }
    const sequenceNumber = String(queue.nextSequenceNumber);
    queue.nextSequenceNumber += 1n;
    const message = storedMessage(body, now, groupId, deduplicationId, sequenceNumber);
    queue.messages.push(message);
    queue.sentDeduplicationIds.set(deduplicationId, {
      messageId: message.messageId,
      sequenceNumber,
      sentAt: now,
    });
    return { MessageId: message.messageId, MD5OfMessageBody: md5Hex(body), SequenceNumber: sequenceNumber };
  };

  const inFlight = (message: StoredMessage, now: number) =>
    message.receiptHandle !== undefined && message.invisibleUntil > now;

  /* Moves each visible message received maxReceiveCount times already to the dead-letter queue. */
  const redrive = (queue: Queue, now: number) => {
    const policy = queue.redrivePolicy;
    if (!policy) return;
    const target = queues.get(queueNameOfArn(policy.deadLetterTargetArn));
    if (!target) return;
    for (let index = 0; index < queue.messages.length; ) {
      const message = queue.messages[index] as StoredMessage;
      if (!inFlight(message, now) && message.receiveCount >= policy.maxReceiveCount) {
        queue.messages.splice(index, 1);
        message.receiptHandle = undefined;
        message.invisibleUntil = 0;
        message.deadLetterSourceArn = arnOf(queue.name);
        target.messages.push(message);
      } else index += 1;
    }
  };

  const receive = (queue: Queue, limit: number, visibilitySeconds: number, now: number): StoredMessage[] => {
    redrive(queue, now);
    const blockedGroups = new Set<string>();
    const received: StoredMessage[] = [];
    for (const message of queue.messages) {
      if (received.length >= limit) break;
      const group = queue.fifo ? message.groupId : undefined;
      if (group !== undefined && blockedGroups.has(group)) continue;
      if (inFlight(message, now)) {
        /* FIFO: nothing of a group comes out while an earlier message of it is being processed. */
        if (group !== undefined) blockedGroups.add(group);
        continue;
      }
      received.push(message);
    }
    for (const message of received) {
      message.receiptHandle = randomUUID();
      message.invisibleUntil = now + visibilitySeconds * 1000;
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
    }
    return received;
  };

  const systemAttributes = (
    queue: Queue,
    message: StoredMessage,
    wanted: ReadonlySet<string>,
  ): Record<string, string> => {
    const values: Record<MessageSystemAttribute, string | undefined> = {
      ApproximateReceiveCount: String(message.receiveCount),
      ApproximateFirstReceiveTimestamp:
        message.firstReceivedAt === undefined ? undefined : String(message.firstReceivedAt),
      SentTimestamp: String(message.sentAt),
      SenderId: ACCOUNT,
      MessageGroupId: message.groupId,
      MessageDeduplicationId: queue.fifo ? message.deduplicationId : undefined,
      SequenceNumber: message.sequenceNumber,
      DeadLetterQueueSourceArn: message.deadLetterSourceArn,
    };
    const all = wanted.has("All");
    return Object.fromEntries(
      Object.entries(values).filter(([name, value]) => value !== undefined && (all || wanted.has(name))),
    ) as Record<string, string>;
  };

  const messageWithHandle = (queue: Queue, receiptHandle: unknown) => {
    if (typeof receiptHandle !== "string" || receiptHandle === "") throw missingParameter("ReceiptHandle");
    const index = queue.messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index < 0) {
      throw new AwsServiceError("ReceiptHandleIsInvalid", "The input receipt handle is invalid.");
    }
    return index;
  };

  const batchEntries = (input: Record<string, unknown>) => {
    const entries = input.Entries;
    if (!Array.isArray(entries) || entries.length === 0) {
      throw new AwsServiceError(
        "EmptyBatchRequest",
        "There should be at least one SendMessageBatchRequestEntry in the request.",
      );
    }
    if (entries.length > MAX_ENTRIES_PER_BATCH) {
      throw new AwsServiceError(
        "TooManyEntriesInBatchRequest",
        `Maximum number of entries per request are ${MAX_ENTRIES_PER_BATCH}. You have sent ${entries.length}.`,
      );
    }
    const ids = entries.map((entry) => String((entry as Record<string, unknown>).Id));
    if (new Set(ids).size !== ids.length) {
      throw new AwsServiceError(
        "BatchEntryIdsNotDistinct",
        "Two or more batch entries in the request have the same Id.",
      );
    }
    return entries as Record<string, unknown>[];
  };

  const batch = <T>(entries: Record<string, unknown>[], each: (entry: Record<string, unknown>) => T) => {
    const Successful: (T & { Id: unknown })[] = [];
    const Failed: { Id: unknown; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of entries) {
      try {
        Successful.push({ Id: entry.Id, ...each(entry) });
      } catch (error) {
        if (!(error instanceof AwsServiceError)) throw error;
        Failed.push({
          Id: entry.Id,
          SenderFault: error.statusCode < 500,
          Code: error.type,
          Message: error.message,
        });
      }
    }
    return { Successful, Failed };
  };

  for (const name of options.queueNames ?? []) createQueue(name);

  const server = await startAwsJsonServer({
    targetPrefix: "AmazonSQS",
    operations: {
      CreateQueue: (input) => {
        const name = input.QueueName;
        if (typeof name !== "string") throw missingParameter("QueueName");
        return { QueueUrl: createQueue(name, attributesInput(input)) };
      },
      GetQueueUrl: (input) => {
        const name = String(input.QueueName);
        queueNamed(name);
        return { QueueUrl: urlOf(name) };
      },
      GetQueueAttributes: (input) => {
        const queue = queueAt(input);
        const now = clock();
        const names = Array.isArray(input.AttributeNames) ? input.AttributeNames.map(String) : [];
        const visible = queue.messages.filter((message) => !inFlight(message, now)).length;
        const values: Record<string, string> = {
          ...queue.attributes,
          QueueArn: arnOf(queue.name),
          ApproximateNumberOfMessages: String(visible),
          ApproximateNumberOfMessagesNotVisible: String(queue.messages.length - visible),
          ApproximateNumberOfMessagesDelayed: "0",
          VisibilityTimeout: String(queue.visibilityTimeoutSeconds),
          FifoQueue: String(queue.fifo),
          ...(queue.fifo ? { ContentBasedDeduplication: String(queue.contentBasedDeduplication) } : {}),
        };
        if (!queue.fifo) delete values.FifoQueue;
        const all = names.includes("All");
        return {
          Attributes: Object.fromEntries(
            Object.entries(values).filter(([name]) => all || names.includes(name)),
          ),
        };
      },
      SendMessage: (input) => send(queueAt(input), input),
      SendMessageBatch: (input) => {
        const queue = queueAt(input);
        return batch(batchEntries(input), (entry) => send(queue, entry));
      },
      ReceiveMessage: (input) => {
        const queue = queueAt(input);
        const limit = Number(input.MaxNumberOfMessages ?? 1);
        if (!Number.isInteger(limit) || limit < 1 || limit > MAX_MESSAGES_PER_RECEIVE) {
          throw invalidParameter(
            "MaxNumberOfMessages",
            String(input.MaxNumberOfMessages),
            `Must be between 1 and ${MAX_MESSAGES_PER_RECEIVE}, if provided.`,
          );
        }
        const visibilitySeconds = Number(input.VisibilityTimeout ?? queue.visibilityTimeoutSeconds);
        const wanted = new Set(
          [input.AttributeNames, input.MessageSystemAttributeNames].flatMap((names) =>
            Array.isArray(names) ? names.map(String) : [],
          ),
        );
        const received = receive(queue, limit, visibilitySeconds, clock());
        return {
          Messages: received.map((message) => {
            const attributes = systemAttributes(queue, message, wanted);
            return {
              MessageId: message.messageId,
              ReceiptHandle: message.receiptHandle,
              Body: message.body,
              MD5OfBody: md5Hex(message.body),
              ...(Object.keys(attributes).length > 0 ? { Attributes: attributes } : {}),
            };
          }),
        };
      },
      DeleteMessage: (input) => {
        const queue = queueAt(input);
        queue.messages.splice(messageWithHandle(queue, input.ReceiptHandle), 1);
        return {};
      },
      DeleteMessageBatch: (input) => {
        const queue = queueAt(input);
        return batch(batchEntries(input), (entry) => {
          queue.messages.splice(messageWithHandle(queue, entry.ReceiptHandle), 1);
          return {};
        });
      },
      ChangeMessageVisibility: (input) => {
        const queue = queueAt(input);
        const message = queue.messages[messageWithHandle(queue, input.ReceiptHandle)] as StoredMessage;
        const now = clock();
        if (!inFlight(message, now)) {
          throw new AwsServiceError("MessageNotInflight", "The message referred to isn't in flight.");
        }
        const seconds = Number(input.VisibilityTimeout);
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > MAX_VISIBILITY_TIMEOUT_SECONDS) {
          throw invalidParameter(
            "VisibilityTimeout",
            String(input.VisibilityTimeout),
            `Must be between 0 and ${MAX_VISIBILITY_TIMEOUT_SECONDS}.`,
          );
        }
        message.invisibleUntil = now + seconds * 1000;
        return {};
      },
    },
  });
  baseUrl = server.url;

  return {
    url: server.url,
    calls: server.calls,
    createQueue,
    queueUrl(queueName) {
      queueNamed(queueName);
      return urlOf(queueName);
    },
    queueArn(queueName) {
      queueNamed(queueName);
      return arnOf(queueName);
    },
    bodies: (queueName) => queueNamed(queueName).messages.map((message) => message.body),
    failNext: (operation, error, times) => server.failNext(operation, error, times),
    close: () => server.close(),
  };
}

function storedMessage(
  body: string,
  sentAt: number,
  groupId: string | undefined,
  deduplicationId: string | undefined,
  sequenceNumber: string | undefined,
): StoredMessage {
  return {
    messageId: randomUUID(),
    body,
    sentAt,
    groupId,
    deduplicationId,
    sequenceNumber,
    deadLetterSourceArn: undefined,
    receiveCount: 0,
    firstReceivedAt: undefined,
    receiptHandle: undefined,
    invisibleUntil: 0,
  };
}
