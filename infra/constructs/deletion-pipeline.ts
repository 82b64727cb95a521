import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import * as z from "zod";
import { USER_DELETED_SOURCE } from "../../functions/contracts/user-deletion.ts";
import { checkProps, schemaProblems, wholeNumber } from "../construct-props.ts";
import { acknowledgeFinding } from "../nag.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import {
  functionTimeoutSchema,
  logSettingsShape,
  ObservedNodeFunction,
  type ObservedNodeFunctionProps,
} from "./observed-node-function.ts";

/** Lambda's advice for an SQS event source: a visibility timeout of at least six times the function's timeout. */
const VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT = 6;

/** ObservedNodeFunction's log settings (see ObservedNodeFunctionProps) apply to the publisher. */
export interface DeletionPipelineProps extends Pick<ObservedNodeFunctionProps, "logRetention" | "logLevel"> {
  /**
   * How often a deletion the publisher cannot put on the bus is tried before it moves to the
   * dead-letter queue (1 to 1000, SQS's bounds).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long the publisher may run on one batch (at most 15 minutes, Lambda's maximum). Each
   * message's PutEvents may take 3 × 10 s, and the publisher starts a message only with that much time
   * left.
   * @default Duration.seconds(60)
   */
  readonly publisherTimeout?: Duration;
  /**
   * The most publisher instances at once, 2 to 1000 (an SQS event source's bounds); FIFO message
   * groups are spread over them.
   * @default 5
   */
  readonly publisherConcurrency?: number;
}

/* A visibility timeout of six publisher timeouts stays within SQS's 12 hours: Lambda's 15 minutes bound it. */
const propsSchema = z.object({
  ...logSettingsShape,
  maxReceiveCount: wholeNumber(1, 1000, "SQS's bounds").optional(),
  publisherTimeout: functionTimeoutSchema.optional(),
  /* The event source's maximum concurrency is 2..1000 and must not exceed the reserved concurrency. */
  publisherConcurrency: wholeNumber(2, 1000, "an SQS event source's bounds").optional(),
});

/**
 * What carries a deletion from the callback's answer to the consumers: the deletions table (the
 * callback's deletion generations and the publisher's published marks), the SQS FIFO deletion queue the
 * callback hands each deletion to, its FIFO dead-letter queue, the publisher that puts each deletion on
 * the bus once, and the bus, on which only the publisher may put `finapi.user-sync` events.
 */
export class DeletionPipeline extends Construct {
  readonly table: dynamodb.Table;
  readonly queue: sqs.Queue;
  /** Deletions the callback could not queue, and deletions the publisher failed to publish maxReceiveCount times. */
  readonly deadLetters: DeadLetterQueue;
  readonly publisher: ObservedNodeFunction;
  readonly bus: events.EventBus;

  constructor(scope: Construct, id: string, props: DeletionPipelineProps = {}) {
    checkProps("DeletionPipeline", scope, id, schemaProblems(propsSchema, props));
    super(scope, id);
    const stack = Stack.of(this);
    const maxReceiveCount = props.maxReceiveCount ?? 5;
    const publisherTimeout = props.publisherTimeout ?? Duration.seconds(60);
    const publisherConcurrency = props.publisherConcurrency ?? 5;
    const visibilityTimeout = Duration.seconds(
      publisherTimeout.toSeconds() * VISIBILITY_TIMEOUTS_PER_FUNCTION_TIMEOUT,
    );

    this.table = new dynamodb.Table(this, "Table", {
      partitionKey: { name: "id", type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: "expiration",
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.deadLetters = new DeadLetterQueue(this, "DeadLetters", {
      holds: `user deletions the callback could not queue, or the publisher could not put on the bus in ${maxReceiveCount} tries`,
      fifo: true,
      redriveTarget: true,
    });

    this.queue = new sqs.Queue(this, "Queue", {
      fifo: true,
      /* The callback sets the deduplication id (the deletion id): equal bodies of two deletions are two messages. */
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(4),
      visibilityTimeout,
      deadLetterQueue: { queue: this.deadLetters.queue, maxReceiveCount },
    });

    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: `${stack.stackName}-user-sync`,
      description: "finAPI User Deleted events, one per deletion of a user, for the team's consumers",
    });

    this.publisher = new ObservedNodeFunction(this, "Publisher", {
      entry: "functions/deletion-publisher/handler.ts",
      description: "Puts each user deletion from the deletion queue on the event bus once",
      serviceName: "deletion-publisher",
      memorySize: 256,
      timeout: publisherTimeout,
      reservedConcurrentExecutions: publisherConcurrency,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        EVENT_BUS_NAME: this.bus.eventBusName,
        DELETIONS_TABLE_NAME: this.table.tableName,
      },
    });
    const fn = this.publisher.function;
    fn.addEventSource(
      new SqsEventSource(this.queue, {
        batchSize: 10,
        reportBatchItemFailures: true,
        /* Equal to the reserved concurrency, so that the poller never has a batch throttled (a throttled batch still counts a receive). */
        maxConcurrency: publisherConcurrency,
      }),
    );
    const mapping = fn.node.children.find((child) => child instanceof lambda.EventSourceMapping);
    if (!mapping) throw new Error("the deletion queue's event source mapping was not created");
    acknowledgeFinding(
      mapping,
      "Serverless-LambdaEventSourceMappingDestination",
      "An SQS event source mapping takes no on-failure destination: a message the publisher fails returns to the deletion queue, whose redrive policy moves it to the DeadLetters queue after its receives.",
    );
    acknowledgeFinding(
      fn,
      "Serverless-LambdaDLQ",
      "Invoked only by its SQS event source mapping, never asynchronously: a message it fails returns to the deletion queue, whose redrive policy moves it to the DeadLetters queue after its receives.",
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
        resources: [this.table.tableArn],
      }),
    );

    /*
     * Identity policies of other roles of the account may allow events:PutEvents on this bus (an
     * administrator's "events:*" does): the explicit deny in the bus's own policy wins over any allow,
     * so no principal but the publisher can forge a deletion.
     */
    this.bus.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: "OnlyThePublisherPutsUserDeletions",
        effect: iam.Effect.DENY,
        principals: [new iam.AnyPrincipal()],
        actions: ["events:PutEvents"],
        resources: [this.bus.eventBusArn],
        conditions: {
          StringEquals: { "events:source": USER_DELETED_SOURCE },
          ArnNotEquals: { "aws:PrincipalArn": this.publisher.role.roleArn },
        },
      }),
    );
  }
}
