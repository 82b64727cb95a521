import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Context } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { readStatuses } from "../../cli/status-table.ts";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import {
  type ConfigSyncDependencies,
  createConfigSync,
  createConfigSyncHandler,
  TransientSyncFailure,
} from "../../functions/config-sync/app.ts";
import type { ConfiguredClient } from "../../functions/config-sync/config.ts";
import { createFinapiClientCache } from "../../functions/config-sync/finapi-clients.ts";
import type { ParameterSource } from "../../functions/config-sync/parameter-source.ts";
import type { SecretSource } from "../../functions/config-sync/secret-source.ts";
import { createStatusStore, type StatusStore } from "../../functions/config-sync/status-store.ts";
import { CLIENT_START_RESERVE_MS, RUN_ABORT_EARLY_MS } from "../../functions/config-sync/time-budget.ts";
import { CONFIG_SYNC_TIMEOUT_MS } from "../../functions/contracts/config-sync.ts";
import { METRICS_NAMESPACE } from "../../functions/contracts/metrics.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { type EnvironmentClock, environmentClock } from "../support/environment-clock.ts";
import { type CapturedOutput, capturePerTest } from "../support/output-capture.ts";
import { bearerTokens, lambdaContext, leakedSecrets, parameterChange } from "./support.ts";

const CREDENTIALS = { clientId: "acme-client", clientSecret: "acme-secret-Qd83KxW5" };
const PARAMETER = "/finapi/acme";
const CONFIGURATION_PATH = "/api/v1/clientConfiguration";
/* Under the finAPI client's 10 s request timeout: slow, but an answer. */
const SLOW_ANSWER_MS = 9_500;

interface SentRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly body: string;
  /** The request's signal had fired when it was handed over: fetch would not have sent it. */
  readonly afterAbort: boolean;
}

interface AwsCall {
  readonly at: number;
  readonly call: string;
  readonly signal: AbortSignal | undefined;
  readonly afterAbort: boolean;
}

/**
 * finAPI as the environment reaches it: each request goes to the emulator (which applies it at once),
 * and its answer takes `answerTakesMs` of the environment's time; an answer due while the environment
 * is frozen arrives at thaw, and the request's signal cuts the wait for it short, as fetch's does.
 */
function finapiStandIn(
  clock: EnvironmentClock,
  answerTakesMs: (request: SentRequest, status: number) => number,
) {
  const sent: SentRequest[] = [];
  const standIn: typeof fetch = async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const signal = init?.signal ?? undefined;
    const request: SentRequest = {
      at: clock.now(),
      method: init?.method ?? "GET",
      path: url.pathname,
      body: typeof init?.body === "string" ? init.body : "",
      afterAbort: signal?.aborted ?? false,
    };
    sent.push(request);
    if (signal?.aborted) throw signal.reason;
    const response = await fetch(url, { ...init, signal: null });
    const text = await response.text();
    clock.pass(answerTakesMs(request, response.status));
    await new Promise<void>((resolve, reject) => {
      if (signal?.aborted) reject(signal.reason);
      signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
      clock.whenAwake(resolve);
    });
    return new Response(text, { status: response.status, headers: response.headers });
  };
  return { fetch: standIn, sent };
}

describe("config-sync runs cut at their deadline (frozen, then thawed by the next invocation)", () => {
  let emulator: FinapiEmulator;
  let dynamo: DynamoDBDocumentClient;
  let dynamoStandIn: DynamoDbStandIn;
  let clock: EnvironmentClock;
  let parameters: Map<string, { value: string; version: number }>;
  let awsCalls: AwsCall[];
  let output: CapturedOutput;
  let table = 0;
  let tableName: string;
  const outputs = capturePerTest();
  const tokensSeen = new Set<string>();

  const client: () => ConfiguredClient = () => ({
    name: "acme",
    environment: "sandbox",
    baseUrl: emulator.url,
    parameterName: PARAMETER,
    credentialsSecretId: "finapi/acme/credentials",
    mode: "apply",
  });

  const putDocument = (refreshTokensValidityPeriod: number) => {
    const version = (parameters.get(PARAMETER)?.version ?? 0) + 1;
    parameters.set(PARAMETER, { value: JSON.stringify({ refreshTokensValidityPeriod }), version });
    return version;
  };

  const record = (call: string, signal: AbortSignal | undefined) =>
    awsCalls.push({ at: clock.now(), call, signal, afterAbort: signal?.aborted ?? false });

  /** One environment's config-sync: its caches, its finAPI clients and their tokens live across invocations. */
  function environment(answerTakesMs: (request: SentRequest, status: number) => number) {
    const finapi = finapiStandIn(clock, answerTakesMs);
    const parameterSource: ParameterSource = {
      reader: (_names, { signal }) => ({
        read: async (name) => {
          record(`GetParameter ${name}`, signal);
          return { snapshot: parameters.get(name), cached: false };
        },
      }),
    };
    const secretSource: SecretSource = {
      read: async (secretId, { signal }) => {
        record(`GetSecretValue ${secretId}`, signal);
        return JSON.stringify(CREDENTIALS);
      },
      /* No batches: every credentials read is the single read recorded above. */
      batches: () => ({ fetched: async () => {} }),
    };
    const table = createStatusStore(dynamo, tableName);
    const statusStore: StatusStore = {
      record: (statuses, options) => {
        for (const status of statuses)
          record(`status write ${status.client} v${status.parameterVersion}`, options?.signal);
        return table.record(statuses, options);
      },
    };
    const dependencies: ConfigSyncDependencies = {
      config: {
        clients: [client()],
        callbackBaseUrl: undefined,
        statusTableName: tableName,
        secretsCacheTtlSeconds: 300,
        parameterCacheTtlSeconds: 60,
      },
      parameters: parameterSource,
      secrets: secretSource,
      finapiClients: createFinapiClientCache({
        fetch: finapi.fetch,
        now: clock.now,
        sleep: clock.sleep,
        random: () => 0.5,
      }),
      statusStore,
      logger: new Logger({ serviceName: "config-sync" }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "config-sync" }),
      now: () => new Date(clock.now()),
    };
    const run = createConfigSync(dependencies);

    /*
     * An invocation with `remainingMs` left: middy's timer (an alarm on the environment's clock) aborts
     * the run's signal RUN_ABORT_EARLY_MS before the end, answers, and Lambda freezes the environment.
     */
    function invoke(event: unknown, remainingMs = CONFIG_SYNC_TIMEOUT_MS) {
      const endsAt = clock.now() + remainingMs;
      const abortsAt = endsAt - RUN_ABORT_EARLY_MS;
      const controller = new AbortController();
      const cancel = clock.alarm(abortsAt, () => {
        controller.abort();
        clock.freeze();
      });
      const context: Context = { ...lambdaContext(), getRemainingTimeInMillis: () => endsAt - clock.now() };
      const settled = run(event, context, { signal: controller.signal }).then(
        (response) => ({ response }),
        (error: unknown) => ({ error }),
      );
      void settled.then(cancel);
      return { abortsAt, signal: controller.signal, settled };
    }
    return { invoke, sent: finapi.sent };
  }

  const statusOf = async () => (await readStatuses(dynamo, tableName, "acme")).statuses[0];
  const outcomeLines = () => output.logs().filter((line) => line.message === "reconcile outcome");

  beforeAll(async () => {
    emulator = await startFinapiEmulator({ clients: [CREDENTIALS] });
    dynamoStandIn = await startDynamoDb();
    dynamo = DynamoDBDocumentClient.from(dynamoStandIn.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  });

  afterAll(async () => {
    await emulator.close();
    await dynamoStandIn.close();
    expect(leakedSecrets(outputs.everyLine, [CREDENTIALS.clientSecret, ...tokensSeen])).toEqual([]);
  });

  beforeEach(async () => {
    table += 1;
    tableName = `config-sync-status-${table}`;
    await dynamoStandIn.createTable(tableName, "client");
    clock = environmentClock();
    parameters = new Map();
    awsCalls = [];
    emulator.drift(CREDENTIALS.clientId, { refreshTokensValidityPeriod: 3600 });
    emulator.clearRequests();
    output = outputs.start();
  });

  afterEach(() => {
    outputs.stop();
    for (const token of bearerTokens([emulator])) tokensSeen.add(token);
  });

  it("sends nothing after the deadline of a run cut while finAPI answers its PATCH, so the next run's newer document stays in finAPI and in the status table", async () => {
    const environmentUnderTest = environment((request) =>
      /* finAPI applies the PATCH of version 1 at once but answers it only after the deadline. */
      request.method === "PATCH" && request.body.includes("3601") ? 130_000 : 0,
    );
    putDocument(3601);
    const first = environmentUnderTest.invoke(parameterChange(PARAMETER));
    await clock.untilFrozen();

    /* While the environment is frozen, the operator writes version 2; its event thaws the environment. */
    clock.pass(60_000);
    const version2 = putDocument(3602);
    clock.thaw();
    const second = environmentUnderTest.invoke(parameterChange(PARAMETER));
    expect(await second.settled).toMatchObject({ response: { results: [{ outcome: "applied" }] } });
    expect(await first.settled).toMatchObject({ error: expect.any(TransientSyncFailure) });

    expect(emulator.configurationOf(CREDENTIALS.clientId).refreshTokensValidityPeriod).toBe(3602);
    expect(await statusOf()).toMatchObject({ outcome: "applied", parameterVersion: version2 });
    const sentAfterTheCut = environmentUnderTest.sent.filter((request) => request.at >= first.abortsAt);
    expect(sentAfterTheCut.map((request) => `${request.method} ${request.path} ${request.body}`)).toEqual([
      `GET ${CONFIGURATION_PATH} `,
      `PATCH ${CONFIGURATION_PATH} {"refreshTokensValidityPeriod":3602}`,
    ]);
    expect(environmentUnderTest.sent.filter((request) => request.afterAbort)).toEqual([]);
    const awsAfterTheCut = awsCalls.filter((call) => call.at >= first.abortsAt);
    expect(awsAfterTheCut.every((call) => call.signal === second.signal)).toBe(true);
    expect(awsCalls.filter((call) => call.afterAbort)).toEqual([]);
    expect(awsCalls.map((call) => call.call)).toEqual([
      "GetParameter /finapi/acme",
      "GetSecretValue finapi/acme/credentials",
      "GetParameter /finapi/acme",
      "GetSecretValue finapi/acme/credentials",
      "status write acme v2",
    ]);
    expect(outcomeLines()[0]).toMatchObject({
      level: "ERROR",
      outcome: "failed",
      retryable: true,
      parameterVersion: 1,
      reason: "out of time: PATCH /api/v1/clientConfiguration was cut off by the deadline in attempt 1",
    });
  });

  it("sends nothing after the deadline of a run cut while it waits to retry, and the retry never comes", async () => {
    const environmentUnderTest = environment(() => 0);
    putDocument(3601);
    /* finAPI asks to come back in 2 s; the environment gets no CPU meanwhile and its deadline passes. */
    emulator.enqueueFault({
      match: { method: "PATCH" },
      kind: "status",
      status: 503,
      headers: { "Retry-After": "2" },
    });
    clock.stallNextWait(CONFIG_SYNC_TIMEOUT_MS);
    const first = environmentUnderTest.invoke(parameterChange(PARAMETER));
    await clock.untilFrozen();
    expect(await first.settled).toMatchObject({ error: expect.any(TransientSyncFailure) });
    expect(outcomeLines()[0]).toMatchObject({
      outcome: "failed",
      parameterVersion: 1,
      reason: expect.stringMatching(/^out of time: PATCH .* the deadline passed while waiting to retry$/),
    });

    clock.pass(60_000);
    const version2 = putDocument(3602);
    clock.thaw();
    const second = environmentUnderTest.invoke(parameterChange(PARAMETER));
    expect(await second.settled).toMatchObject({ response: { results: [{ outcome: "applied" }] } });

    expect(emulator.configurationOf(CREDENTIALS.clientId).refreshTokensValidityPeriod).toBe(3602);
    expect(await statusOf()).toMatchObject({ outcome: "applied", parameterVersion: version2 });
    const sentAfterTheCut = environmentUnderTest.sent.filter((request) => request.at >= first.abortsAt);
    expect(sentAfterTheCut.map((request) => `${request.method} ${request.body}`)).toEqual([
      "GET ",
      'PATCH {"refreshTokensValidityPeriod":3602}',
    ]);
    expect(
      awsCalls.filter((call) => call.at >= first.abortsAt).every((call) => call.signal === second.signal),
    ).toBe(true);
    expect(awsCalls.filter((call) => call.afterAbort)).toEqual([]);
  });

  it.each([
    ["a whole invocation", CONFIG_SYNC_TIMEOUT_MS],
    ["the start reserve (the latest a client starts)", CLIENT_START_RESERVE_MS],
  ])(
    "ends a client whose finAPI asks for Retry-After: 19 and answers slowly out of time, status stored, before the deadline, with %s left",
    async (_left, remainingMs) => {
      /* Each call's first attempt is answered at once with 503 and Retry-After: 19; its retry slowly. */
      for (const [method, path] of [
        ["POST", "/oauth/token"],
        ["GET", CONFIGURATION_PATH],
        ["PATCH", CONFIGURATION_PATH],
      ] as const) {
        emulator.enqueueFault({
          match: { method, path },
          kind: "status",
          status: 503,
          headers: { "Retry-After": "19" },
        });
      }
      const environmentUnderTest = environment((_request, status) => (status === 503 ? 0 : SLOW_ANSWER_MS));
      const version = putDocument(3601);
      const startedAt = clock.now();

      const run = environmentUnderTest.invoke(parameterChange(PARAMETER), remainingMs);
      const ended = await run.settled;

      expect(ended).toMatchObject({ error: expect.any(TransientSyncFailure) });
      expect(clock.frozen).toBe(false);
      expect(clock.now()).toBeLessThan(run.abortsAt);
      expect(clock.now() - startedAt).toBe(19_000 + SLOW_ANSWER_MS);
      expect(await statusOf()).toMatchObject({
        outcome: "failed",
        retryable: true,
        parameterVersion: version,
        message: expect.stringMatching(
          /^out of time: GET \/api\/v1\/clientConfiguration answered HTTP 503 and was not retried: the wait of 19000 ms/,
        ),
      });
      expect(environmentUnderTest.sent.map((request) => request.method)).toEqual(["POST", "POST", "GET"]);
      expect(emulator.configurationOf(CREDENTIALS.clientId).refreshTokensValidityPeriod).toBe(3600);
    },
  );
});

describe("createConfigSyncHandler's early timeout", () => {
  let output: CapturedOutput;
  const outputs = capturePerTest();
  beforeEach(() => {
    output = outputs.start();
  });
  afterEach(() => outputs.stop());

  it("gives the run middy's timeout signal: middy answers TimeoutError, the AWS call in flight is aborted and no status is written", async () => {
    let remainingMs = CONFIG_SYNC_TIMEOUT_MS;
    let readSignal: AbortSignal | undefined;
    const statusWrites: string[] = [];
    const handler = createConfigSyncHandler({
      config: {
        clients: [
          {
            name: "acme",
            environment: "sandbox",
            baseUrl: "http://127.0.0.1:9",
            parameterName: PARAMETER,
            credentialsSecretId: "finapi/acme/credentials",
            mode: "apply",
          },
        ],
        callbackBaseUrl: undefined,
        statusTableName: "status",
        secretsCacheTtlSeconds: 300,
        parameterCacheTtlSeconds: 60,
      },
      parameters: {
        /* Parameter Store hangs; middy, reading the remaining time after the run started, sets its timer to 20 ms. */
        reader: (_names, { signal }) => ({
          read: () => {
            readSignal = signal;
            remainingMs = RUN_ABORT_EARLY_MS + 20;
            return new Promise((_resolve, reject) => {
              signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
            });
          },
        }),
      },
      secrets: {
        read: () => Promise.reject(new Error("the run never gets this far")),
        batches: () => ({ fetched: () => Promise.reject(new Error("the run never gets this far")) }),
      },
      finapiClients: createFinapiClientCache(),
      statusStore: {
        record: async (statuses) =>
          statuses.map((status) => {
            statusWrites.push(status.client);
            return "stored";
          }),
      },
      logger: new Logger({ serviceName: "config-sync" }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "config-sync" }),
    });
    const context: Context = { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs };

    await expect(handler(parameterChange(PARAMETER), context)).rejects.toMatchObject({
      name: "TimeoutError",
    });

    expect(readSignal?.aborted).toBe(true);
    await expect
      .poll(() => output.logs().find((line) => line.message === "reconcile outcome"))
      .toMatchObject({
        outcome: "failed",
        reason:
          'out of time: reading parameter "/finapi/acme" from Parameter Store was cut off by the run\'s deadline',
      });
    expect(statusWrites).toEqual([]);
  });
});
