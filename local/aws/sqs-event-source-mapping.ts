import {
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";

const MAX_BATCH_SIZE = 10;

/** What an invocation of the mapped function came to (the shape of LocalLambda's and the hosts' results). */
export type MappedInvokeResult =
  | { readonly ok: true; readonly payload: unknown }
  | { readonly ok: false; readonly errorType: string; readonly errorMessage: string };

/** The function an event-source mapping invokes. */
export interface MappedFunction {
  readonly functionName: string;
  invoke(event: unknown): Promise<MappedInvokeResult>;
}

/** One batch the mapping handed to the function, and what became of its messages. */
export interface SqsBatchOutcome {
  readonly messageIds: readonly string[];
  /** Deleted from the queue: the function succeeded with them. */
  readonly deleted: readonly string[];
  /** Left in the queue: they come back after their visibility timeout (and reach a redrive policy's DLQ). */
  readonly failed: readonly string[];
  /** Why the whole batch failed, when the function failed or answered a response Lambda cannot use. */
  readonly batchError?: string;
}

export interface SqsEventSourceMappingOptions {
  /** The SQS endpoint (the stand-in's URL). */
  readonly endpoint: string;
  readonly queueUrl: string;
  /** The `eventSourceARN` each record names. */
  readonly queueArn: string;
  readonly target: MappedFunction;
  /** @default 10 */
  readonly batchSize?: number;
  /** `FunctionResponseTypes: ["ReportBatchItemFailures"]`: the function's batchItemFailures are honoured. @default false */
  readonly reportBatchItemFailures?: boolean;
  /** How long to wait after a poll that found nothing; 0: no polling of its own, `drain()` only. @default 0 */
  readonly pollIntervalMs?: number;
  /** @default "eu-central-1" */
  readonly region?: string;
  readonly onBatch?: (outcome: SqsBatchOutcome) => void;
  /** A poll that failed (SQS unreachable, say) while polling on its own; the next poll tries again. */
  readonly onPollError?: (error: unknown) => void;
}

export interface SqsEventSourceMapping {
  /** Every batch handed to the function so far, in order. */
  readonly batches: readonly SqsBatchOutcome[];
  /**
   * Polls and invokes, one batch at a time, until a receive finds no visible message. Messages whose
   * batch failed are then in flight, not visible: they come back once their visibility timeout passes
   * on the queue's clock, and the next drain hands them out again.
   */
  drain(): Promise<void>;
  /** Stops polling once the batch in progress ended. */
  close(): Promise<void>;
}

/** An SQS record of a Lambda event, as Lambda builds it. */
function recordOf(message: Message, queueArn: string, region: string) {
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    attributes: message.Attributes ?? {},
    messageAttributes: {},
    md5OfBody: message.MD5OfBody,
    eventSource: "aws:sqs",
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

/**
 * The messages Lambda leaves in the queue after an invocation, following its documented rules for
 * partial batch responses: a null or empty answer or list is a complete success; an answer that is not
 * an object, a list that is not a list, or an entry without a valid itemIdentifier of the batch is a
 * complete failure.
 */
function failedMessageIds(
  result: MappedInvokeResult,
  messageIds: readonly string[],
  reportBatchItemFailures: boolean,
): { failed: readonly string[]; batchError?: string } {
  if (!result.ok) return { failed: messageIds, batchError: `${result.errorType}: ${result.errorMessage}` };
  if (!reportBatchItemFailures || result.payload === null || result.payload === undefined)
    return { failed: [] };
  const invalid = (why: string) => ({
    failed: messageIds,
    batchError: `invalid partial batch response: ${why}`,
  });
  if (typeof result.payload !== "object" || Array.isArray(result.payload)) return invalid("not an object");
  const failures = (result.payload as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return { failed: [] };
  if (!Array.isArray(failures)) return invalid("batchItemFailures is not a list");
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = (failure as { itemIdentifier?: unknown } | null)?.itemIdentifier;
    if (typeof id !== "string" || !messageIds.includes(id)) {
      return invalid(`itemIdentifier ${JSON.stringify(id)} is no message of the batch`);
    }
    failed.add(id);
  }
  return { failed: [...failed] };
}

/**
 * Lambda's SQS event-source mapping, locally: receives up to `batchSize` messages (with their system
 * attributes), invokes the function with an SQS event, deletes what succeeded and leaves the rest to
 * the queue's visibility timeout and redrive policy. A function error fails the whole batch. It runs
 * one batch at a time (Lambda may run several at once; for a FIFO queue one per message group).
 */
export function startSqsEventSourceMapping(options: SqsEventSourceMappingOptions): SqsEventSourceMapping {
  const batchSize = options.batchSize ?? MAX_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    throw new Error(`batchSize must be 1..${MAX_BATCH_SIZE} for an SQS event source (it is ${batchSize})`);
  }
  const region = options.region ?? "eu-central-1";
  const client = new SQSClient({
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
    maxAttempts: 1,
  });
  const batches: SqsBatchOutcome[] = [];
  let closed = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  /** Handles one batch; false when the queue had no visible message. */
  const pollOnce = async (): Promise<boolean> => {
    const { Messages: messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: options.queueUrl,
        MaxNumberOfMessages: batchSize,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (messages.length === 0) return false;
    const messageIds = messages.map((message) => message.MessageId as string);
    const result = await options.target.invoke({
      Records: messages.map((message) => recordOf(message, options.queueArn, region)),
    });
    const { failed, batchError } = failedMessageIds(
      result,
      messageIds,
      options.reportBatchItemFailures ?? false,
    );
    const succeeded = messages.filter((message) => !failed.includes(message.MessageId as string));
    let deleted: string[] = [];
    if (succeeded.length > 0) {
      const answer = await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: options.queueUrl,
          Entries: succeeded.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
      deleted = (answer.Successful ?? []).map((entry) => succeeded[Number(entry.Id)]?.MessageId as string);
    }
    const outcome: SqsBatchOutcome = {
      messageIds,
      deleted,
      failed: [...failed],
      ...(batchError === undefined ? {} : { batchError }),
    };
    batches.push(outcome);
    options.onBatch?.(outcome);
    return true;
  };

  const drainNow = async () => {
    while (!closed && (await pollOnce()));
  };
  /* One poller: drain() and the timer take turns. */
  const drain = () => {
    const next = running.then(drainNow);
    running = next.catch(() => {});
    return next;
  };

  const schedule = () => {
    if (closed || !options.pollIntervalMs) return;
    timer = setTimeout(() => {
      drain()
        .catch((error: unknown) => options.onPollError?.(error))
        .finally(schedule);
    }, options.pollIntervalMs);
    timer.unref();
  };
  schedule();

  return {
    batches,
    drain,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      client.destroy();
    },
  };
}
