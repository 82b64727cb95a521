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
import * as z from "zod";
import {
  CLIENT_REGISTRY_FILE,
  type ConfiguredClient,
  clientRegistryText,
  configSyncRegistrySchema,
} from "../../functions/contracts/client-registry.ts";
import {
  CONFIG_SYNC_TIMEOUT_MS,
  PARAMETER_OPERATIONS,
  STATUS_TABLE_KEY,
} from "../../functions/contracts/config-sync.ts";
import { parameterArn, secretArn, secretPrefixArn } from "../arns.ts";
import {
  type ClientConfig,
  clientNameSchema,
  environmentSchema,
  parameterNameSchema,
  scheduleSchema,
  secretIdSchema,
} from "../config.ts";
import { checkProps, duplicates, schemaProblems, wholeNumber } from "../construct-props.ts";
import { eventPatternChars } from "../limits.ts";
import { acknowledgeFinding } from "../nag.ts";
import { EXACT_GRANTS_PER_PATH, grantedNames, parameterNameMatchers } from "../name-paths.ts";
import { DeadLetterQueue } from "./dead-letter-queue.ts";
import {
  logSettingsShape,
  ObservedNodeFunction,
  type ObservedNodeFunctionProps,
} from "./observed-node-function.ts";

/** EventBridge's limit on an event pattern's length. */
export const EVENT_PATTERN_MAX_CHARS = 2048;

export interface HostedCallback {
  /** The callback's base URL, without a trailing slash. */
  readonly baseUrl: string;
  /** The callback root secret every client's path secret is derived from (see functions/contracts/callback-path-secret.ts). */
  readonly rootSecret: secretsmanager.ISecret;
}

/** ObservedNodeFunction's log settings (see ObservedNodeFunctionProps) apply to this construct's function. */
export interface ConfigSyncProps extends Pick<ObservedNodeFunctionProps, "logRetention" | "logLevel"> {
  /** The clients to keep in sync: at least one, unique names and parameter names. */
  readonly clients: readonly ClientConfig[];
  /** An EventBridge schedule expression for the reconcile run over all clients. */
  readonly reconcileSchedule: string;
  /**
   * The callback the stack hosts, with a path secret for every client: config-sync then registers each
   * client's hosted URL as its userSynchronizationCallbackUrl, unless the client's document sets one.
   * @default - the stack hosts no callback
   */
  readonly hostedCallback?: HostedCallback;
}

const propsSchema = z.object({
  clients: z
    .array(
      z.object({
        name: clientNameSchema,
        environment: environmentSchema,
        baseUrl: z.url({ protocol: /^https$/, error: "must be an https URL" }),
        parameterName: parameterNameSchema,
        credentialsSecretId: secretIdSchema,
        mode: z.enum(["apply", "report-only"], { error: 'must be "apply" or "report-only"' }),
        callbackSecretGeneration: wholeNumber(0),
      }),
      { error: "must be an array of clients" },
    )
    .min(1, "must name at least one client"),
  reconcileSchedule: scheduleSchema,
  hostedCallback: z
    .object({
      baseUrl: z.string({ error: "must be the callback's base URL" }),
      rootSecret: z.object({}, { error: "must be a Secrets Manager secret" }),
    })
    .optional(),
  ...logSettingsShape,
});

/* Across clients, beside the schema, so that they are reported together with any other problem. */
function clientsProblems(props: ConfigSyncProps): string[] {
  if (!Array.isArray(props.clients)) return [];
  const names = props.clients.map((client) => client.name);
  return [
    ...duplicates(names).map((name) => `clients: name "${name}" is used by more than one client`),
    ...duplicates(props.clients.map((client) => String(client.parameterName).replace(/^\//, ""))).map(
      (name) => `clients: parameterName "${name}" is used by more than one client`,
    ),
  ];
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
  readonly handler: ObservedNodeFunction;
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
    checkProps("ConfigSync", scope, id, [...schemaProblems(propsSchema, props), ...clientsProblems(props)]);
    super(scope, id);
    const stack = Stack.of(this);

    this.statusTable = new dynamodb.Table(this, "StatusTable", {
      partitionKey: { name: STATUS_TABLE_KEY, type: dynamodb.AttributeType.STRING },
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

    const rootSecret = props.hostedCallback?.rootSecret;
    const clients: ConfiguredClient[] = props.clients.map((client) => ({
      name: client.name,
      environment: client.environment,
      baseUrl: client.baseUrl,
      parameterName: client.parameterName,
      credentialsSecretId: client.credentialsSecretId,
      mode: client.mode,
      ...(rootSecret ? { callbackSecretGeneration: client.callbackSecretGeneration } : {}),
    }));

    this.handler = new ObservedNodeFunction(this, "Handler", {
      entry: "functions/config-sync/handler.ts",
      description: "Makes each finAPI client's configuration match its document in Parameter Store",
      serviceName: "config-sync",
      memorySize: 256,
      /* The run's time budget (start reserve, early abort) is computed against this timeout. */
      timeout: Duration.millis(CONFIG_SYNC_TIMEOUT_MS),
      reservedConcurrentExecutions: 1,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      bundledFiles: {
        [CLIENT_REGISTRY_FILE]: clientRegistryText(configSyncRegistrySchema, { clients }),
      },
      environment: {
        STATUS_TABLE_NAME: this.statusTable.tableName,
        ...(props.hostedCallback
          ? {
              CALLBACK_BASE_URL: props.hostedCallback.baseUrl,
              CALLBACK_ROOT_SECRET_ID: props.hostedCallback.rootSecret.secretArn,
            }
          : {}),
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

    /* Exact names, or a path for the many names under it (name-paths.ts): the role's policy stays within IAM's size limit. */
    const parameters = grantedNames(props.clients.map((client) => client.parameterName));
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["ssm:GetParameters"],
        resources: [
          ...parameters.exact.map((name) => parameterArn(this, name)),
          ...parameters.paths.map((path) => parameterArn(this, `${path}*`)),
        ],
      }),
    );
    const credentials = grantedNames(
      props.clients.map((client) => client.credentialsSecretId).filter((id) => !id.startsWith("arn:")),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [
          ...props.clients
            .map((client) => client.credentialsSecretId)
            .filter((id) => id.startsWith("arn:") || credentials.exact.includes(id))
            .map((id) => secretArn(this, id)),
          ...credentials.paths.map((path) => secretPrefixArn(this, path)),
          ...(rootSecret ? [rootSecret.secretArn] : []),
        ],
      }),
    );
    /*
     * A run reads its secrets 20 a call (functions/config-sync/secret-source.ts). BatchGetSecretValue
     * has no resource type in IAM, so it is granted on `*`, alone in a policy of its own that the
     * acknowledgement covers and nothing else shares. It opens no secret by itself: Secrets Manager
     * checks GetSecretValue on each secret of the batch, granted above on exact secrets. The function
     * depends on the policy, so that a deployment's first run has it.
     */
    const batchSecretReads = new iam.Policy(this, "BatchSecretReads", {
      roles: [this.handler.role],
      statements: [
        new iam.PolicyStatement({ actions: ["secretsmanager:BatchGetSecretValue"], resources: ["*"] }),
      ],
    });
    fn.node.addDependency(batchSecretReads);
    acknowledgeFinding(
      batchSecretReads,
      "AwsSolutions-IAM5[Resource::*]",
      "secretsmanager:BatchGetSecretValue supports no resource-level permissions and must be granted on *; it is the only action of this policy, and Secrets Manager still requires secretsmanager:GetSecretValue on each secret of a batch, which the role has only on the clients' credentials and the callback root secret.",
    );
    const defaultPolicy = this.handler.role.node.findChild("DefaultPolicy");
    for (const path of parameters.paths) {
      acknowledgeFinding(
        defaultPolicy,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:<AWS::Region>:<AWS::AccountId>:parameter/${path.replace(/^\//, "")}*]`,
        `More than ${EXACT_GRANTS_PER_PATH} clients' parameters live under ${path}: one grant on the path keeps the role's policy within IAM's 10,240-character limit (config-sync reads only the parameters its client registry names).`,
      );
    }
    for (const path of credentials.paths) {
      acknowledgeFinding(
        defaultPolicy,
        `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${path}*]`,
        `More than ${EXACT_GRANTS_PER_PATH} clients' credentials live under ${path}: one grant on the path keeps the role's policy within IAM's 10,240-character limit (config-sync reads only the secrets its client registry names).`,
      );
    }
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
    // The function overwrites the clients' statuses in batches, reading only the parameter versions they hold first (functions/config-sync/status-store.ts); reading statuses is the CLI's job.
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
        resources: [this.statusTable.tableArn],
      }),
    );

    const target = new targets.LambdaFunction(fn, {
      deadLetterQueue: this.undeliveredEvents.queue,
      retryAttempts: 4,
      maxEventAge: Duration.hours(2),
    });

    /*
     * The rule matches the paths the parameters live under, not each name (name-paths.ts), so that it
     * stays within EventBridge's pattern limit; config-sync ignores a parameter of no configured client.
     */
    const eventPattern: events.EventPattern = {
      source: ["aws.ssm"],
      detailType: ["Parameter Store Change"],
      detail: {
        name: parameterNameMatchers(props.clients.map((client) => client.parameterName)),
        operation: [...PARAMETER_OPERATIONS],
      },
    };
    const patternChars = eventPatternChars(eventPattern);
    if (patternChars > EVENT_PATTERN_MAX_CHARS) {
      throw new Error(
        `ConfigSync: the Parameter Store Change rule's event pattern would be ${patternChars} characters with ${props.clients.length} clients; EventBridge's limit is ${EVENT_PATTERN_MAX_CHARS}. Put the parameters under fewer top-level paths (e.g. /finapi/<client>): the rule matches each top-level path once and each name at the root by itself.`,
      );
    }
    this.parameterChangeRule = new events.Rule(this, "ParameterChangeRule", {
      description: "A managed finAPI configuration parameter changed: sync that client",
      eventPattern,
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
