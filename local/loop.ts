import { randomBytes, randomInt, randomUUID } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { access, copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import { getCACertificates, setDefaultCACertificates } from "node:tls";
import { type EmulatedEnvironment, type FinapiEmulator, startFinapiEmulator } from "../emulator/index.ts";
import type { ConfiguredClient } from "../functions/config-sync/config.ts";
import type { CallbackClient } from "../functions/contracts/callback-environment.ts";
import { derivePathSecret } from "../functions/contracts/callback-path-secret.ts";
import {
  callbackRegistrySchema,
  clientRegistryText,
  configSyncRegistrySchema,
} from "../functions/contracts/client-registry.ts";
import { CONFIG_SYNC_TIMEOUT_MS, type Trigger } from "../functions/contracts/config-sync.ts";
import { METRICS_NAMESPACE } from "../functions/contracts/metrics.ts";
import { NAME_PATTERN } from "../functions/contracts/names.ts";
import { type Activity, ActivityLog } from "./activity.ts";
import { type DynamoDbStandIn, startDynamoDb } from "./aws/dynamodb.ts";
import { type EventBridgeStandIn, startEventBridge } from "./aws/eventbridge.ts";
import { type KmsStandIn, startKms } from "./aws/kms.ts";
import { type ParameterFiles, startParameterFiles } from "./aws/parameter-files.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "./aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "./aws/sqs.ts";
import { type SqsEventSourceMapping, startSqsEventSourceMapping } from "./aws/sqs-event-source-mapping.ts";
import { type ParameterStoreChangeEvent, type SsmStandIn, startSsm } from "./aws/ssm.ts";
import { type FunctionUrl, startFunctionUrl } from "./function-url.ts";
import { type InvokeResult, type LocalLambda, startLambda } from "./lambda-runtime.ts";
import { isAddressInUse, PortInUseError } from "./listen.ts";
import { callbackActivity, syncActivities } from "./observations.ts";
import { selfSignedCertificate } from "./self-signed-certificate.ts";

const REGION = "eu-central-1";
const ACCOUNT = "000000000000";
export const EVENT_BUS_NAME = "finapi-user-sync";
/* As the stack deploys them: the FIFO deletion queue between the callback and the publisher, and its dead letters. */
const DELETION_QUEUE = "user-deletions.fifo";
const DEAD_LETTER_QUEUE = "user-deletion-dead-letters.fifo";
const MAX_PUBLISH_ATTEMPTS = 5;
const PUBLISHER_TIMEOUT_MS = 60_000;
const STATUS_TABLE = "config-sync-status";
const DELETIONS_TABLE = "user-sync-callback-deletions";
/* As the stack deploys them (infra/constructs). */
const CALLBACK_TIMEOUT_MS = 10_000;
/* As the stack generates it (infra/constructs/user-sync-callback.ts). */
const CALLBACK_ROOT_SECRET_LENGTH = 64;
/** What PortInUseError names as wanting the port. */
export const EMULATOR_PURPOSE = "the finAPI emulator";
export const CALLBACK_PURPOSE = "the user-sync callback's Function URL";
const ALPHANUMERICS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
/** How often a queue's event source looks again after finding the queue empty. */
const QUEUE_POLL_MS = 100;
const CALLBACK_HOST = "127.0.0.1";

/** A finAPI client of the local loop: one example document, one emulated client, one hosted callback. */
export interface LocalClient {
  readonly name: string;
  /** finAPI's environment of the client: `live` for `live.json` and `live-*.json`, `alpha` likewise, else sandbox. */
  readonly environment: EmulatedEnvironment;
  /** The user base the client belongs to: its environment's (finAPI keeps sandbox and live users apart). */
  readonly userBase: string;
  /** The example the parameter file was copied from. */
  readonly example: string;
  /** The file that is the parameter: editing it is a Parameter Store change. */
  readonly parameterFile: string;
  readonly parameterName: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** The path secret of the client's hosted callback URL (derived from the loop's root secret, generation 0). */
  readonly callbackSecret: string;
}

export interface LocalLoopOptions {
  /** Where parameter files, logs and the clients' credentials go. @default ".local-state" */
  readonly stateDir?: string;
  /** One client per `*.json` document in it. @default "examples" */
  readonly examplesDir?: string;
  /** Copy the examples over parameter files that already exist (edits from an earlier run). @default false */
  readonly resetDocuments?: boolean;
  /** 0 picks a free port. */
  readonly emulatorPort: number;
  /** 0 picks a free port. */
  readonly callbackPort: number;
  /** How often the schedule invokes config-sync for every client; 0 turns the timer off. */
  readonly scheduleMs: number;
  /** How long a parameter file must stay unchanged before it is put. @default 100 */
  readonly settleMs?: number;
  /** Called for each activity as it happens (the live log). */
  readonly onActivity?: (activity: Activity) => void;
}

export interface LocalLoop {
  readonly emulator: FinapiEmulator;
  readonly clients: readonly LocalClient[];
  /** Where the user-sync-callback Function URL listens (https, as Function URLs do), without a trailing slash. */
  readonly callbackBaseUrl: string;
  /** The Function URL's self-signed certificate (PEM): this process trusts it; `curl --cacert` it elsewhere. */
  readonly callbackCertificateFile: string;
  readonly eventBusName: string;
  /** The DynamoDB table (on the DynamoDB stand-in) where config-sync keeps each client's last outcome. */
  readonly statusTableName: string;
  /** The region the handlers and stand-ins are configured with. */
  readonly region: string;
  readonly awsEndpoints: Readonly<
    Record<"ssm" | "secretsManager" | "eventBridge" | "sqs" | "dynamoDb", string>
  >;
  readonly logFiles: Readonly<Record<"configSync" | "userSyncCallback", string>>;
  /** The file with the emulated clients' credentials (never printed). */
  readonly credentialsFile: string;
  readonly activities: ActivityLog;
  /** Every secret of the loop (client secrets, callback path secrets): what output must never show. */
  readonly secrets: readonly string[];
  /** Invokes config-sync with the schedule's event now, as the timer does, and resolves when the run ended. */
  runSchedule(): Promise<void>;
  /** Re-reads every parameter file now (the watcher does this on its own after an edit). */
  syncParameterFiles(): Promise<void>;
  close(): Promise<void>;
}

/** Something the local loop cannot start with: a taken port, an unusable example. */
export class LocalLoopStartError extends Error {
  override readonly name = "LocalLoopStartError";
}

/** A callback root secret as the stack generates one: 64 alphanumerics. */
function callbackRootSecret(): string {
  return Array.from({ length: CALLBACK_ROOT_SECRET_LENGTH }, () => ALPHANUMERICS[randomInt(62)]).join("");
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/* A document named after an environment (`live.json`, `live-shop.json`) is a client of that environment. */
function environmentOf(clientName: string): EmulatedEnvironment {
  for (const environment of ["live", "alpha"] as const) {
    if (clientName === environment || clientName.startsWith(`${environment}-`)) return environment;
  }
  return "sandbox";
}

/** One client per example document; nothing is written yet. */
async function describeClients(
  examplesDir: string,
  parametersDir: string,
  rootSecret: string,
): Promise<LocalClient[]> {
  /* In the order of the client names ("sandbox" before "sandbox-mobile", which file names do not give). */
  const examples = (await readdir(examplesDir))
    .filter((name) => name.endsWith(".json"))
    .sort((one, other) => basename(one, ".json").localeCompare(basename(other, ".json"), "en"));
  if (examples.length === 0) throw new LocalLoopStartError(`${examplesDir} holds no *.json document`);
  const clients: LocalClient[] = [];
  for (const file of examples) {
    const name = basename(file, ".json");
    if (!NAME_PATTERN.test(name)) {
      throw new LocalLoopStartError(
        `${join(examplesDir, file)}: a client is named after its file, and "${name}" is not a client name (1..64 characters of a-z A-Z 0-9 - _)`,
      );
    }
    const environment = environmentOf(name);
    clients.push({
      name,
      environment,
      userBase: environment,
      example: join(examplesDir, file),
      parameterFile: join(parametersDir, file),
      parameterName: `/finapi-config-sync/${name}`,
      clientId: `local-${name}`,
      clientSecret: randomBytes(32).toString("base64url"),
      callbackSecret: derivePathSecret(rootSecret, { name, callbackSecretGeneration: 0 }),
    });
  }
  return clients;
}

/** Copies each example to its parameter file, unless an earlier run left one there (edits are kept). */
async function placeDocuments(clients: readonly LocalClient[], resetDocuments: boolean): Promise<void> {
  for (const client of clients) {
    await mkdir(dirname(client.parameterFile), { recursive: true });
    if (resetDocuments || !(await exists(client.parameterFile)))
      await copyFile(client.example, client.parameterFile);
  }
}

const credentialsSecretId = (client: LocalClient) => `finapi-config-sync/${client.name}/credentials`;
const CALLBACK_ROOT_SECRET_ID = "finapi-config-sync/user-sync-callback/root";

/* What the Function URL answers (502) while the callback function is still starting. */
function notStartedYet(): InvokeResult {
  return {
    ok: false,
    requestId: randomUUID(),
    errorType: "Runtime.NotReady",
    errorMessage: "user-sync-callback is still starting",
    logLines: [],
    durationMs: 0,
    coldStart: false,
  };
}

function scheduledEvent(): Record<string, unknown> {
  return {
    version: "0",
    id: randomUUID(),
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: ACCOUNT,
    time: `${new Date().toISOString().slice(0, 19)}Z`,
    region: REGION,
    resources: [`arn:aws:events:${REGION}:${ACCOUNT}:rule/config-sync-reconcile-schedule`],
    detail: {},
  };
}

/** Closes what was started, last first, even when one of them fails to close. */
class Closers {
  readonly #closers: (() => unknown)[] = [];

  push(close: () => unknown): void {
    this.#closers.push(close);
  }

  async closeAll(): Promise<void> {
    for (const close of this.#closers.reverse()) {
      try {
        await close();
      } catch {
        // Shutting down: a part that fails to close has nothing left to do.
      }
    }
    this.#closers.length = 0;
  }
}

/**
 * Lambda's SQS event-source mapping for the loop: polls the stand-in's queue every moment it finds it
 * empty and hands its messages to the function in batches of up to 10, honouring partial batch
 * responses (ReportBatchItemFailures), as the stack's mapping does. Close it before the function.
 */
export function startQueueEventSource(
  sqs: SqsStandIn,
  queueName: string,
  fn: LocalLambda,
  onPollError?: (error: unknown) => void,
): SqsEventSourceMapping {
  return startSqsEventSourceMapping({
    endpoint: sqs.url,
    queueUrl: sqs.queueUrl(queueName),
    queueArn: sqs.queueArn(queueName),
    target: fn,
    batchSize: 10,
    reportBatchItemFailures: true,
    pollIntervalMs: QUEUE_POLL_MS,
    region: REGION,
    ...(onPollError ? { onPollError } : {}),
  });
}

/*
 * Function URLs are https, and finAPI's live environment accepts only https callback URLs: the local
 * Function URL serves a certificate made at start, and this process (the emulator in it) trusts it
 * until the loop closes.
 */
const trustedCertificates = new Set<string>();
let systemCertificates: string[] | undefined;

function trustCertificate(cert: string): () => void {
  /* Loops of one process (tests) may overlap: each adds its own and removes only its own. */
  systemCertificates ??= getCACertificates("default");
  const apply = () => setDefaultCACertificates([...(systemCertificates ?? []), ...trustedCertificates]);
  trustedCertificates.add(cert);
  apply();
  return () => {
    trustedCertificates.delete(cert);
    apply();
  };
}

/**
 * The whole system on this machine: the finAPI emulator (one client per example document; the sandbox
 * clients share the sandbox user base, a live client has the live one), local stand-ins of SSM (backed by files), Secrets Manager, EventBridge, SQS and DynamoDB,
 * the real config-sync handler (Parameter Store changes and a schedule invoke it) and the real
 * user-sync-callback handler behind a local Function URL. No AWS account, no network.
 */
export async function startLocalLoop(options: LocalLoopOptions): Promise<LocalLoop> {
  const stateDir = resolve(options.stateDir ?? ".local-state");
  const activities = new ActivityLog();
  if (options.onActivity) activities.subscribe(options.onActivity);
  const record = (activity: Activity) => activities.record(activity);
  const opened = new Closers();

  try {
    const examplesDir = resolve(options.examplesDir ?? "examples");
    const rootSecret = callbackRootSecret();
    const clients = await describeClients(examplesDir, join(stateDir, "parameters"), rootSecret);
    const clientByParameter = new Map(clients.map((client) => [client.parameterName, client]));
    const clientById = new Map(clients.map((client) => [client.clientId, client]));
    const secrets = [
      rootSecret,
      ...clients.flatMap((client) => [client.clientSecret, client.callbackSecret]),
    ];

    /* The ports first: a second npm start must fail here, before it touches the first one's files. */
    const emulator = await startFinapiEmulator({
      port: options.emulatorPort,
      clients: clients.map((client) => ({
        clientId: client.clientId,
        clientSecret: client.clientSecret,
        environment: client.environment,
        userBase: client.userBase,
        /* The first client of each user base may delete its users by id. */
        mandatorAdmin: clients.find((other) => other.userBase === client.userBase) === client,
      })),
      onCallback: (delivery) =>
        record({ kind: "finapi-callback", client: clientById.get(delivery.clientId)?.name ?? "?", delivery }),
    }).catch((error: unknown) => {
      throw isAddressInUse(error)
        ? new PortInUseError(options.emulatorPort, "127.0.0.1", EMULATOR_PURPOSE)
        : error;
    });
    opened.push(() => emulator.close());
    let callback: LocalLambda | undefined;
    const certificate = selfSignedCertificate(CALLBACK_HOST);
    const functionUrl: FunctionUrl = await startFunctionUrl({
      port: options.callbackPort,
      host: CALLBACK_HOST,
      tls: certificate,
      purpose: CALLBACK_PURPOSE,
      invoke: (event) => (callback ? callback.invoke(event) : Promise.resolve(notStartedYet())),
      onExchange: (exchange) => record(callbackActivity(exchange)),
    });
    opened.push(() => functionUrl.close());
    opened.push(trustCertificate(certificate.cert));

    await placeDocuments(clients, options.resetDocuments ?? false);
    const logsDir = join(stateDir, "logs");
    await mkdir(logsDir, { recursive: true });
    const logFiles = {
      configSync: join(logsDir, "config-sync.log"),
      userSyncCallback: join(logsDir, "user-sync-callback.log"),
    };
    const openLog = (path: string): WriteStream => {
      const stream = createWriteStream(path, { flags: "w" });
      opened.push(() => new Promise((done) => stream.end(done)));
      return stream;
    };
    const configSyncLog = openLog(logFiles.configSync);
    const callbackLog = openLog(logFiles.userSyncCallback);
    const callbackCertificateFile = join(stateDir, "callback-certificate.pem");
    await writeFile(callbackCertificateFile, certificate.cert);
    const credentialsFile = join(stateDir, "clients.json");
    const credentials = clients.map(
      ({ name, environment, userBase, clientId, clientSecret, parameterName, parameterFile }) => ({
        name,
        environment,
        userBase,
        clientId,
        clientSecret,
        parameterName,
        parameterFile: relative(process.cwd(), parameterFile),
      }),
    );
    await writeFile(credentialsFile, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 });

    const [secretsManager, eventBridge, sqs, dynamo, kms]: [
      SecretsManagerStandIn,
      EventBridgeStandIn,
      SqsStandIn,
      DynamoDbStandIn,
      KmsStandIn,
    ] = await Promise.all([
      startSecretsManager(
        Object.fromEntries([
          ...clients.map((client) => [
            credentialsSecretId(client),
            JSON.stringify({ clientId: client.clientId, clientSecret: client.clientSecret }),
          ]),
          [CALLBACK_ROOT_SECRET_ID, rootSecret],
        ]),
      ),
      startEventBridge({
        busNames: [EVENT_BUS_NAME],
        onEvent: (event) => record({ kind: "deletion-forwarded", event }),
      }),
      startSqs(),
      startDynamoDb(),
      startKms(),
    ]);
    for (const standIn of [secretsManager, eventBridge, sqs, dynamo, kms]) opened.push(() => standIn.close());
    await dynamo.createTable(STATUS_TABLE, "client");
    await dynamo.createTable(DELETIONS_TABLE, "id");
    sqs.createQueue(DEAD_LETTER_QUEUE, { FifoQueue: "true" });
    sqs.createQueue(DELETION_QUEUE, {
      FifoQueue: "true",
      VisibilityTimeout: String((6 * PUBLISHER_TIMEOUT_MS) / 1000),
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sqs.queueArn(DEAD_LETTER_QUEUE),
        maxReceiveCount: MAX_PUBLISH_ATTEMPTS,
      }),
    });

    /* Parameter Store Change events reach config-sync through a rule, which the SSM stand-in's hook plays. */
    let deliverChange: (event: ParameterStoreChangeEvent) => void = () => {};
    const ssm: SsmStandIn = await startSsm({ onChange: (event) => deliverChange(event) });
    opened.push(() => ssm.close());

    const awsEnvironment = {
      AWS_REGION: REGION,
      AWS_DEFAULT_REGION: REGION,
      AWS_ACCESS_KEY_ID: "local",
      AWS_SECRET_ACCESS_KEY: "local",
      AWS_EC2_METADATA_DISABLED: "true",
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
      AWS_ENDPOINT_URL_EVENTBRIDGE: eventBridge.url,
      AWS_ENDPOINT_URL_SQS: sqs.url,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
      AWS_ENDPOINT_URL_KMS: kms.url,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      LOG_LEVEL: "INFO",
    };

    /* Each function's client registry, as the stack bundles it, in the state directory. */
    const writeRegistry = async (functionName: string, text: string) => {
      const path = join(stateDir, "client-registry", `${functionName}.json`);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, text);
      return path;
    };

    callback = await startLambda({
      functionName: "user-sync-callback",
      handlerModule: new URL("../functions/user-sync-callback/handler.ts", import.meta.url),
      timeoutMs: CALLBACK_TIMEOUT_MS,
      environment: {
        ...awsEnvironment,
        POWERTOOLS_SERVICE_NAME: "user-sync-callback",
        CLIENT_REGISTRY_PATH: await writeRegistry(
          "user-sync-callback",
          clientRegistryText(callbackRegistrySchema, {
            clients: clients.map(
              (client): CallbackClient => ({
                name: client.name,
                callbackSecretGeneration: 0,
                userBase: client.userBase,
                environment: client.environment,
              }),
            ),
          }),
        ),
        CALLBACK_ROOT_SECRET_ID,
        DELETIONS_TABLE_NAME: DELETIONS_TABLE,
        DELETION_QUEUE_URL: sqs.queueUrl(DELETION_QUEUE),
        DEAD_LETTER_QUEUE_URL: sqs.queueUrl(DEAD_LETTER_QUEUE),
        SECRET_DIGEST_KEY_ID: kms.createHmacKey(),
      },
      onLogLine: (line) => callbackLog.write(`${line}\n`),
    });
    const startedCallback = callback;
    opened.push(() => startedCallback.close());

    const publisher = await startLambda({
      functionName: "deletion-publisher",
      handlerModule: new URL("../functions/deletion-publisher/handler.ts", import.meta.url),
      timeoutMs: PUBLISHER_TIMEOUT_MS,
      environment: {
        ...awsEnvironment,
        POWERTOOLS_SERVICE_NAME: "deletion-publisher",
        EVENT_BUS_NAME,
        DELETIONS_TABLE_NAME: DELETIONS_TABLE,
      },
      onLogLine: (line) => callbackLog.write(`${line}\n`),
    });
    opened.push(() => publisher.close());
    const publishing = startQueueEventSource(sqs, DELETION_QUEUE, publisher, (error) =>
      callbackLog.write(
        `${JSON.stringify({ level: "ERROR", message: "polling the deletion queue failed", error: String(error) })}\n`,
      ),
    );
    opened.push(() => publishing.close());

    const configuredClients: ConfiguredClient[] = clients.map((client) => ({
      name: client.name,
      environment: client.environment,
      baseUrl: emulator.url,
      parameterName: client.parameterName,
      credentialsSecretId: credentialsSecretId(client),
      mode: "apply",
    }));
    const configSync: LocalLambda = await startLambda({
      functionName: "config-sync",
      handlerModule: new URL("../functions/config-sync/handler.ts", import.meta.url),
      timeoutMs: CONFIG_SYNC_TIMEOUT_MS,
      environment: {
        ...awsEnvironment,
        POWERTOOLS_SERVICE_NAME: "config-sync",
        CLIENT_REGISTRY_PATH: await writeRegistry(
          "config-sync",
          clientRegistryText(configSyncRegistrySchema, { clients: configuredClients }),
        ),
        CALLBACK_BASE_URL: functionUrl.url,
        CALLBACK_ROOT_SECRET_ID,
        STATUS_TABLE_NAME: STATUS_TABLE,
      },
      onLogLine: (line) => configSyncLog.write(`${line}\n`),
    });
    opened.push(() => configSync.close());

    const invokeConfigSync = async (event: unknown, trigger: Trigger, client?: string) => {
      const result = await configSync.invoke(event);
      for (const activity of syncActivities(trigger, result, client)) record(activity);
    };

    deliverChange = (event) => {
      const client = clientByParameter.get(event.detail.name);
      if (!client) return;
      record({
        kind: "parameter-change",
        client: client.name,
        parameterName: event.detail.name,
        operation: event.detail.operation,
      });
      void invokeConfigSync(event, "parameter-change", client.name);
    };
    const parameterFiles: ParameterFiles = await startParameterFiles({
      ssm,
      files: clients.map((client) => ({ parameterName: client.parameterName, path: client.parameterFile })),
      ...(options.settleMs === undefined ? {} : { settleMs: options.settleMs }),
      onRejected: (file, reason) => {
        const client = clientByParameter.get(file.parameterName);
        record({
          kind: "parameter-file-rejected",
          client: client?.name ?? "?",
          file: relative(process.cwd(), file.path),
          reason,
        });
      },
      onUnknownFile: (path) => {
        const name = basename(path, ".json");
        record({
          kind: "parameter-file-unknown",
          file: relative(process.cwd(), path),
          client: name,
          ...(NAME_PATTERN.test(name)
            ? { example: relative(process.cwd(), join(examplesDir, `${name}.json`)) }
            : {}),
        });
      },
    });
    opened.push(() => parameterFiles.close());

    const runSchedule = async () => {
      record({ kind: "schedule" });
      await invokeConfigSync(scheduledEvent(), "schedule");
    };
    if (options.scheduleMs > 0) {
      /* EventBridge fires on time regardless; config-sync's reserved concurrency of 1 makes a second run wait, so one tick at a time. */
      let running = false;
      const timer = setInterval(() => {
        if (running) return;
        running = true;
        void runSchedule().finally(() => {
          running = false;
        });
      }, options.scheduleMs);
      timer.unref();
      opened.push(() => clearInterval(timer));
    }

    return {
      emulator,
      clients,
      callbackBaseUrl: functionUrl.url,
      callbackCertificateFile,
      eventBusName: EVENT_BUS_NAME,
      statusTableName: STATUS_TABLE,
      region: REGION,
      awsEndpoints: {
        ssm: ssm.url,
        secretsManager: secretsManager.url,
        eventBridge: eventBridge.url,
        sqs: sqs.url,
        dynamoDb: dynamo.url,
      },
      logFiles,
      credentialsFile,
      activities,
      secrets,
      runSchedule,
      syncParameterFiles: () => parameterFiles.syncAll(),
      close: () => opened.closeAll(),
    };
  } catch (error) {
    await opened.closeAll();
    throw error;
  }
}
