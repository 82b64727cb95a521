import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { type FinapiEmulator, startFinapiEmulator } from "../../../emulator/index.ts";
import { derivePathSecret } from "../../../functions/contracts/callback-path-secret.ts";
import {
  CLIENT_REGISTRY_FILE,
  CLIENT_REGISTRY_PATH_VARIABLE,
} from "../../../functions/contracts/client-registry.ts";
import { REPOSITORY_ROOT } from "../../../infra/constructs/observed-node-function.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../../local/aws/dynamodb.ts";
import { type EventBridgeStandIn, startEventBridge } from "../../../local/aws/eventbridge.ts";
import { startKms } from "../../../local/aws/kms.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import type { SqsEventSourceMapping } from "../../../local/aws/sqs-event-source-mapping.ts";
import { type SsmStandIn, startSsm } from "../../../local/aws/ssm.ts";
import { hostLambda, type LocalLambda, type LogLineSource } from "../../../local/lambda-runtime.ts";
import { type FaultProxy, startFaultProxy } from "./fault-proxy.ts";
import {
  createIamAuthority,
  governedFunctions,
  type IamAuthority,
  type IamGate,
  LOCAL_ACCOUNT,
  policyValues,
  startIamGate,
} from "./iam-enforcement.ts";
import {
  createStandInResources,
  physicalValues,
  queueEventSourcesOf,
  type SynthesizedStack,
  startQueueEventSources,
} from "./synthesized-stack.ts";

const REGION = "eu-central-1";
/** What the Function URL resolves to: finAPI is told this URL; the harness invokes the callback directly. */
export const FUNCTION_URL = "https://reliability0.lambda-url.eu-central-1.on.aws/";
const FINAPI_SANDBOX = "https://sandbox.finapi.io";
const FINAPI_LIVE = "https://live.finapi.io";
export const MANAGED_FIELDS = [
  "userNotificationCallbackUrl",
  "userSynchronizationCallbackUrl",
  "refreshTokensValidityPeriod",
  "userAccessTokensValidityPeriod",
  "clientAccessTokensValidityPeriod",
] as const;

/** A desired-state document: some of the five managed fields. */
export type DesiredDocument = Partial<Record<(typeof MANAGED_FIELDS)[number], string | number>>;

interface ConfiguredClientEntry {
  readonly name: string;
  readonly parameterName: string;
  readonly credentialsSecretId: string;
  readonly callbackSecretGeneration?: number;
  readonly [key: string]: unknown;
}

/** A finAPI client of the deployment, with everything a test needs to drive and check it. */
export interface DeployedClient {
  readonly name: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly parameterName: string;
  /** The path secret of its hosted callback URL, when the stack hosts one for it. */
  readonly callbackSecret: string | undefined;
  /** The finAPI user base its callback delivers deletions of (the client's `userBase`, by default its environment). */
  readonly userBase: string;
  /** Its finAPI environment: sandbox, live or alpha. */
  readonly environment: string;
}

export interface DeploymentOptions {
  /** Added to every finAPI answer. @default 0 */
  readonly finapiLatencyMs?: number;
  /**
   * Reconcile this many clients instead of the template's: each a copy of the first configured client
   * with its own parameter, credentials and callback secret (for the benchmark's growing work).
   */
  readonly clientCount?: number;
  /**
   * How many callback environments may run at once, instead of the template's reserved concurrency
   * (to run more simultaneous requests side by side than the stack would let through).
   */
  readonly callbackConcurrency?: number;
  /** Every line any function writes, as it is written. */
  readonly onLine?: (line: string) => void;
  /**
   * How long an event-source mapping waits after a poll that found its queue empty; 0 leaves the
   * polling to `drainEventSources()`. @default 20
   */
  readonly eventSourcePollMs?: number;
}

export interface LocalDeployment {
  readonly clients: readonly DeployedClient[];
  readonly finapi: FinapiEmulator;
  readonly ssm: SsmStandIn;
  readonly secretsManager: SecretsManagerStandIn;
  readonly eventBridge: EventBridgeStandIn;
  readonly sqs: SqsStandIn;
  readonly dynamo: DynamoDbStandIn;
  /** Fault proxies in front of finAPI and the AWS services the functions call. */
  readonly faults: {
    readonly finapi: FaultProxy;
    readonly ssm: FaultProxy;
    readonly secretsManager: FaultProxy;
    readonly dynamodb: FaultProxy;
    readonly eventBridge: FaultProxy;
  };
  readonly configSync: LocalLambda;
  readonly callback: LocalLambda;
  /** Every hosted function by its logical id: config-sync, the callback and each event-source mapping's target. */
  readonly functions: ReadonlyMap<string, LocalLambda>;
  /** The template's event-source mappings, running: each polls its queue and invokes its function. */
  readonly eventSources: ReadonlyMap<string, SqsEventSourceMapping>;
  /** Lets every event-source mapping poll until its queue has no visible message (see SqsEventSourceMapping.drain). */
  drainEventSources(): Promise<void>;
  readonly configSyncEnvironment: Readonly<Record<string, string>>;
  readonly callbackEnvironment: Readonly<Record<string, string>>;
  /**
   * The template's IAM as the stand-ins enforce it: each function's calls are evaluated against its
   * role's policies. Undefined with `clientCount`, whose copied clients the template grants nothing.
   */
  readonly iam: IamAuthority | undefined;
  /** Every line the functions wrote. */
  readonly lines: readonly string[];
  /** Every secret in play: client secrets, the callback root secret and path secrets, and each access token finAPI issued. */
  secrets(): string[];
  /** The values finAPI must end up with for the document: the hosted callback URL fills a missing field. */
  desiredConfiguration(client: DeployedClient, document: DesiredDocument): DesiredDocument;
  /** Whether finAPI's configuration of the client holds every desired value (a cleared URL reads as null). */
  converged(client: DeployedClient, desired: DesiredDocument): boolean;
  /** The client's last outcome in the status table, or undefined when none was stored. */
  statusOf(client: DeployedClient): Promise<Record<string, unknown> | undefined>;
  /** A Function URL request as finAPI's callback arrives, on the client's hosted path. */
  callbackEvent(client: DeployedClient, body: string, secret?: string): APIGatewayProxyEventV2;
  /**
   * Moves the SQS stand-in's clock on (the rest of the world keeps its time): messages in flight come
   * back once their visibility timeout passed, and FIFO deduplication ids older than 5 minutes are forgotten.
   */
  advanceQueueClock(ms: number): void;
  /**
   * Drains the event sources; then, while a queue they read still holds a message (one whose batch
   * failed is in flight), lets its visibility timeout pass and drains again, until every message was
   * published or moved to the dead-letter queue after its receives, as hours of Lambda polling would.
   */
  settleQueues(): Promise<void>;
  /** The deletions on the bus, as their details, once the event sources drained the deletion queue. */
  forwarded(): Promise<Record<string, unknown>[]>;
  /** The dead-letter queue's messages, parsed, once the event sources drained the deletion queue. */
  deadLetters(): Promise<Record<string, unknown>[]>;
  /** The bodies of the messages in a queue of the template (by logical id), received or not, oldest first. */
  queueBodies(queueLogicalId: string): string[];
  close(): Promise<void>;
}

const functionUrlRequest = JSON.parse(
  readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/events/function-url-request.json"), "utf8"),
) as APIGatewayProxyEventV2;

const randomAlphanumerics = (length: number) =>
  randomBytes(length * 2)
    .toString("base64")
    .replace(/[^A-Za-z0-9]/g, "")
    .slice(0, length);

function clonedClients(template: readonly ConfiguredClientEntry[], count: number): ConfiguredClientEntry[] {
  const [first] = template;
  if (!first) throw new Error("the template configures no client to copy");
  return Array.from({ length: count }, (_, index) => {
    const name = `client-${String(index + 1).padStart(4, "0")}`;
    return {
      ...first,
      name,
      parameterName: `/finapi/bench/${name}`,
      credentialsSecretId: `finapi/bench/${name}/credentials`,
    };
  });
}

/**
 * Deploys the synthesized stack onto local stand-ins: SSM, Secrets Manager, EventBridge, SQS, DynamoDB
 * (dynalite) and the finAPI emulator, each but SQS behind a fault proxy, with the resources the template
 * declares created in them and both functions hosted from their bundles with the template's environment.
 * Each SQS event-source mapping of the template runs too: its function hosted the same way, a poller
 * handing it the queue's messages as Lambda does.
 */
export async function deployLocally(
  stack: SynthesizedStack,
  options: DeploymentOptions = {},
): Promise<LocalDeployment> {
  const busNames = stack.resourcesOf("AWS::Events::EventBus").map(([, bus]) => String(bus.Properties.Name));
  let queueClockOffsetMs = 0;
  const [ssm, secretsManager, eventBridge, sqs, dynamo, finapi, kms] = await Promise.all([
    startSsm(),
    startSecretsManager(),
    startEventBridge({ busNames }),
    startSqs({ clock: () => Date.now() + queueClockOffsetMs }),
    startDynamoDb(),
    startFinapiEmulator({ latencyMs: options.finapiLatencyMs ?? 0 }),
    startKms(),
  ]);
  /* The stack's generated secrets (the callback root secret), by ARN. */
  const callbackSecrets = new Map<string, string>();
  const physical = new Map<string, string>();
  for (const [logicalId, secret] of stack.resourcesOf("AWS::SecretsManager::Secret")) {
    const name = String(secret.Properties.Name);
    const value = randomAlphanumerics(64);
    secretsManager.putSecret(name, value);
    callbackSecrets.set(secretsManager.arnOf(name), value);
    physical.set(logicalId, secretsManager.arnOf(name));
  }
  for (const [logicalId] of stack.resourcesOf("AWS::KMS::Key"))
    physical.set(`${logicalId}.Arn`, kms.createHmacKey());
  await createStandInResources(stack, { dynamo, sqs }, physical, REGION);

  /* The template grants only its own clients: copies made for the benchmark run without the gates. */
  const iam =
    options.clientCount === undefined
      ? createIamAuthority(
          governedFunctions(stack.resourcesOf, policyValues(stack.resourcesOf, physical, REGION)),
          {
            region: REGION,
            secretArn: (secretId) => {
              if (secretId.startsWith("arn:")) return secretId;
              try {
                return secretsManager.arnOf(secretId);
              } catch {
                return `arn:aws:secretsmanager:${REGION}:${LOCAL_ACCOUNT}:secret:${secretId}`;
              }
            },
          },
        )
      : undefined;
  const gates: IamGate[] = iam
    ? await Promise.all(
        [ssm.url, secretsManager.url, dynamo.url, eventBridge.url, sqs.url, kms.url].map((url) =>
          startIamGate(url, iam),
        ),
      )
    : [];
  const [ssmUrl, secretsUrl, dynamoUrl, eventsUrl, sqsUrl, kmsUrl] = iam
    ? gates.map((gate) => gate.url)
    : [ssm.url, secretsManager.url, dynamo.url, eventBridge.url, sqs.url, kms.url];
  if (sqsUrl !== sqs.url) {
    /* The SDK may send an SQS call to its QueueUrl's host: queue URLs name the gate too. */
    for (const [logicalId] of stack.resourcesOf("AWS::SQS::Queue")) {
      physical.set(logicalId, String(physical.get(logicalId)).replace(sqs.url, sqsUrl as string));
    }
  }

  const [finapiProxy, ssmProxy, secretsProxy, dynamoProxy, eventsProxy] = await Promise.all(
    [finapi.url, ssmUrl, secretsUrl, dynamoUrl, eventsUrl].map((url) => startFaultProxy(url as string)),
  );
  if (!finapiProxy || !ssmProxy || !secretsProxy || !dynamoProxy || !eventsProxy) {
    throw new Error("a fault proxy did not start");
  }
  const lookup = physicalValues(physical, REGION, FUNCTION_URL);

  const awsEnvironment = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL_SSM: ssmProxy.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsProxy.url,
    AWS_ENDPOINT_URL_EVENTBRIDGE: eventsProxy.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamoProxy.url,
    AWS_ENDPOINT_URL_SQS: sqsUrl as string,
    AWS_ENDPOINT_URL_KMS: kmsUrl as string,
  };
  /* Each function signs with its own access key, which tells the gates whose policies apply. */
  const credentialsOf = (serviceName: string) => {
    const governed =
      iam &&
      stack
        .resourcesOf("AWS::Lambda::Function")
        .find(
          ([, fn]) =>
            (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables
              .POWERTOOLS_SERVICE_NAME === serviceName,
        );
    return governed && iam ? { AWS_ACCESS_KEY_ID: iam.accessKeyOf(governed[0]) } : {};
  };

  const templateConfigSync = stack.environmentOf(stack.configSync, lookup);
  const templateClients = stack.registryOf(stack.configSync).clients as unknown as ConfiguredClientEntry[];
  const configured =
    options.clientCount === undefined ? templateClients : clonedClients(templateClients, options.clientCount);
  const rootSecretId = templateConfigSync.CALLBACK_ROOT_SECRET_ID;
  const rootSecret = rootSecretId === undefined ? undefined : callbackSecrets.get(rootSecretId);
  if (rootSecretId !== undefined && rootSecret === undefined) {
    throw new Error(`config-sync's CALLBACK_ROOT_SECRET_ID ${rootSecretId} is no secret of the stack`);
  }
  /* The bundled registry with finAPI's addresses pointed at the proxy (and the benchmark's copies). */
  const registryDirectory = mkdtempSync(join(tmpdir(), "finapi-deployment-registry-"));
  const configSyncRegistry = join(registryDirectory, CLIENT_REGISTRY_FILE);
  writeFileSync(
    configSyncRegistry,
    JSON.stringify({ clients: configured })
      .replaceAll(FINAPI_SANDBOX, finapiProxy.url)
      .replaceAll(FINAPI_LIVE, finapiProxy.url),
  );
  const configSyncEnvironment: Record<string, string> = {
    ...templateConfigSync,
    [CLIENT_REGISTRY_PATH_VARIABLE]: configSyncRegistry,
    ...awsEnvironment,
    ...credentialsOf("config-sync"),
  };
  const callbackEnvironment: Record<string, string> = {
    ...stack.environmentOf(stack.callback, lookup),
    ...awsEnvironment,
    ...credentialsOf("user-sync-callback"),
  };

  /* The callback reads the registry its asset holds, beside its bundle, as in Lambda. */
  const callbackClients = new Map(
    (
      stack.registryOf(stack.callback).clients as unknown as {
        name: string;
        userBase: string;
        environment: string;
      }[]
    ).map((entry) => [entry.name, entry]),
  );
  const clients: DeployedClient[] = configured.map((client) => {
    const environment = String(client.environment ?? "sandbox");
    const deployed: DeployedClient = {
      name: client.name,
      clientId: `${client.name}-client-id`,
      clientSecret: `cs-${randomAlphanumerics(32)}`,
      parameterName: client.parameterName,
      callbackSecret:
        rootSecret === undefined
          ? undefined
          : derivePathSecret(rootSecret, {
              name: client.name,
              callbackSecretGeneration: client.callbackSecretGeneration ?? 0,
            }),
      userBase: callbackClients.get(client.name)?.userBase ?? String(client.userBase ?? environment),
      environment,
    };
    finapi.addClient({ clientId: deployed.clientId, clientSecret: deployed.clientSecret });
    secretsManager.putSecret(
      client.credentialsSecretId,
      JSON.stringify({ clientId: deployed.clientId, clientSecret: deployed.clientSecret }),
    );
    return deployed;
  });

  const lines: string[] = [];
  /* What the functions write, as CloudWatch holds it: Lambda's own START/END/REPORT lines and blank lines left out. */
  const onLogLine = (line: string, from: LogLineSource) => {
    if (from === "lambda" || line.trim() === "") return;
    lines.push(line);
    options.onLine?.(line);
  };
  const configSync = hostLambda({
    functionName: "config-sync",
    handlerModule: pathToFileURL(stack.configSync.bundle),
    environment: configSyncEnvironment,
    timeoutMs: stack.configSync.timeoutMs,
    concurrency: stack.configSync.reservedConcurrency,
    memoryMb: stack.configSync.memoryMb,
    onLogLine,
  });
  const callback = hostLambda({
    functionName: "user-sync-callback",
    handlerModule: pathToFileURL(stack.callback.bundle),
    environment: callbackEnvironment,
    timeoutMs: stack.callback.timeoutMs,
    concurrency: options.callbackConcurrency ?? stack.callback.reservedConcurrency,
    memoryMb: stack.callback.memoryMb,
    onLogLine,
  });

  /* Each event-source mapping's function, hosted from its bundle like the other two (reused if it is one of them). */
  const functions = new Map<string, LocalLambda>([
    [stack.configSync.logicalId, configSync],
    [stack.callback.logicalId, callback],
  ]);
  const queueSources = queueEventSourcesOf(stack, physical);
  const eventSources = startQueueEventSources(queueSources, {
    endpoint: sqs.url,
    region: REGION,
    pollIntervalMs: options.eventSourcePollMs ?? 20,
    functionOf: (logicalId) => {
      const hosted = functions.get(logicalId);
      if (hosted) return hosted;
      const fn = stack.functionOf(logicalId);
      const started = hostLambda({
        functionName: logicalId,
        handlerModule: pathToFileURL(fn.bundle),
        environment: {
          ...stack.environmentOf(fn, lookup),
          ...awsEnvironment,
          ...(iam ? { AWS_ACCESS_KEY_ID: iam.accessKeyOf(logicalId) } : {}),
        },
        timeoutMs: fn.timeoutMs,
        concurrency: fn.reservedConcurrency,
        memoryMb: fn.memoryMb,
        onLogLine,
      });
      functions.set(logicalId, started);
      return started;
    },
    onPollError: (source, error) =>
      onLogLine(`event source ${source.logicalId}: poll failed: ${String(error)}`, "function"),
  });

  /* Long enough for any queue of the template to hand a failed message out again; each round is one receive. */
  const longestVisibilityMs =
    Math.max(
      30,
      ...stack
        .resourcesOf("AWS::SQS::Queue")
        .map(([, queue]) => Number(queue.Properties.VisibilityTimeout ?? 30)),
    ) *
      1000 +
    1000;
  const longestReceives = Math.max(
    1,
    ...stack
      .resourcesOf("AWS::SQS::Queue")
      .map(([, queue]) =>
        Number((queue.Properties.RedrivePolicy as { maxReceiveCount?: unknown })?.maxReceiveCount ?? 1),
      ),
  );
  const drainEventSources = async () => {
    for (const eventSource of eventSources.values()) await eventSource.drain();
  };
  const sourceQueueNames = queueSources.map((source) => source.queueUrl.split("/").at(-1) as string);
  const settleQueues = async () => {
    await drainEventSources();
    /* Each message needs at most its receives plus the one that moves it; a batch may hold back its group's later ones. */
    for (let round = 0; round <= 4 * (longestReceives + 1); round++) {
      if (sourceQueueNames.every((name) => sqs.bodies(name).length === 0)) return;
      queueClockOffsetMs += longestVisibilityMs;
      await drainEventSources();
    }
    throw new Error(
      `messages are still in ${sourceQueueNames.join(", ")} after ${4 * (longestReceives + 1)} visibility timeouts: ${sourceQueueNames
        .flatMap((name) => sqs.bodies(name))
        .join("; ")}`,
    );
  };

  const documents = DynamoDBDocumentClient.from(dynamo.client);
  const statusTable = configSyncEnvironment.STATUS_TABLE_NAME as string;
  const deadLetterQueue = String(callbackEnvironment.DEAD_LETTER_QUEUE_URL).split("/").at(-1) as string;
  const callbackBaseUrl = String(configSyncEnvironment.CALLBACK_BASE_URL ?? "").replace(/\/+$/, "");
  const tokens = new Set<string>();
  const collectTokens = () => {
    for (const request of finapi.requests) {
      const token = request.headers.authorization?.replace(/^Bearer /, "");
      if (token !== undefined && token.length > 8) tokens.add(token);
    }
  };

  return {
    clients,
    finapi,
    ssm,
    secretsManager,
    eventBridge,
    sqs,
    dynamo,
    faults: {
      finapi: finapiProxy,
      ssm: ssmProxy,
      secretsManager: secretsProxy,
      dynamodb: dynamoProxy,
      eventBridge: eventsProxy,
    },
    configSync,
    callback,
    functions,
    eventSources,
    drainEventSources,
    advanceQueueClock(ms) {
      queueClockOffsetMs += ms;
    },
    settleQueues,
    configSyncEnvironment,
    callbackEnvironment,
    iam,
    lines,
    secrets() {
      collectTokens();
      return [
        ...clients.map((client) => client.clientSecret),
        ...callbackSecrets.values(),
        ...clients.flatMap((client) => (client.callbackSecret === undefined ? [] : [client.callbackSecret])),
        ...tokens,
      ];
    },
    desiredConfiguration(client, document) {
      const hosted =
        client.callbackSecret === undefined || callbackBaseUrl === ""
          ? {}
          : {
              userSynchronizationCallbackUrl: `${callbackBaseUrl}/user-sync/${client.name}/${client.callbackSecret}`,
            };
      return { ...hosted, ...document };
    },
    converged(client, desired) {
      const current = finapi.configurationOf(client.clientId) as Record<string, unknown>;
      return Object.entries(desired).every(([field, value]) =>
        value === "" ? current[field] === null || current[field] === "" : current[field] === value,
      );
    },
    async statusOf(client) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: statusTable, Key: { client: client.name }, ConsistentRead: true }),
      );
      return Item;
    },
    callbackEvent(client, body, secret = client.callbackSecret) {
      const path = `/user-sync/${client.name}/${secret ?? "no-secret"}`;
      return {
        ...functionUrlRequest,
        rawPath: path,
        body,
        requestContext: {
          ...functionUrlRequest.requestContext,
          http: { ...functionUrlRequest.requestContext.http, path },
        },
      };
    },
    async forwarded() {
      await drainEventSources();
      return eventBridge.events
        .filter((event) => event.source === "finapi.user-sync")
        .map((event) => event.detail);
    },
    async deadLetters() {
      await drainEventSources();
      return sqs.bodies(deadLetterQueue).map((body) => JSON.parse(body) as Record<string, unknown>);
    },
    queueBodies(queueLogicalId) {
      const name = physical.get(`${queueLogicalId}.QueueName`);
      if (name === undefined) throw new Error(`${queueLogicalId} is not a queue of the template`);
      return sqs.bodies(name);
    },
    async close() {
      /* The pollers first: a closed function refuses invocations. */
      await Promise.all([...eventSources.values()].map((eventSource) => eventSource.close()));
      await Promise.all([...functions.values()].map((fn) => fn.terminate()));
      await Promise.all(
        [finapiProxy, ssmProxy, secretsProxy, dynamoProxy, eventsProxy, ...gates].map((proxy) =>
          proxy.close(),
        ),
      );
      await Promise.all(
        [ssm, secretsManager, eventBridge, sqs, dynamo, finapi, kms].map((standIn) => standIn.close()),
      );
      rmSync(registryDirectory, { recursive: true, force: true });
    },
  };
}
