import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { PARAMETER_OPERATIONS } from "../../functions/config-sync/invocation.ts";
import { CONFIG_SYNC_TIMEOUT_MS } from "../../functions/config-sync/time-budget.ts";
import { parameterArn, secretArn } from "../arns.ts";
import type { ClientConfig } from "../config.ts";
import { acknowledgeFinding } from "../nag.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import { HouseFunction, type HouseFunctionProps } from "./house-function.ts";

/*
 * SSM treats "/name" and "name" as one parameter (one ARN), and an event names it the way it was
 * created, which may not be how the context spells it: the rule listens for both spellings.
 */
function parameterNameSpellings(name: string): string[] {
  const bare = name.replace(/^\//, "");
  return [name, name === bare ? `/${bare}` : bare];
}

export interface HostedCallback {
  /** The callback's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** Each client's path secret, by client name. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
}

/** The house function's log settings (see HouseFunctionProps) apply to this construct's function. */
export interface ConfigSyncProps extends Pick<HouseFunctionProps, "logRetention" | "logLevel"> {
  readonly clients: readonly ClientConfig[];
  /** An EventBridge schedule expression for the reconcile run over all clients. */
  readonly reconcileSchedule: string;
  /**
   * The callback the stack hosts: config-sync then registers each client's hosted URL as its
   * userSynchronizationCallbackUrl, unless the client's document sets one.
   * @default - the stack hosts no callback
   */
  readonly hostedCallback?: HostedCallback;
}

/* Lambda uses the function's own role to deliver to a destination, so sqs:SendMessage is all it needs. */
class QueueDestination implements lambda.IDestination {
  readonly queue: sqs.IQueue;

  constructor(queue: sqs.IQueue) {
    this.queue = queue;
  }

  bind(_scope: Construct, fn: lambda.IFunction): lambda.DestinationConfig {
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["sqs:SendMessage"], resources: [this.queue.queueArn] }),
    );
    return { destination: this.queue.queueArn };
  }
}

/**
 * The config-sync Lambda and what drives it: a Parameter Store Change rule for the managed
 * parameters, the reconcile schedule, the status table, and the dead-letter queues for failed
 * invocations and undeliverable events. At most one run at a time (reserved concurrency 1), so an
 * event-driven run and a scheduled run never race on the same client.
 */
export class ConfigSync extends Construct {
  readonly handler: HouseFunction;
  readonly statusTable: dynamodb.Table;
  /** Invocations that failed after Lambda's retries (the on-failure destination). */
  readonly failedInvocations: DeadLetterQueue;
  /** Events EventBridge could not deliver to the function. */
  readonly undeliveredEvents: DeadLetterQueue;
  readonly parameterChangeRule: events.Rule;
  readonly reconcileRule: events.Rule;
  /** The parameters the stack writes from repository documents, by client name. */
  readonly ownedParameters: ReadonlyMap<string, ssm.StringParameter>;

  constructor(scope: Construct, id: string, props: ConfigSyncProps) {
    super(scope, id);
    const stack = Stack.of(this);

    this.statusTable = new dynamodb.Table(this, "StatusTable", {
      partitionKey: { name: "client", type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.failedInvocations = new DeadLetterQueue(this, "FailedInvocations", {
      holds: "config-sync invocations that failed after Lambda's asynchronous retries",
    });
    this.undeliveredEvents = new DeadLetterQueue(this, "UndeliveredEvents", {
      holds: "Parameter Store Change and schedule events EventBridge could not deliver to config-sync",
    });

    const callbackSecretIds = props.hostedCallback?.secrets;
    const clients = props.clients.map((client) => ({
      name: client.name,
      environment: client.environment,
      baseUrl: client.baseUrl,
      parameterName: client.parameterName,
      credentialsSecretId: client.credentialsSecretId,
      mode: client.mode,
      ...(callbackSecretIds ? { callbackSecretId: callbackSecretIds.get(client.name)?.secretArn } : {}),
    }));

    this.handler = new HouseFunction(this, "Handler", {
      entry: "functions/config-sync/handler.ts",
      description: "Makes each finAPI client's configuration match its document in Parameter Store",
      serviceName: "config-sync",
      memorySize: 256,
      /* The run's time budget (start reserve, early abort) is computed against this timeout. */
      timeout: Duration.millis(CONFIG_SYNC_TIMEOUT_MS),
      reservedConcurrentExecutions: 1,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      environment: {
        FINAPI_CLIENTS: stack.toJsonString(clients),
        STATUS_TABLE_NAME: this.statusTable.tableName,
        ...(props.hostedCallback ? { CALLBACK_BASE_URL: props.hostedCallback.baseUrl } : {}),
      },
      onFailure: new QueueDestination(this.failedInvocations.queue),
      retryAttempts: 2,
      maxEventAge: Duration.hours(1),
    });
    const fn = this.handler.function;
    acknowledgeFinding(
      fn,
      "Serverless-LambdaDLQ",
      "Failed asynchronous invocations go to the on-failure destination (the FailedInvocations queue), which also records the error; a DeadLetterConfig would deliver the same event twice.",
    );

    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["ssm:GetParameters"],
        resources: props.clients.map((client) => parameterArn(this, client.parameterName)),
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [
          ...props.clients.map((client) => secretArn(this, client.credentialsSecretId)),
          ...[...(callbackSecretIds?.values() ?? [])].map((secret) => secret.secretArn),
        ],
      }),
    );
    const decrypt = (keyArns: readonly (string | undefined)[], service: string) => {
      const resources = [...new Set(keyArns.filter((arn): arn is string => arn !== undefined))];
      if (resources.length === 0) return;
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["kms:Decrypt"],
          resources,
          conditions: { StringEquals: { "kms:ViaService": `${service}.${stack.region}.amazonaws.com` } },
        }),
      );
    };
    decrypt(
      props.clients.map((client) => client.parameterKeyArn),
      "ssm",
    );
    decrypt(
      props.clients.map((client) => client.credentialsKeyArn),
      "secretsmanager",
    );
    // The function only overwrites each client's status (status-store.ts); reading it is the CLI's job.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["dynamodb:PutItem"], resources: [this.statusTable.tableArn] }),
    );

    const target = new targets.LambdaFunction(fn, {
      deadLetterQueue: this.undeliveredEvents.queue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });

    this.parameterChangeRule = new events.Rule(this, "ParameterChangeRule", {
      description: "A managed finAPI configuration parameter changed: sync that client",
      eventPattern: {
        source: ["aws.ssm"],
        detailType: ["Parameter Store Change"],
        detail: {
          name: props.clients.flatMap((client) => parameterNameSpellings(client.parameterName)),
          operation: [...PARAMETER_OPERATIONS],
        },
      },
      targets: [target],
    });

    this.reconcileRule = new events.Rule(this, "ReconcileRule", {
      description: "Reconcile every finAPI client with its document, catching drift and missed events",
      schedule: events.Schedule.expression(props.reconcileSchedule),
      targets: [target],
    });

    const owned = new Map<string, ssm.StringParameter>();
    for (const client of props.clients) {
      if (!client.ownedDocument) continue;
      const parameter = new ssm.StringParameter(this, `Document-${client.name}`, {
        parameterName: client.parameterName,
        stringValue: client.ownedDocument.value,
        description: `finAPI client configuration of ${client.name}, from ${client.ownedDocument.path} (written by cdk deploy)`,
        tier: ssm.ParameterTier.STANDARD,
      });
      // Written once the rule, the function and its permissions exist, so its Create event syncs at once.
      parameter.node.addDependency(this.parameterChangeRule, this.handler);
      owned.set(client.name, parameter);
    }
    this.ownedParameters = owned;
  }
}
