import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { errorFields } from "../commons/errors.ts";
import { PublisherMetric } from "../contracts/metrics.ts";
import {
  deadLetterMessageSchema,
  type UserDeletedDetail,
  userDeletedDetailSchema,
} from "../contracts/user-deletion.ts";
import { describeIssues } from "../validation/issues.ts";
import type { DeletionPublisher } from "./event-bus.ts";
import type { PublishedMark, PublishedMarks } from "./published-marks.ts";

export interface PublisherDependencies {
  readonly publish: DeletionPublisher;
  readonly publishedMarks: PublishedMarks;
  /**
   * The longest one record can take with every AWS call timing out and retried: a record is started
   * only with this much of the invocation left, so that Lambda's timeout never cuts a PutEvents that
   * EventBridge may accept (that deletion would be published again when the message returns).
   */
  readonly recordTimeBudgetMs: number;
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** A message whose body is not a deletion: it goes back to the queue and, after its receives, to the DLQ. */
export class UnreadableMessageError extends Error {
  constructor(problems: readonly string[]) {
    super(`the message is not a user deletion: ${problems.join("; ")}`);
    this.name = "UnreadableMessageError";
  }
}

/** Too little of the invocation is left to publish safely; the message returns to the queue. */
export class OutOfTimeError extends Error {
  constructor(remainingMs: number) {
    super(`${remainingMs} ms left of the invocation, too little to publish a deletion safely`);
    this.name = "OutOfTimeError";
  }
}

/*
 * A message is a deletion's detail (from the callback) or a dead letter (the detail and the reason the
 * callback could not queue it), redriven from the dead-letter queue. A problem is reported by where
 * it is and which rule it breaks: a zod message never quotes the value, and the body is not logged
 * (a malformed message may hold anything).
 */
function readDeletion(record: SQSRecord): UserDeletedDetail {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    throw new UnreadableMessageError(["the body is not JSON"]);
  }
  const deadLetter = deadLetterMessageSchema.safeParse(body);
  if (deadLetter.success) {
    const { reason: _, ...detail } = deadLetter.data;
    return detail;
  }
  const result = userDeletedDetailSchema.safeParse(body);
  if (!result.success) {
    throw new UnreadableMessageError(describeIssues(result.error.issues, { whole: "body" }));
  }
  return result.data;
}

/**
 * The deletion publisher: takes the deletion queue's FIFO batches and puts each deletion on the bus
 * unless its published mark says it already is, then writes that mark. A message that fails returns
 * to the queue (partial batch response) together with the later messages of its message group, so a
 * user's deletions stay in order; other users' messages in the batch go on. After the queue's
 * receives a failing message moves to the dead-letter queue, from which a redrive is safe: a
 * published deletion is skipped.
 */
export function createDeletionPublisherHandler(dependencies: PublisherDependencies) {
  const { publish, publishedMarks, recordTimeBudgetMs, logger, metrics } = dependencies;
  const processor = new SqsFifoPartialProcessorAsync();
  const count = (name: (typeof PublisherMetric)[keyof typeof PublisherMetric]) =>
    metrics.addMetric(name, MetricUnit.Count, 1);

  async function publishDeletion(record: SQSRecord, context?: Context): Promise<string> {
    const remainingMs = context?.getRemainingTimeInMillis?.();
    if (remainingMs !== undefined && remainingMs < recordTimeBudgetMs) {
      logger.warn("deletion left in the queue: too little time left in this invocation", {
        messageId: record.messageId,
        remainingMs,
      });
      throw new OutOfTimeError(remainingMs);
    }

    let detail: UserDeletedDetail;
    try {
      detail = readDeletion(record);
    } catch (error) {
      logger.error("unreadable message in the deletion queue; it will end in the dead-letter queue", {
        messageId: record.messageId,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: errorFields(error),
      });
      count(PublisherMetric.UnreadableMessage);
      throw error;
    }
    const about = {
      messageId: record.messageId,
      deletionId: detail.deletionId,
      userBase: detail.userBase,
      environment: detail.environment,
      userId: detail.userId,
    };

    let mark: PublishedMark | undefined;
    try {
      mark = await publishedMarks.find(detail.deletionId);
    } catch (error) {
      logger.warn("published mark not readable; the message returns to the queue", {
        ...about,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: errorFields(error),
      });
      count(PublisherMetric.PublishFailed);
      throw error;
    }
    if (mark !== undefined) {
      logger.info("deletion already published; not published again", { ...about, eventId: mark.eventId });
      count(PublisherMetric.AlreadyPublished);
      return "already-published";
    }

    let eventId: string;
    try {
      eventId = await publish(detail);
    } catch (error) {
      logger.warn("deletion not published; the message returns to the queue", {
        ...about,
        receiveCount: record.attributes.ApproximateReceiveCount,
        error: errorFields(error),
      });
      count(PublisherMetric.PublishFailed);
      throw error;
    }

    try {
      await publishedMarks.markPublished(detail.deletionId, eventId);
    } catch (error) {
      /*
       * The event is on the bus, so failing the message would publish it again. Without its mark, only
       * a later delivery of this message (a redrive, a repeat) publishes it twice: the crash window.
       */
      logger.warn("deletion published, but its published mark was not written", {
        ...about,
        eventId,
        error: errorFields(error),
      });
    }
    logger.info("deletion published", { ...about, eventId });
    count(PublisherMetric.Published);
    return "published";
  }

  const handle = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
    processPartialResponse(event, publishDeletion, processor, { context, skipGroupOnError: true });

  return middy<SQSEvent, SQSBatchResponse>()
    .use(injectLambdaContext(logger, { resetKeys: true, logEvent: false }))
    .use(logMetrics(metrics))
    .handler(handle);
}
