import { Duration } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import * as z from "zod";
import { checkProps, durationBetween, schemaProblems } from "../construct-props.ts";
import { acknowledgeFinding } from "../nag.ts";

export interface DeadLetterQueueProps {
  /** What lands in the queue (not empty), for its acknowledgements and for whoever reads the template. */
  readonly holds: string;
  /**
   * How long a message waits for inspection and redrive (1 minute to 14 days, SQS's bounds).
   * @default Duration.days(14), SQS's maximum
   */
  readonly retentionPeriod?: Duration;
  /**
   * A FIFO queue, for the dead letters of a FIFO queue (SQS requires a FIFO queue's dead-letter queue
   * to be FIFO too). Senders then give each message a group id and a deduplication id: content-based
   * deduplication is off, so that two different messages with the same body are both kept.
   * @default false
   */
  readonly fifo?: boolean;
  /**
   * Whether another queue names this one in its redrive policy. cdk-nag's AwsSolutions pack then knows
   * it for a dead-letter queue by itself, and only the Serverless pack's finding is acknowledged.
   * @default false - Lambda, EventBridge or a function send to it directly
   */
  readonly redriveTarget?: boolean;
}

const propsSchema = z.object({
  holds: z.string({ error: "must be a string" }).min(1, "must say what lands in the queue"),
  retentionPeriod: durationBetween(Duration.minutes(1), Duration.days(14), "SQS's bounds").optional(),
  fifo: z.boolean({ error: "must be true or false" }).optional(),
  redriveTarget: z.boolean({ error: "must be true or false" }).optional(),
});

/**
 * An SQS queue that is the last stop for something that failed: encrypted (SSE-SQS), TLS only, kept
 * as long as SQS allows, standard or FIFO. It is a dead-letter queue itself, so it has none of its own.
 */
export class DeadLetterQueue extends Construct {
  readonly queue: sqs.Queue;

  constructor(scope: Construct, id: string, props: DeadLetterQueueProps) {
    checkProps("DeadLetterQueue", scope, id, schemaProblems(propsSchema, props));
    super(scope, id);
    this.queue = new sqs.Queue(this, "Queue", {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      ...(props.fifo ? { fifo: true, contentBasedDeduplication: false } : {}),
    });
    const reason = `This queue is the dead-letter queue (${props.holds}); messages wait here for inspection and redrive, and an alarm fires on the first one.`;
    if (!props.redriveTarget) acknowledgeFinding(this.queue, "AwsSolutions-SQS3", reason);
    acknowledgeFinding(this.queue, "Serverless-SQSRedrivePolicy", reason);
  }
}
