import { readFileSync } from "node:fs";
import type {
  APIGatewayProxyEvent,
  APIGatewayProxyEventV2,
  APIGatewayProxyStructuredResultV2,
  Context,
} from "aws-lambda";
import { type DynamoDbStandIn, startDynamoDb } from "../../../local/aws/dynamodb.ts";
import {
  type EventBridgeStandIn,
  type PublishedEvent,
  startEventBridge,
} from "../../../local/aws/eventbridge.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import {
  type HostedFunction,
  lambdaContext as hostedLambdaContext,
} from "../../../local/lambda-execution.ts";

const CALLBACK_FUNCTION: HostedFunction = {
  functionName: "user-sync-callback",
  region: "eu-central-1",
  memoryMb: 256,
  logStreamPrefix: "test",
};

const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/user-sync-callback/${name}`, import.meta.url), "utf8");

export interface SecretsFixture {
  readonly acme: { readonly previous: string; readonly current: string };
  readonly globex: { readonly current: string };
  /** Wrong secrets a caller might try: near misses of acme's and globex's real one. */
  readonly guesses: readonly string[];
  /** What acme's secret is rotated to. */
  readonly rotated: string;
}

export const secrets = JSON.parse(fixture("secrets.json")) as SecretsFixture;
export const allSecrets = [
  secrets.acme.previous,
  secrets.acme.current,
  secrets.globex.current,
  secrets.rotated,
  ...secrets.guesses,
];

export const TABLE_NAME = "callback-idempotency";
export const BUS_NAME = "project-bus";
export const QUEUE_NAME = "callback-dead-letters";
export const TTL_SECONDS = 86_400;

export interface CallbackStandIns {
  readonly dynamo: DynamoDbStandIn;
  readonly eventBridge: EventBridgeStandIn;
  readonly sqs: SqsStandIn;
  readonly secretsManager: SecretsManagerStandIn;
  /** Every deletion the bus received, as its detail. */
  deletions(): Record<string, unknown>[];
  deletionsOf(userId: string): PublishedEvent[];
  /** The dead-letter queue's messages, parsed. */
  deadLetters(): Record<string, unknown>[];
  close(): Promise<void>;
}

/**
 * Starts local DynamoDB (dynalite), EventBridge, SQS and Secrets Manager with the callback's table,
 * bus, queue and secrets (acme rotated once, globex never), and points the SDK at them through
 * `AWS_ENDPOINT_URL_<SERVICE>` together with the callback's own environment.
 */
export async function startCallbackStandIns(): Promise<CallbackStandIns> {
  const [dynamo, eventBridge, sqs, secretsManager] = await Promise.all([
    startDynamoDb(),
    startEventBridge({ busNames: [BUS_NAME] }),
    startSqs({ queueNames: [QUEUE_NAME] }),
    startSecretsManager(),
  ]);
  await dynamo.createTable(TABLE_NAME);
  secretsManager.putSecret("callback/acme", secrets.acme.previous);
  secretsManager.putSecret("callback/acme", secrets.acme.current);
  secretsManager.putSecret("callback/globex", secrets.globex.current);

  Object.assign(process.env, {
    AWS_REGION: "eu-central-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
    AWS_ENDPOINT_URL_SQS: sqs.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    CALLBACK_CLIENTS: JSON.stringify([
      { name: "acme", secretId: secretsManager.arnOf("callback/acme") },
      { name: "globex", secretId: "callback/globex" },
    ]),
    IDEMPOTENCY_TABLE_NAME: TABLE_NAME,
    IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS),
    EVENT_BUS_NAME: BUS_NAME,
    DEAD_LETTER_QUEUE_URL: sqs.queueUrl(QUEUE_NAME),
    POWERTOOLS_SERVICE_NAME: "user-sync-callback",
    /* Asks Powertools to log every event, which would log the secret path: the handler must refuse. */
    POWERTOOLS_LOGGER_LOG_EVENT: "true",
  });

  return {
    dynamo,
    eventBridge,
    sqs,
    secretsManager,
    deletions: () => eventBridge.events.map((event) => event.detail),
    deletionsOf: (userId) => eventBridge.events.filter((event) => event.detail.userId === userId),
    deadLetters: () => sqs.bodies(QUEUE_NAME).map((body) => JSON.parse(body) as Record<string, unknown>),
    close: async () => {
      await Promise.all([dynamo.close(), eventBridge.close(), sqs.close(), secretsManager.close()]);
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
  return hostedLambdaContext(CALLBACK_FUNCTION, {
    requestId: crypto.randomUUID(),
    deadline: Date.now() + remainingMs,
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
