import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import * as z from "zod";
import type { CallbackClient } from "../../functions/contracts/callback-environment.ts";
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  MAX_ROTATION_OVERLAP_SECONDS,
} from "../../functions/contracts/callback-secret.ts";
import {
  CLIENT_REGISTRY_FILE,
  callbackRegistrySchema,
  clientRegistryText,
} from "../../functions/contracts/client-registry.ts";
import {
  DEFAULT_FAN_OUT_WINDOW_SECONDS,
  MIN_FAN_OUT_WINDOW_SECONDS,
} from "../../functions/contracts/user-deletion.ts";
import { clientNameSchema, environmentSchema, userBaseSchema } from "../config.ts";
import { checkProps, duplicates, durationBetween, schemaProblems, wholeNumber } from "../construct-props.ts";
import { acknowledgeFinding } from "../nag.ts";
import { DeletionPipeline } from "./deletion-pipeline.ts";
import {
  logSettingsShape,
  ObservedNodeFunction,
  type ObservedNodeFunctionProps,
} from "./observed-node-function.ts";

/** 64 alphanumeric characters: about 381 bits; every client's 256-bit path secret is derived from it. */
const CALLBACK_ROOT_SECRET_LENGTH = 64;

/** A finAPI client whose callback the construct hosts. */
export type HostedCallbackClient = Omit<CallbackClient, "callbackSecretGeneration"> & {
  /**
   * The generation of the client's path secret: bumping it revokes this client's URL alone.
   * @default 0
   */
  readonly callbackSecretGeneration?: number;
};

/** ObservedNodeFunction's log settings (see ObservedNodeFunctionProps) apply to this construct's functions. */
export interface UserSyncCallbackProps extends Pick<ObservedNodeFunctionProps, "logRetention" | "logLevel"> {
  /**
   * The finAPI clients whose callback this hosts, each with its user base and environment; each gets
   * its own path secret, derived from the one root secret and the client's generation. A user base's
   * clients share one environment.
   */
  readonly clients: readonly HostedCallbackClient[];
  /** The most instances that may run at once (1 to 1000): a cap on what a flood of requests can cost. */
  readonly reservedConcurrency: number;
  /**
   * How long after a deletion's first delivery finAPI's copies of it through the user base's other
   * clients are taken as that deletion (not forwarded again); at least 60.
   * @default 3600
   */
  readonly fanOutWindowSeconds?: number;
  /**
   * How long after the root secret's current version was created its previous version (and so each
   * client's previous path secret) is still accepted (finAPI holds the old URL until config-sync
   * registers the new one); at most 7 days.
   * @default Duration.hours(24)
   */
  readonly secretRotationOverlap?: Duration;
}

const propsSchema = z.object({
  clients: z
    .array(
      z.object({
        name: clientNameSchema,
        userBase: userBaseSchema,
        environment: environmentSchema,
        callbackSecretGeneration: wholeNumber(0).optional(),
      }),
      { error: "must be an array of clients" },
    )
    .min(1, "must name at least one client"),
  reservedConcurrency: wholeNumber(1, 1000),
  fanOutWindowSeconds: wholeNumber(
    MIN_FAN_OUT_WINDOW_SECONDS,
    Number.MAX_SAFE_INTEGER,
    "finAPI's copies of one deletion to a user base's clients arrive within it",
  ).optional(),
  secretRotationOverlap: durationBetween(
    Duration.seconds(0),
    Duration.seconds(MAX_ROTATION_OVERLAP_SECONDS),
    "a leaked URL must stop working within a week",
  ).optional(),
  ...logSettingsShape,
});

/* Across clients, beside the schema, so that they are reported together with any other problem. */
function clientsProblems(clients: unknown): string[] {
  if (!Array.isArray(clients)) return [];
  const valid = clients.filter(
    (client): client is HostedCallbackClient =>
      typeof client?.name === "string" && typeof client.userBase === "string",
  );
  const problems = duplicates(valid.map((client) => client.name)).map(
    (name) => `clients: name "${name}" is used by more than one client`,
  );
  for (const userBase of new Set(valid.map((client) => client.userBase))) {
    const members = valid.filter((client) => client.userBase === userBase);
    const environments = [...new Set(members.map((client) => client.environment))];
    if (environments.length > 1) {
      problems.push(
        `clients: user base "${userBase}" has clients of ${environments.length} environments (${members
          .map((client) => `${client.name}: ${client.environment}`)
          .join(", ")}); a user base lives in one finAPI environment`,
      );
    }
  }
  return problems;
}

/**
 * The hosted user-synchronization callback: the function (reached through a CallbackIngress: the
 * handler authenticates the secret in the path), one generated root secret that every client's path
 * secret is derived from (HMAC-SHA256 over the client's name and generation), and the
 * deletion pipeline (see DeletionPipeline) it hands each deletion to: the deletions table that decides
 * deletion generations, the FIFO deletion queue and its dead-letter queue, the publisher and the bus
 * the team's consumers subscribe to.
 */
export class UserSyncCallback extends Construct {
  readonly handler: ObservedNodeFunction;
  readonly deletions: DeletionPipeline;
  /** The root secret every client's path secret is derived from: rotating it rotates every URL. */
  readonly rootSecret: secretsmanager.Secret;

  /** The HMAC key the function derives the key of its kept secret digests from (kms:GenerateMac only). */
  readonly digestKey: kms.Key;

  constructor(scope: Construct, id: string, props: UserSyncCallbackProps) {
    checkProps("UserSyncCallback", scope, id, [
      ...schemaProblems(propsSchema, props),
      ...clientsProblems(props.clients),
    ]);
    super(scope, id);
    const stack = Stack.of(this);
    const overlapSeconds = props.secretRotationOverlap?.toSeconds() ?? DEFAULT_ROTATION_OVERLAP_SECONDS;

    this.rootSecret = new secretsmanager.Secret(this, "CallbackRootSecret", {
      secretName: `${stack.stackName}/user-sync-callback/root`,
      description:
        "The root secret every finAPI client's user-sync callback path secret is derived from (rotating it changes every callback URL)",
      generateSecretString: {
        passwordLength: CALLBACK_ROOT_SECRET_LENGTH,
        excludePunctuation: true,
        includeSpace: false,
      },
    });
    acknowledgeFinding(
      this.rootSecret,
      "AwsSolutions-SMG4",
      "Rotated by putting a new value (put-secret-value) rather than by a rotation Lambda: the callback accepts path secrets derived from AWSCURRENT, and from AWSPREVIOUS only for the rotation overlap, and the next config-sync run registers every client's new URL with finAPI.",
    );
    const clientEntries: CallbackClient[] = props.clients.map((client) => ({
      name: client.name,
      callbackSecretGeneration: client.callbackSecretGeneration ?? 0,
      userBase: client.userBase,
      environment: client.environment,
    }));

    /*
     * A reader of the table must not be able to test guesses against the kept digests: they are keyed
     * with a key derived from this one, whose material never leaves KMS. Not a Secrets Manager secret:
     * the digests are for Secrets Manager outages, which would take that secret with them.
     */
    this.digestKey = new kms.Key(this, "SecretDigestKey", {
      description:
        "Derives the key of the user-sync callback's kept secret digests (GenerateMac over a fixed message)",
      keySpec: kms.KeySpec.HMAC_256,
      keyUsage: kms.KeyUsage.GENERATE_VERIFY_MAC,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });

    this.deletions = new DeletionPipeline(this, "Deletions", {
      logRetention: props.logRetention,
      logLevel: props.logLevel,
    });
    const { table, queue, deadLetters } = this.deletions;

    this.handler = new ObservedNodeFunction(this, "Handler", {
      entry: "functions/user-sync-callback/handler.ts",
      description: "finAPI's user-synchronization callback: hands each user deletion to the deletion queue",
      serviceName: "user-sync-callback",
      memorySize: 256,
      timeout: Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrency,
      logRetention: props.logRetention,
      logLevel: props.logLevel,
      bundledFiles: {
        [CLIENT_REGISTRY_FILE]: clientRegistryText(callbackRegistrySchema, { clients: clientEntries }),
      },
      environment: {
        CALLBACK_ROOT_SECRET_ID: this.rootSecret.secretArn,
        DELETIONS_TABLE_NAME: table.tableName,
        DELETION_QUEUE_URL: queue.queueUrl,
        DEAD_LETTER_QUEUE_URL: deadLetters.queue.queueUrl,
        FAN_OUT_WINDOW_SECONDS: String(props.fanOutWindowSeconds ?? DEFAULT_FAN_OUT_WINDOW_SECONDS),
        SECRET_ROTATION_OVERLAP_SECONDS: String(overlapSeconds),
        SECRET_DIGEST_KEY_ID: this.digestKey.keyArn,
      },
    });
    const fn = this.handler.function;
    acknowledgeFinding(
      fn,
      "Serverless-LambdaDLQ",
      "Invoked synchronously through its ingress only (Function URL or API Gateway), so Lambda never has an asynchronous event to dead-letter; the handler itself writes a deletion it could not queue to the deletions' DeadLetters queue.",
    );

    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["secretsmanager:GetSecretValue"],
        resources: [this.rootSecret.secretArn],
      }),
    );
    /* Deletion generations (Get/Put/Update) and kept secret digests (Get/Put, Delete when a secret is revoked). */
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
        resources: [table.tableArn],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ["kms:GenerateMac"], resources: [this.digestKey.keyArn] }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ["sqs:SendMessage"],
        resources: [queue.queueArn, deadLetters.queue.queueArn],
      }),
    );
  }
}
