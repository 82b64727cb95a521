import { readFileSync } from "node:fs";
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { type DynamoDbStandIn, startDynamoDb } from "../../../local/aws/dynamodb.ts";
import type { AwsJsonCall } from "../../../local/aws/json-protocol-server.ts";
import { type KmsStandIn, startKms } from "../../../local/aws/kms.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import { lambdaContext as hostedLambdaContext } from "../../../local/lambda-context.ts";
import { clientRegistryFile } from "../../support/client-registry.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/user-sync-callback/${name}`, import.meta.url), "utf8");

/**
 * The callback root secret's two versions and, as known answers of the derivation (generation 0
 * unless named), each client's path secret under each of them.
 */
export interface SecretsFixture {
  readonly root: { readonly previous: string; readonly current: string };
  /** What the root secret is rotated to. */
  readonly rotatedRoot: string;
  readonly acme: { readonly previous: string; readonly current: string; readonly generation1: string };
  readonly globex: { readonly previous: string; readonly current: string };
  readonly umbrella: { readonly previous: string; readonly current: string };
  readonly acmeSandbox: { readonly previous: string; readonly current: string };
  /** Wrong secrets a caller might try on acme's path: near misses of its real one, and globex's. */
  readonly guesses: readonly string[];
  /** acme's path secret under the rotated root. */
  readonly rotated: string;
}

export const secrets = JSON.parse(fixture("secrets.json")) as SecretsFixture;
export const allSecrets = [
  secrets.root.previous,
  secrets.root.current,
  secrets.rotatedRoot,
  secrets.acme.generation1,
  secrets.globex.previous,
  secrets.umbrella.previous,
  secrets.acmeSandbox.previous,
  secrets.acme.previous,
  secrets.acme.current,
  secrets.globex.current,
  secrets.umbrella.current,
  secrets.acmeSandbox.current,
  secrets.rotated,
  ...secrets.guesses,
];

export const TABLE_NAME = "callback-deletions";
export const DELETION_QUEUE_NAME = "user-deletions.fifo";
export const DEAD_LETTER_QUEUE_NAME = "user-deletion-dead-letters.fifo";
export const FAN_OUT_WINDOW_SECONDS = 3_600;
/** The callback root secret's name in the Secrets Manager stand-in. */
export const ROOT_SECRET_NAME = "callback/root";

/**
 * The deployment's clients: three of the live user base, one of the sandbox user base (so that user
 * ids overlap between user bases as they do between finAPI's environments).
 */
export const LIVE_CLIENTS = ["acme", "globex", "umbrella"] as const;
export const SANDBOX_CLIENT = "acme-sandbox";

/** A SendMessage call a delivery made, answered or failed. */
export interface SendCall {
  readonly queueName: string;
  readonly body: Record<string, unknown>;
  readonly groupId: unknown;
  readonly deduplicationId: unknown;
}

export interface CallbackStandIns {
  readonly dynamo: DynamoDbStandIn;
  readonly sqs: SqsStandIn;
  readonly secretsManager: SecretsManagerStandIn;
  /** Holds the HMAC key of the kept secret digests (SECRET_DIGEST_KEY_ID). */
  readonly kms: KmsStandIn;
  /** Every SendMessage call to either queue, in order, failed ones and copies of one deletion included. */
  sendCalls(): SendCall[];
  /** Every message the deletion queue took, in order, copies of one deletion included. */
  enqueued(): Record<string, unknown>[];
  /**
   * The deletions in the deletion queue in the FIFO sense: one per deletion id, the deduplication id
   * (a copy sent within SQS's deduplication interval is dropped), as the message body (the detail).
   */
  deletions(): Record<string, unknown>[];
  deletionsOf(userId: string, userBase?: string): Record<string, unknown>[];
  /** The dead-letter queue's messages, parsed. */
  deadLetters(): Record<string, unknown>[];
  close(): Promise<void>;
}

const sendCallsIn = (calls: readonly AwsJsonCall[]): SendCall[] =>
  calls
    .filter((call) => call.operation === "SendMessage")
    .map((call) => ({
      queueName: String(call.input.QueueUrl).split("/").at(-1) ?? "",
      body: JSON.parse(String(call.input.MessageBody)) as Record<string, unknown>,
      groupId: call.input.MessageGroupId,
      deduplicationId: call.input.MessageDeduplicationId,
    }));
const parsedBodies = (sqs: SqsStandIn, queueName: string) =>
  sqs.bodies(queueName).map((body) => JSON.parse(body) as Record<string, unknown>);

/**
 * Starts local DynamoDB (dynalite), SQS and Secrets Manager with the callback's table, queues and
 * root secret (rotated once, so every client has a previous path secret), and points the SDK at them through
 * `AWS_ENDPOINT_URL_<SERVICE>` together with the callback's own environment.
 */
export async function startCallbackStandIns(): Promise<CallbackStandIns> {
  const [dynamo, sqs, secretsManager, kms] = await Promise.all([
    startDynamoDb(),
    startSqs(),
    startSecretsManager(),
    startKms(),
  ]);
  await dynamo.createTable(TABLE_NAME);
  for (const name of [DELETION_QUEUE_NAME, DEAD_LETTER_QUEUE_NAME])
    sqs.createQueue(name, { FifoQueue: "true" });
  secretsManager.putSecret(ROOT_SECRET_NAME, secrets.root.previous);
  secretsManager.putSecret(ROOT_SECRET_NAME, secrets.root.current);

  const environment = {
    AWS_REGION: "eu-central-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_KMS: kms.url,
    SECRET_DIGEST_KEY_ID: kms.createHmacKey(),
    CALLBACK_ROOT_SECRET_ID: secretsManager.arnOf(ROOT_SECRET_NAME),
    CLIENT_REGISTRY_PATH: clientRegistryFile({
      clients: [
        { name: "acme", callbackSecretGeneration: 0, userBase: "live", environment: "live" },
        /* The generation left out: 0. */
        { name: "globex", userBase: "live", environment: "live" },
        { name: "umbrella", callbackSecretGeneration: 0, userBase: "live", environment: "live" },
        { name: SANDBOX_CLIENT, userBase: "sandbox", environment: "sandbox" },
      ],
    }),
    DELETIONS_TABLE_NAME: TABLE_NAME,
    DELETION_QUEUE_URL: sqs.queueUrl(DELETION_QUEUE_NAME),
    DEAD_LETTER_QUEUE_URL: sqs.queueUrl(DEAD_LETTER_QUEUE_NAME),
    FAN_OUT_WINDOW_SECONDS: String(FAN_OUT_WINDOW_SECONDS),
    POWERTOOLS_SERVICE_NAME: "user-sync-callback",
    /* Asks Powertools to log every event, which would log the secret path: the handler must refuse. */
    POWERTOOLS_LOGGER_LOG_EVENT: "true",
  };
  /* Test files may share a process (vitest's isolate: false): the next file gets the environment back. */
  const previousEnvironment = Object.fromEntries(
    Object.keys(environment).map((name) => [name, process.env[name]]),
  );
  Object.assign(process.env, environment);

  const enqueued = () => parsedBodies(sqs, DELETION_QUEUE_NAME);
  const deletions = () => {
    const seen = new Set<unknown>();
    return enqueued().filter((detail) => !seen.has(detail.deletionId) && seen.add(detail.deletionId));
  };
  return {
    dynamo,
    sqs,
    secretsManager,
    kms,
    sendCalls: () => sendCallsIn(sqs.calls),
    enqueued,
    deletions,
    deletionsOf: (userId, userBase = "live") =>
      deletions().filter((detail) => detail.userId === userId && detail.userBase === userBase),
    deadLetters: () => parsedBodies(sqs, DEAD_LETTER_QUEUE_NAME),
    close: async () => {
      for (const [name, value] of Object.entries(previousEnvironment)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await Promise.all([dynamo.close(), sqs.close(), secretsManager.close(), kms.close()]);
    },
  };
}

export interface CallbackRequest {
  readonly path?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | undefined;
  readonly isBase64Encoded?: boolean;
}

export const pathOf = (client: string, secret: string) => `/user-sync/${client}/${secret}`;

/** Each configured client's path with its current secret. */
export const currentPathOf = {
  acme: pathOf("acme", secrets.acme.current),
  globex: pathOf("globex", secrets.globex.current),
  umbrella: pathOf("umbrella", secrets.umbrella.current),
  [SANDBOX_CLIENT]: pathOf(SANDBOX_CLIENT, secrets.acmeSandbox.current),
} as const;

/** A deletion of `userId` delivered through `client`'s callback URL. */
export const deliveryThrough = (client: keyof typeof currentPathOf, userId: string): CallbackRequest => ({
  path: currentPathOf[client],
  body: deletionBody(userId),
});
export const deletionBody = (userId: string, event = "DELETED") => JSON.stringify({ userId, event });

/** The ingresses whose events the callback accepts: a Function URL and an API Gateway REST API. */
export const INGRESSES = ["function-url", "rest-api"] as const;
export type Ingress = (typeof INGRESSES)[number];

/** A Lambda Function URL event as finAPI's POST produces it (the fixture), with the given parts replaced. */
export function callbackEvent(request: CallbackRequest = {}): APIGatewayProxyEventV2 {
  const event = JSON.parse(fixture("function-url-event.json")) as APIGatewayProxyEventV2;
  const path = request.path ?? pathOf("acme", secrets.acme.current);
  event.rawPath = path;
  event.requestContext.http.path = path;
  event.requestContext.http.method = request.method ?? "POST";
  if (request.headers) event.headers = request.headers;
  event.body = "body" in request ? request.body : deletionBody("user-1");
  event.isBase64Encoded = request.isBase64Encoded ?? false;
  return event;
}

/**
 * An API Gateway REST API proxy event (the fixture, stage "prod") for the same request: the stage is in
 * requestContext.path only, headers come single- and multi-valued, and an absent body is null.
 */
export function restApiEvent(request: CallbackRequest = {}): APIGatewayProxyEvent {
  const event = JSON.parse(fixture("rest-api-event.json")) as APIGatewayProxyEvent;
  const path = request.path ?? pathOf("acme", secrets.acme.current);
  const method = request.method ?? "POST";
  event.path = path;
  event.httpMethod = method;
  event.requestContext.path = `/${event.requestContext.stage}${path}`;
  event.requestContext.httpMethod = method;
  if (request.headers) {
    event.headers = request.headers;
    event.multiValueHeaders = Object.fromEntries(
      Object.entries(request.headers).map(([name, value]) => [name, [value]]),
    );
  }
  const body = "body" in request ? request.body : deletionBody("user-1");
  event.body = body ?? null;
  event.isBase64Encoded = request.isBase64Encoded ?? false;
  return event;
}

/** The event `ingress` delivers for the request. */
export const eventThrough = (ingress: Ingress, request: CallbackRequest = {}) =>
  ingress === "function-url" ? callbackEvent(request) : restApiEvent(request);

/** The context of an invocation with `remainingMs` left, as the callback's Lambda environment gives it. */
export function lambdaContext(remainingMs = 30_000): Context {
  const deadline = Date.now() + remainingMs;
  return hostedLambdaContext({
    functionName: "user-sync-callback",
    remainingMs: () => Math.max(0, deadline - Date.now()),
  });
}

export type CallbackHandler = (
  event: APIGatewayProxyEventV2 | APIGatewayProxyEvent,
  context: Context,
) => Promise<unknown>;

/** Invokes the handler as Lambda would, through the Function URL unless told otherwise, and returns its HTTP answer. */
export async function invoke(
  handler: CallbackHandler,
  request: CallbackRequest = {},
  ingress: Ingress = "function-url",
): Promise<APIGatewayProxyStructuredResultV2> {
  return (await handler(
    eventThrough(ingress, request),
    lambdaContext(),
  )) as APIGatewayProxyStructuredResultV2;
}
