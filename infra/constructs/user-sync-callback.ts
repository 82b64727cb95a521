import { Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { CallbackClient } from "../../functions/contracts/callback-environment.ts";
import {
  CLIENT_REGISTRY_FILE,
  callbackRegistrySchema,
  clientRegistryText,
} from "../../functions/contracts/client-registry.ts";
import {
  DEFAULT_FAN_OUT_WINDOW_SECONDS,
  MIN_FAN_OUT_WINDOW_SECONDS,
} from "../../functions/contracts/user-deletion.ts";
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  MAX_ROTATION_OVERLAP_SECONDS,
} from "../../functions/user-sync-callback/config.ts";
import { acknowledgeFinding } from "../nag.ts";
import { DeletionPipeline } from "./deletion-pipeline.ts";
import { HouseFunction, type HouseFunctionProps } from "./house-function.ts";

/** 40 alphanumeric characters: about 238 bits, far above the 128 an unguessable URL needs. */
const CALLBACK_SECRET_LENGTH = 40;

/** A finAPI client whose callback the construct hosts. */
export type HostedCallbackClient = Omit<CallbackClient, "secretId">;

/** The house function's log settings (see HouseFunctionProps) apply to this construct's functions. */
export interface UserSyncCallbackProps extends Pick<HouseFunctionProps, "logRetention" | "logLevel"> {
  /**
   * The finAPI clients whose callback this hosts, each with its user base and environment; each gets
   * its own path secret. A user base's clients share one environment.
   */
  readonly clients: readonly HostedCallbackClient[];
  /** The most instances that may run at once: a cap on what a flood of requests can cost. */
  readonly reservedConcurrency: number;
  /**
   * How long after a deletion's first delivery finAPI's copies of it through the user base's other
   * clients are taken as that deletion (not forwarded again); at least 60.
   * @default 3600
   */
  readonly fanOutWindowSeconds?: number;
  /**
   * How long after a path secret's current version was created its previous version is still
   * accepted (finAPI holds the old URL until config-sync registers the new one); at most 7 days.
   * @default Duration.hours(24)
   */
  readonly secretRotationOverlap?: Duration;
}

function checkProps(props: UserSyncCallbackProps): void {
  const problems: string[] = [];
  if (props.clients.length === 0) problems.push("clients must name at least one client");
  const names = props.clients.map((client) => client.name);
  if (new Set(names).size !== names.length) problems.push("clients must have unique names");
  for (const userBase of new Set(props.clients.map((client) => client.userBase))) {
    const environments = new Set(
      props.clients.filter((client) => client.userBase === userBase).map((client) => client.environment),
    );
    if (environments.size > 1)
      problems.push(`user base ${userBase} has clients of more than one environment`);
  }
  const window = props.fanOutWindowSeconds;
  if (window !== undefined && (!Number.isInteger(window) || window < MIN_FAN_OUT_WINDOW_SECONDS)) {
    problems.push(
      `fanOutWindowSeconds must be a whole number of at least ${MIN_FAN_OUT_WINDOW_SECONDS}, not ${window}`,
    );
  }
  const overlapSeconds = props.secretRotationOverlap?.toSeconds();
  if (overlapSeconds !== undefined && overlapSeconds > MAX_ROTATION_OVERLAP_SECONDS) {
    problems.push(
      `secretRotationOverlap must be at most ${MAX_ROTATION_OVERLAP_SECONDS} seconds (7 days), not ${overlapSeconds}`,
    );
  }
  if (problems.length > 0) throw new Error(`UserSyncCallback: ${problems.join("; ")}`);
}

/**
 * The hosted user-synchronization callback: the function (reached through a CallbackIngress: the
 * handler authenticates the secret in the path), one generated path secret per client, and the
 * deletion pipeline (see DeletionPipeline) it hands each deletion to: the deletions table that decides
 * deletion generations, the FIFO deletion queue and its dead-letter queue, the publisher and the bus
 * the team's consumers subscribe to.
 */
export class UserSyncCallback extends Construct {
  readonly handler: HouseFunction;
  readonly deletions: DeletionPipeline;
  /** Each client's path secret, by client name. */
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** Each client's path secret name, by client name: how the client registry names it. */
  readonly secretNames: ReadonlyMap<string, string>;

  /** The HMAC key the function derives the key of its kept secret digests from (kms:GenerateMac only). */
  readonly digestKey: kms.Key;

  constructor(scope: Construct, id: string, props: UserSyncCallbackProps) {
    super(scope, id);
    checkProps(props);
    const stack = Stack.of(this);
    const overlapSeconds = props.secretRotationOverlap?.toSeconds() ?? DEFAULT_ROTATION_OVERLAP_SECONDS;

    const secrets = new Map<string, secretsmanager.Secret>();
    const secretNames = new Map<string, string>();
    const clientEntries: CallbackClient[] = [];
    for (const { name, userBase, environment } of props.clients) {
      const secretName = `${stack.stackName}/user-sync-callback/${name}`;
      const secret = new secretsmanager.Secret(this, `PathSecret-${name}`, {
        secretName,
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
        "Rotated by putting a new value (put-secret-value) rather than by a rotation Lambda: the callback accepts AWSCURRENT, and AWSPREVIOUS only for the rotation overlap, and the next config-sync run registers the new URL with finAPI.",
      );
      secrets.set(name, secret);
      secretNames.set(name, secretName);
      clientEntries.push({ name, secretId: secretName, userBase, environment });
    }
    this.secrets = secrets;
    this.secretNames = secretNames;

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

    this.handler = new HouseFunction(this, "Handler", {
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
        resources: [...secrets.values()].map((secret) => secret.secretArn),
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
