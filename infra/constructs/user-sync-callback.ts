import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as iam from "aws-cdk-lib/aws-iam";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { DEFAULT_IDEMPOTENCY_TTL_SECONDS } from "../../functions/user-sync-callback/config.ts";
import { acknowledgeFinding } from "../nag.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { HouseFunction, type HouseFunctionProps } from "./house-function.ts";

/** 40 alphanumeric characters: about 238 bits, far above the 128 an unguessable URL needs. */
const CALLBACK_SECRET_LENGTH = 40;

/** The house function's log settings (see HouseFunctionProps) apply to this construct's function. */
export interface UserSyncCallbackProps extends Pick<HouseFunctionProps, "logRetention" | "logLevel"> {
  /** The names of the finAPI clients whose callback this hosts; each gets its own path secret. */
  readonly clientNames: readonly string[];
  /** The most instances that may run at once: a cap on what a flood of requests can cost. */
  readonly reservedConcurrency: number;
  /**
   * How long a forwarded deletion is remembered, so that finAPI's copies to the other clients are
   * not forwarded again.
   * @default 604800 (7 days)
   */
  readonly idempotencyTtlSeconds?: number;
}

/**
 * The hosted user-synchronization callback: the function (reached through a CallbackIngress: the
 * handler authenticates the secret in the path), one generated path secret per client, the idempotency
 * table that forwards each deletion once, the EventBridge bus the team's consumers subscribe to, and
 * the dead-letter queue for deletions that could not be forwarded.
 */
export class UserSyncCallback extends Construct {
  readonly handler: HouseFunction;
  readonly bus: events.EventBus;
  readonly idempotencyTable: dynamodb.Table;
  readonly deadLetters: DeadLetterQueue;
  /** Each client's path secret, by client name. */
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;

  constructor(scope: Construct, id: string, props: UserSyncCallbackProps) {
    super(scope, id);
    const stack = Stack.of(this);

    const secrets = new Map<string, secretsmanager.Secret>();
    for (const name of props.clientNames) {
      const secret = new secretsmanager.Secret(this, `PathSecret-${name}`, {
        secretName: `${stack.stackName}/user-sync-callback/${name}`,
        description: `The secret path segment of finAPI client ${name}'s user-sync callback URL`,
        generateSecretString: {
          passwordLength: CALLBACK_SECRET_LENGTH,
          excludePunctuation: true,
          includeSpace: false,
        },
      });
      acknowledgeFinding(
        secret,
        "AwsSolutions-SMG4",
        "Rotated by putting a new value (put-secret-value) rather than by a rotation Lambda: the callback accepts AWSCURRENT and AWSPREVIOUS, and the next config-sync run registers the new URL with finAPI.",
      );
      secrets.set(name, secret);
    }
    this.secrets = secrets;

    this.idempotencyTable = new dynamodb.Table(this, "IdempotencyTable", {
      partitionKey: { name: "id", type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: "expiration",
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.bus = new events.EventBus(this, "Bus", {
      eventBusName: `${stack.stackName}-user-sync`,
      description: "finAPI User Deleted events, one per deleted user, for the team's consumers",
    });

    this.deadLetters = new DeadLetterQueue(this, "DeadLetters", {
      holds: "user deletions the callback could not put on the event bus",
    });

    this.handler = new HouseFunction(this, "Handler", {
      entry: "functions/user-sync-callback/handler.ts",
      description: "finAPI's user-synchronization callback: forwards each user deletion once to EventBridge",
      serviceName: "user-sync-callback",
      memorySize: 256,
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrency,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        CALLBACK_CLIENTS: stack.toJsonString(
          [...secrets].map(([name, secret]) => ({ name, secretId: secret.secretArn })),
        ),
        IDEMPOTENCY_TABLE_NAME: this.idempotencyTable.tableName,
        IDEMPOTENCY_TTL_SECONDS: String(props.idempotencyTtlSeconds ?? DEFAULT_IDEMPOTENCY_TTL_SECONDS),
        EVENT_BUS_NAME: this.bus.eventBusName,
        DEAD_LETTER_QUEUE_URL: this.deadLetters.queue.queueUrl,
      },
    });
    const fn = this.handler.function;
    acknowledgeFinding(
      fn,
      "Serverless-LambdaDLQ",
      "Invoked synchronously through its ingress only (Function URL or API Gateway), so Lambda never has an asynchronous event to dead-letter; the handler itself writes a deletion it could not forward to the DeadLetters queue.",
    );

    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [...secrets.values()].map((secret) => secret.secretArn),
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        resources: [this.idempotencyTable.tableArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["events:PutEvents"], resources: [this.bus.eventBusArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.deadLetters.queue.queueArn] }),
    );
  }
}
