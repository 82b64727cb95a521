import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { GetParametersCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { Context } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import {
  type ConfigSyncDependencies,
  createConfigSyncHandler,
  TransientSyncFailure,
} from "../../functions/config-sync/app.ts";
import type { ConfiguredClient } from "../../functions/config-sync/config.ts";
import { createFinapiClientCache } from "../../functions/config-sync/finapi-clients.ts";
import { createParameterSource } from "../../functions/config-sync/parameter-source.ts";
import { createSecretSource } from "../../functions/config-sync/secret-source.ts";
import type { StatusStore } from "../../functions/config-sync/status-store.ts";
import { derivePathSecret } from "../../functions/contracts/callback-path-secret.ts";
import type { ClientStatus } from "../../functions/contracts/config-sync.ts";
import { METRICS_NAMESPACE } from "../../functions/contracts/metrics.ts";
import { startLocalServer } from "../support/local-servers.ts";
import { type CapturedOutput, capturePerTest } from "../support/output-capture.ts";
import { bearerTokens, event, fixture, lambdaContext, leakedSecrets, parameterChange } from "./support.ts";

const CREDENTIALS = {
  acme: { clientId: "acme-client", clientSecret: "acme-secret-Vq84TzL1" },
  globex: { clientId: "globex-client", clientSecret: "globex-secret-Ry2Wd07M" },
  initech: { clientId: "initech-client", clientSecret: "initech-secret-Hb5Ks3Nc" },
} as const;
type ClientName = keyof typeof CREDENTIALS;
const CALLBACK_ROOT_SECRET_ID = "finapi/callback-root";
const CALLBACK_ROOT_SECRET = "Rt8vK2mQ9xL4wN7pB3cZ6yH1jF5gD0sA8eU2iO4kT7rV9nM3bX6qW1zC5hJ8lP2y";
const CALLBACK_SECRET = derivePathSecret(CALLBACK_ROOT_SECRET, { name: "acme", callbackSecretGeneration: 0 });
const ROTATED_SECRET = "acme-secret-rotated-J6mN2vB8";
const CALLBACK_BASE_URL = "https://callbacks.example.com";

/** Built from an SDK error's wire shape: the fields Powertools and the classification read. */
function awsError(name: string, fault: "client" | "server", retryable = false) {
  return Object.assign(new Error(`${name} (test)`), {
    name,
    $fault: fault,
    $metadata: {},
    ...(retryable ? { $retryable: { throttling: true } } : {}),
  });
}

describe("createConfigSyncHandler", () => {
  let finapi: FinapiEmulator;
  /** A second finAPI for the clients a test lets fail: faults there touch no other client. */
  let flakyFinapi: FinapiEmulator;
  const ssm = new SSMClient({ region: "eu-central-1" });
  const secretsManager = new SecretsManagerClient({ region: "eu-central-1" });
  const ssmMock = mockClient(ssm);
  const secretsMock = mockClient(secretsManager);
  /** Parameter Store and Secrets Manager as the mocks answer them. */
  let parameters: Map<string, { value: string; version: number }>;
  let secrets: Map<string, string>;
  let output: CapturedOutput;
  const outputs = capturePerTest();

  const putParameter = (name: string, value: string) => {
    const version = (parameters.get(name)?.version ?? 0) + 1;
    parameters.set(name, { value, version });
    return version;
  };

  const configured = (name: ClientName, overrides: Partial<ConfiguredClient> = {}): ConfiguredClient => ({
    name,
    environment: "sandbox",
    baseUrl: finapi.url,
    parameterName: `/finapi/${name}`,
    credentialsSecretId: `finapi/${name}/credentials`,
    mode: "apply",
    ...overrides,
  });

  function build(
    clients: readonly ConfiguredClient[],
    options: {
      callbackBaseUrl?: string;
      statusStore?: StatusStore;
      concurrency?: number;
      now?: () => Date;
    } = {},
  ) {
    const statuses = new Map<string, ClientStatus>();
    const dependencies: ConfigSyncDependencies = {
      config: {
        clients: [...clients],
        callbackBaseUrl: options.callbackBaseUrl,
        ...(options.callbackBaseUrl === undefined ? {} : { callbackRootSecretId: CALLBACK_ROOT_SECRET_ID }),
        statusTableName: "status",
        secretsCacheTtlSeconds: 300,
        parameterCacheTtlSeconds: 60,
      },
      parameters: createParameterSource(ssm, 60),
      secrets: createSecretSource(secretsManager, 300),
      finapiClients: createFinapiClientCache({ sleep: async () => {} }),
      statusStore: options.statusStore ?? {
        record: async (batch) =>
          batch.map((status) => {
            statuses.set(status.client, status);
            return "stored";
          }),
      },
      logger: new Logger({ serviceName: "config-sync" }),
      metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName: "config-sync" }),
      ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
      ...(options.now === undefined ? {} : { now: options.now }),
    };
    return { handler: createConfigSyncHandler(dependencies), statuses };
  }

  const finapiCalls = (emulator: FinapiEmulator = finapi) =>
    emulator.requests.map((request) => `${request.method} ${new URL(request.path, "http://x").pathname}`);

  beforeAll(async () => {
    finapi = await startFinapiEmulator({
      clients: Object.values(CREDENTIALS).map((credentials) => ({ ...credentials, environment: "sandbox" })),
    });
    flakyFinapi = await startFinapiEmulator({ clients: [{ ...CREDENTIALS.acme, environment: "sandbox" }] });
  });

  afterAll(async () => {
    await finapi.close();
    await flakyFinapi.close();
    const tokens = [...tokensSeen];
    expect(tokens.length).toBeGreaterThan(0);
    const everySecret = [
      ...Object.values(CREDENTIALS).map((credentials) => credentials.clientSecret),
      CALLBACK_ROOT_SECRET,
      CALLBACK_SECRET,
      ROTATED_SECRET,
      ...tokens,
    ];
    expect(leakedSecrets(outputs.everyLine, everySecret)).toEqual([]);
  });

  beforeEach(() => {
    parameters = new Map();
    secrets = new Map(
      Object.entries(CREDENTIALS).map(([name, credentials]) => [
        `finapi/${name}/credentials`,
        JSON.stringify(credentials),
      ]),
    );
    secrets.set(CALLBACK_ROOT_SECRET_ID, CALLBACK_ROOT_SECRET);
    ssmMock.reset();
    secretsMock.reset();
    ssmMock.on(GetParametersCommand).callsFake((input: { Names: string[] }) => ({
      Parameters: input.Names.flatMap((name) => {
        const parameter = parameters.get(name);
        return parameter
          ? [{ Name: name, Type: "String", Value: parameter.value, Version: parameter.version }]
          : [];
      }),
      InvalidParameters: input.Names.filter((name) => !parameters.has(name)),
    }));
    secretsMock.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => {
      const value = secrets.get(input.SecretId);
      if (value === undefined) throw new ResourceNotFoundException({ message: "not found", $metadata: {} });
      return { Name: input.SecretId, SecretString: value };
    });
    /* As AWS answers: each secret by its name, the ones it cannot read in Errors. */
    secretsMock.on(BatchGetSecretValueCommand).callsFake((input: { SecretIdList: string[] }) => ({
      SecretValues: input.SecretIdList.flatMap((id) => {
        const value = secrets.get(id);
        return value === undefined ? [] : [{ Name: id, SecretString: value }];
      }),
      Errors: input.SecretIdList.filter((id) => !secrets.has(id)).map((id) => ({
        SecretId: id,
        ErrorCode: "ResourceNotFoundException",
        Message: "Secrets Manager can't find the specified secret.",
      })),
    }));
    for (const [name, credentials] of Object.entries(CREDENTIALS)) {
      finapi.drift(credentials.clientId, {
        userNotificationCallbackUrl: null,
        userSynchronizationCallbackUrl: null,
        refreshTokensValidityPeriod: 3600,
        userAccessTokensValidityPeriod: 3600,
        clientAccessTokensValidityPeriod: 3600,
      });
      putParameter(`/finapi/${name}`, fixture("documents/acme.json"));
    }
    finapi.clearRequests();
    flakyFinapi.clearRequests();
    output = outputs.start();
  });

  /* Each test's tokens, collected before the next test clears the emulators' requests. */
  const tokensSeen = new Set<string>();
  afterEach(() => {
    outputs.stop();
    for (const token of bearerTokens([finapi, flakyFinapi])) tokensSeen.add(token);
  });

  const outcomeLog = (client: string) =>
    output.logs().find((line) => line.message === "reconcile outcome" && line.client === client);

  describe("Parameter Store Change events", () => {
    it("applies the changed document, reading the parameter afresh despite the warm cache", async () => {
      const { handler, statuses } = build([configured("acme")]);
      await handler(event("scheduled"), lambdaContext());
      const version = putParameter("/finapi/acme", fixture("documents/acme-changed.json"));
      output.clear();

      const response = await handler(event("parameter-update"), lambdaContext());

      expect(response.results).toEqual([
        {
          client: "acme",
          outcome: "applied",
          changes: [
            {
              field: "userNotificationCallbackUrl",
              from: "https://backend.example.com/finapi/notifications",
              to: "https://backend.example.com/finapi/v2/notifications",
            },
            { field: "refreshTokensValidityPeriod", from: 604800, to: 1209600 },
          ],
          finapiRequestId: expect.any(String),
        },
      ]);
      expect(finapi.configurationOf("acme-client").refreshTokensValidityPeriod).toBe(1209600);
      expect(statuses.get("acme")).toMatchObject({ trigger: "parameter-change", parameterVersion: version });
      expect(output.counted()).toEqual(["SyncApplied acme"]);
      expect(outcomeLog("acme")).toMatchObject({
        level: "INFO",
        outcome: "applied",
        parameterVersion: version,
      });
    });

    it.each(["parameter-create", "parameter-label", "parameter-update-without-slash"])(
      "reconciles the client on %s",
      async (fixtureName) => {
        const { handler } = build([configured("acme")]);
        const response = await handler(event(fixtureName), lambdaContext());
        expect(response.results.map((result) => result.outcome)).toEqual(["applied"]);
      },
    );

    it("converges duplicated and reordered events on the latest value, patching once", async () => {
      const { handler } = build([configured("acme")]);
      putParameter("/finapi/acme", fixture("documents/acme-changed.json"));
      const newest = event("parameter-update");
      const older = event("parameter-create");

      const outcomes = [];
      for (const delivered of [newest, older, newest]) {
        outcomes.push((await handler(delivered, lambdaContext())).results[0]?.outcome);
      }

      expect(outcomes).toEqual(["applied", "in-sync", "in-sync"]);
      expect(finapiCalls().filter((call) => call.startsWith("PATCH"))).toHaveLength(1);
      expect(finapi.configurationOf("acme-client").refreshTokensValidityPeriod).toBe(1209600);
    });

    it("logs and counts a Delete without reading the parameter or calling finAPI", async () => {
      const { handler, statuses } = build([configured("acme")]);
      const response = await handler(event("parameter-delete"), lambdaContext());
      expect(response).toEqual({
        results: [],
        ignored: expect.stringContaining("the parameter was deleted"),
      });
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(0);
      expect(finapi.requests).toHaveLength(0);
      expect(statuses.size).toBe(0);
      expect(output.counted()).toEqual(["SyncParameterDeleted acme"]);
      expect(output.logs()).toContainEqual(
        expect.objectContaining({ level: "WARN", message: "parameter deleted", client: "acme" }),
      );
    });

    it("ignores a parameter that is no configured client's document", async () => {
      const { handler } = build([configured("acme")]);
      const response = await handler(event("parameter-update-unmanaged"), lambdaContext());
      expect(response).toEqual({ results: [], ignored: "the parameter is no configured client's document" });
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(0);
      expect(output.counted()).toEqual([]);
    });
  });

  describe("malformed input", () => {
    it.each([
      "malformed/parameter-change-without-name",
      "malformed/parameter-change-unknown-operation",
      "malformed/unknown-source",
      "malformed/scheduled-wrong-detail-type",
      "malformed/manual-misspelt-field",
      "malformed/manual-dry-run-not-boolean",
      "malformed/array",
    ])("rejects %s with a logged reason and touches nothing", async (fixtureName) => {
      const { handler, statuses } = build([configured("acme")]);
      const response = await handler(event(fixtureName), lambdaContext());
      expect(response.results).toEqual([]);
      expect(response.rejected).toEqual(expect.any(String));
      expect(output.logs()).toContainEqual(
        expect.objectContaining({ level: "ERROR", message: "input rejected", reason: response.rejected }),
      );
      expect(ssmMock.calls()).toHaveLength(0);
      expect(secretsMock.calls()).toHaveLength(0);
      expect(finapi.requests).toHaveLength(0);
      expect(statuses.size).toBe(0);
      expect(output.counted()).toEqual([]);
    });
  });

  describe("documents that cannot be applied", () => {
    it("reports every violation of an invalid document without reading a secret or calling finAPI", async () => {
      putParameter("/finapi/acme", fixture("documents/invalid.json"));
      const { handler, statuses } = build([configured("acme")]);

      const response = await handler(event("parameter-update"), lambdaContext());

      const result = response.results[0];
      expect(result?.outcome).toBe("invalid");
      expect(result?.outcome === "invalid" && result.violations.map((v) => `${v.path} ${v.rule}`)).toEqual([
        "userNotificationCallbackUrl url",
        "refreshTokensValidityPeriod range",
        "userAccesTokensValidityPeriod unknown-key",
      ]);
      expect(secretsMock.calls()).toHaveLength(0);
      expect(finapi.requests).toHaveLength(0);
      expect(statuses.get("acme")?.outcome).toBe("invalid");
      expect(output.counted()).toEqual(["SyncInvalid acme"]);
      expect(outcomeLog("acme")).toMatchObject({ level: "ERROR", violations: expect.any(Array) });
    });

    it("reports a parameter that is not JSON as invalid", async () => {
      putParameter("/finapi/acme", fixture("documents/not-json.txt"));
      const { handler } = build([configured("acme")]);
      const [result] = (await handler(event("parameter-update"), lambdaContext())).results;
      expect(result).toMatchObject({ outcome: "invalid", violations: [{ path: "$", rule: "json" }] });
      expect(finapi.requests).toHaveLength(0);
    });

    it("reports a key the parameter repeats as a duplicate-key violation, with where the repetition stands", async () => {
      putParameter("/finapi/acme", fixture("documents/duplicate-key.json"));
      const { handler } = build([configured("acme")]);
      const [result] = (await handler(event("parameter-update"), lambdaContext())).results;
      expect(result).toMatchObject({
        outcome: "invalid",
        violations: [{ path: "refreshTokensValidityPeriod", rule: "duplicate-key", line: 4, column: 3 }],
      });
      expect(finapi.requests).toHaveLength(0);
    });

    it("reports a parameter that does not exist as a failure no retry can fix", async () => {
      parameters.delete("/finapi/acme");
      const { handler, statuses } = build([configured("acme")]);
      const response = await handler(event("parameter-update"), lambdaContext());
      expect(response.results).toEqual([
        {
          client: "acme",
          outcome: "failed",
          message: 'parameter "/finapi/acme" does not exist in Parameter Store; finAPI was left unchanged',
          retryable: false,
        },
      ]);
      expect(finapi.requests).toHaveLength(0);
      expect(statuses.get("acme")?.parameterVersion).toBeUndefined();
      expect(output.counted()).toEqual(["SyncFailed acme"]);
    });
  });

  describe("failure semantics", () => {
    it("fails the invocation when finAPI stays unavailable, after reconciling the other clients", async () => {
      flakyFinapi.drift("acme-client", { clientAccessTokensValidityPeriod: 7200 });
      for (let attempt = 0; attempt < 5; attempt++) {
        flakyFinapi.enqueueFault({
          match: { path: "/api/v1/clientConfiguration" },
          kind: "status",
          status: 503,
        });
      }
      const { handler, statuses } = build([
        configured("acme", { baseUrl: flakyFinapi.url }),
        configured("globex"),
      ]);

      await expect(handler(event("scheduled"), lambdaContext())).rejects.toThrow(TransientSyncFailure);

      expect(statuses.get("acme")).toMatchObject({ outcome: "failed", retryable: true });
      expect(statuses.get("globex")?.outcome).toBe("applied");
      expect(output.counted().sort()).toEqual(["SyncApplied globex", "SyncFailed acme"]);
      expect(
        finapiCalls(flakyFinapi).filter((call) => call === "GET /api/v1/clientConfiguration"),
      ).toHaveLength(5);
    });

    it("names its client and the invocation on each line a client's reconcile logs, in warm invocations too", async () => {
      const { handler } = build([configured("acme"), configured("globex")]);
      /* The finAPI clients (and their tokens) are kept from the first invocation to the second. */
      for (const context of [lambdaContext(), lambdaContext()]) {
        output.clear();

        await handler(event("scheduled"), context);

        const callLines = output.logs().filter((line) => line.message === "finAPI call");
        expect(new Set(callLines.map((line) => line.client))).toEqual(new Set(["acme", "globex"]));
        for (const line of [...callLines, outcomeLog("acme"), outcomeLog("globex")]) {
          expect(line).toMatchObject({ service: "config-sync", function_request_id: context.awsRequestId });
        }
      }
    });

    it("keeps a client finAPI rejects from stopping the others, and succeeds: a retry would be rejected again", async () => {
      flakyFinapi.enqueueFault({ match: { method: "PATCH" }, kind: "status", status: 400 });
      const { handler, statuses } = build([
        configured("acme", { baseUrl: flakyFinapi.url }),
        configured("globex"),
      ]);

      const response = await handler(event("scheduled"), lambdaContext());

      const acme = response.results.find((result) => result.client === "acme");
      expect(acme).toMatchObject({ outcome: "rejected", status: 400, finapiErrors: [expect.any(Object)] });
      expect(acme?.outcome === "rejected" && acme.finapiRequestId).toBe(
        flakyFinapi.requests.find((request) => request.method === "PATCH")?.headers["x-request-id"],
      );
      expect(response.results.find((result) => result.client === "globex")?.outcome).toBe("applied");
      expect(statuses.get("acme")?.outcome).toBe("rejected");
      expect(outcomeLog("acme")).toMatchObject({
        level: "ERROR",
        outcome: "rejected",
        finapiErrors: expect.any(Array),
      });
    });

    it.each([
      [307, "POST", "/oauth/token"],
      [301, "GET", "/api/v1/clientConfiguration"],
      [308, "PATCH", "/api/v1/clientConfiguration"],
    ])(
      "rejects a %i answering %s %s without following it: nothing reaches the other origin",
      async (status, method, path) => {
        const elsewhere = await startLocalServer();
        try {
          flakyFinapi.drift("acme-client", { clientAccessTokensValidityPeriod: 7200 });
          flakyFinapi.enqueueFault({
            match: { method, path },
            kind: "status",
            status,
            headers: { Location: `${elsewhere.url}/collect?from=finapi` },
          });
          const { handler, statuses } = build([configured("acme", { baseUrl: flakyFinapi.url })]);

          const response = await handler(event("scheduled"), lambdaContext());

          expect(response.results[0]).toMatchObject({
            outcome: "rejected",
            status,
            message: expect.stringContaining(
              `${method} ${path} answered HTTP ${status}, a redirect to ${elsewhere.url}:`,
            ) as string,
          });
          expect(JSON.stringify(response)).not.toContain("/collect");
          expect(statuses.get("acme")?.outcome).toBe("rejected");
          expect(elsewhere.requests).toEqual([]);
          expect(finapiCalls(flakyFinapi).filter((call) => call === `${method} ${path}`)).toHaveLength(1);
        } finally {
          await elsewhere.close();
        }
      },
    );

    it("keeps the token across warm invocations and renews it once when finAPI answers 401", async () => {
      const { handler } = build([configured("acme")]);
      await handler(event("scheduled"), lambdaContext());
      await handler(event("scheduled"), lambdaContext());
      expect(finapiCalls().filter((call) => call === "POST /oauth/token")).toHaveLength(1);

      finapi.expireTokens();
      finapi.drift("acme-client", { refreshTokensValidityPeriod: 60 });
      finapi.clearRequests();
      const response = await handler(event("scheduled"), lambdaContext());

      /* The drift the cached document shows is planned again from a fresh read, against the same GET. */
      expect(response.results[0]?.outcome).toBe("applied");
      expect(finapi.requests.map((request) => `${request.method} ${request.status}`)).toEqual([
        "GET 401",
        "POST 200",
        "GET 200",
        "PATCH 200",
      ]);
    });

    it("reads the credentials afresh when finAPI refuses the cached ones, and makes the refused call again with rotated ones", async () => {
      const original = CREDENTIALS.acme;
      const rotatingFinapi = await startFinapiEmulator({
        clients: [{ clientId: original.clientId, clientSecret: ROTATED_SECRET }],
      });
      try {
        const { handler } = build([configured("acme", { baseUrl: rotatingFinapi.url })]);
        const before = await handler(event("scheduled"), lambdaContext());
        expect(before.results[0]).toMatchObject({ outcome: "rejected", status: 401 });

        secrets.set("finapi/acme/credentials", JSON.stringify({ ...original, clientSecret: ROTATED_SECRET }));
        rotatingFinapi.clearRequests();
        const after = await handler(event("scheduled"), lambdaContext());

        expect(after.results[0]?.outcome).toBe("applied");
        /* The batch read them once; each read afresh after a 401 is a GetSecretValue of its own. */
        expect(secretsMock.commandCalls(BatchGetSecretValueCommand)).toHaveLength(1);
        expect(
          secretsMock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
        ).toEqual(["finapi/acme/credentials", "finapi/acme/credentials"]);
        /* Only the refused call is made again with the new credentials: no second look at finAPI. */
        expect(rotatingFinapi.requests.map((request) => `${request.method} ${request.status}`)).toEqual([
          "POST 401",
          "POST 200",
          "GET 200",
          "PATCH 200",
        ]);
        outputs.everyLine.push(
          ...rotatingFinapi.requests.map((request) => request.headers.authorization ?? ""),
        );
      } finally {
        await rotatingFinapi.close();
      }
    });

    it("fails a client whose credentials secret is malformed, naming the secret but not its value", async () => {
      secrets.set(
        "finapi/acme/credentials",
        `{"clientId":"acme-client","secret":"${CREDENTIALS.acme.clientSecret}"}`,
      );
      const { handler } = build([configured("acme"), configured("globex")]);

      const response = await handler(event("scheduled"), lambdaContext());

      expect(response.results).toContainEqual({
        client: "acme",
        outcome: "failed",
        message: 'the credentials secret "finapi/acme/credentials" clientSecret is required',
        retryable: false,
      });
      expect(response.results.find((result) => result.client === "globex")?.outcome).toBe("applied");
    });

    it("fails the invocation when Parameter Store throttles, but not when access is denied", async () => {
      const { handler } = build([configured("acme")]);
      ssmMock.on(GetParametersCommand).rejects(awsError("ThrottlingException", "client", true));
      await expect(handler(event("parameter-update"), lambdaContext())).rejects.toThrow(TransientSyncFailure);

      ssmMock.on(GetParametersCommand).rejects(awsError("AccessDeniedException", "client"));
      const response = await handler(event("parameter-update"), lambdaContext());
      expect(response.results[0]).toMatchObject({
        outcome: "failed",
        retryable: false,
        message: expect.stringContaining(
          'reading parameter "/finapi/acme" from Parameter Store failed (AccessDeniedException)',
        ),
      });
    });

    it("fails the invocation when Secrets Manager is down", async () => {
      secretsMock.on(BatchGetSecretValueCommand).rejects(awsError("InternalServiceError", "server"));
      secretsMock.on(GetSecretValueCommand).rejects(awsError("InternalServiceError", "server"));
      const { handler, statuses } = build([configured("acme")]);
      await expect(handler(event("scheduled"), lambdaContext())).rejects.toThrow(TransientSyncFailure);
      expect(statuses.get("acme")).toMatchObject({
        outcome: "failed",
        retryable: true,
        message:
          'reading the credentials secret "finapi/acme/credentials" from Secrets Manager failed (InternalServiceError)',
      });
    });

    it("reports the clients it had no time left to start as transient failures", async () => {
      let remainingMs = 120_000;
      const context: Context = { ...lambdaContext(), getRemainingTimeInMillis: () => remainingMs };
      /* acme's reconcile is slow: when it ends (its status is timestamped), less than the start reserve is left for globex. */
      const { handler, statuses } = build([configured("acme"), configured("globex")], {
        concurrency: 1,
        now: () => {
          remainingMs = 10_000;
          return new Date();
        },
      });

      await expect(handler(event("scheduled"), context)).rejects.toThrow(TransientSyncFailure);

      expect(statuses.get("acme")?.outcome).toBe("applied");
      expect(statuses.get("globex")).toMatchObject({
        outcome: "failed",
        retryable: true,
        message: expect.stringContaining("too little of the invocation was left"),
      });
    });

    it("stores the statuses of a run's clients together, in one call for up to 25", async () => {
      const batches: string[][] = [];
      const { handler } = build([configured("acme"), configured("globex"), configured("initech")], {
        statusStore: {
          record: async (statuses) => {
            batches.push(statuses.map((status) => `${status.client} ${status.outcome}`));
            return statuses.map(() => "stored");
          },
        },
      });
      await handler(event("scheduled"), lambdaContext());
      expect(batches).toEqual([["acme applied", "globex applied", "initech applied"]]);
    });

    it("logs a status the table left unprocessed as not stored, naming its client", async () => {
      const { handler } = build([configured("acme"), configured("globex")], {
        statusStore: {
          record: async (statuses) =>
            statuses.map((status) => (status.client === "globex" ? "unprocessed" : "stored")),
        },
      });
      await handler(event("scheduled"), lambdaContext());
      const notStored = output.logs().filter((line) => line.level === "ERROR");
      expect(notStored).toEqual([
        expect.objectContaining({ client: "globex", errorName: "UnprocessedItems" }),
      ]);
    });

    it("keeps the outcome in the log and the metrics when the status cannot be stored", async () => {
      const { handler } = build([configured("acme")], {
        statusStore: {
          record: () => Promise.reject(awsError("ProvisionedThroughputExceededException", "client")),
        },
      });
      const response = await handler(event("scheduled"), lambdaContext());
      expect(response.results[0]?.outcome).toBe("applied");
      expect(output.counted()).toEqual(["SyncApplied acme"]);
      expect(output.logs()).toContainEqual(
        expect.objectContaining({
          level: "ERROR",
          client: "acme",
          errorName: "ProvisionedThroughputExceededException",
        }),
      );
    });
  });

  describe("modes and manual invokes", () => {
    it("reports drift of a report-only client without patching", async () => {
      const { handler, statuses } = build([configured("initech", { mode: "report-only" })]);
      const response = await handler(event("scheduled"), lambdaContext());
      expect(response.results[0]).toMatchObject({ outcome: "drift-reported", dryRun: false });
      expect(finapiCalls()).not.toContain("PATCH /api/v1/clientConfiguration");
      expect(statuses.get("initech")?.outcome).toBe("drift-reported");
      expect(output.counted()).toEqual(["SyncDriftReported initech"]);
      expect(outcomeLog("initech")?.level).toBe("WARN");
    });

    it("answers a manual dry run with the drift, without patching, counting or storing it", async () => {
      const { handler, statuses } = build([configured("acme"), configured("globex")]);
      const response = await handler({ client: "acme", dryRun: true }, lambdaContext());
      expect(response.results).toEqual([
        expect.objectContaining({ client: "acme", outcome: "drift-reported", dryRun: true }),
      ]);
      expect(finapiCalls()).not.toContain("PATCH /api/v1/clientConfiguration");
      expect(statuses.size).toBe(0);
      expect(output.counted()).toEqual([]);
    });

    it("compares a dry run's document with finAPI without reading, applying or storing the parameter", async () => {
      const { handler, statuses } = build([configured("acme")]);
      const response = await handler(
        { client: "acme", dryRun: true, document: { refreshTokensValidityPeriod: 7777 } },
        lambdaContext(),
      );
      expect(response.results).toEqual([
        expect.objectContaining({
          client: "acme",
          outcome: "drift-reported",
          dryRun: true,
          changes: [expect.objectContaining({ field: "refreshTokensValidityPeriod", to: 7777 })],
        }),
      ]);
      expect(finapiCalls()).not.toContain("PATCH /api/v1/clientConfiguration");
      expect(statuses.size).toBe(0);
      expect(output.counted()).toEqual([]);
    });

    it("answers an invalid dry-run document with its violations, calling finAPI not at all", async () => {
      const { handler } = build([configured("acme")]);
      const response = await handler(
        { client: "acme", dryRun: true, document: { refreshTokenValidityPeriod: 7777 } },
        lambdaContext(),
      );
      expect(response.results[0]).toMatchObject({
        outcome: "invalid",
        violations: [expect.objectContaining({ path: "refreshTokenValidityPeriod", rule: "unknown-key" })],
      });
      expect(finapiCalls()).toEqual([]);
    });

    it("reconciles every client on a manual invoke without a client", async () => {
      const { handler, statuses } = build([configured("acme"), configured("globex")]);
      const response = await handler({}, lambdaContext());
      expect(response.results.map((result) => `${result.client} ${result.outcome}`)).toEqual([
        "acme applied",
        "globex applied",
      ]);
      expect(statuses.get("globex")?.trigger).toBe("manual");
    });

    it("returns a manual invoke's outcomes, transient failures included, instead of failing", async () => {
      for (let attempt = 0; attempt < 5; attempt++) {
        flakyFinapi.enqueueFault({ match: { path: "/oauth/token" }, kind: "status", status: 502 });
      }
      const { handler } = build([configured("acme", { baseUrl: flakyFinapi.url })]);
      const response = await handler({ client: "acme" }, lambdaContext());
      expect(response.results[0]).toMatchObject({ outcome: "failed", retryable: true });
    });

    it("rejects a manual invoke for a client that is not configured", async () => {
      const { handler } = build([configured("acme")]);
      const response = await handler({ client: "acmee" }, lambdaContext());
      expect(response).toEqual({
        results: [],
        rejected: 'client: no configured client is named "acmee"; did you mean "acme"?',
      });
    });
  });

  describe("the hosted user-sync callback", () => {
    it("sets the hosted callback URL, secret included, when the document leaves it out, and never shows the secret", async () => {
      const { handler, statuses } = build([configured("acme")], {
        callbackBaseUrl: CALLBACK_BASE_URL,
      });

      const response = await handler(event("parameter-update"), lambdaContext());

      expect(finapi.configurationOf("acme-client").userSynchronizationCallbackUrl).toBe(
        `${CALLBACK_BASE_URL}/user-sync/acme/${CALLBACK_SECRET}`,
      );
      const change = response.results[0]?.outcome === "applied" ? response.results[0].changes : [];
      expect(change).toContainEqual({
        field: "userSynchronizationCallbackUrl",
        from: null,
        to: `${CALLBACK_BASE_URL}/user-sync/acme/***`,
      });
      expect(JSON.stringify([...statuses.values()])).not.toContain(CALLBACK_SECRET);
    });

    it("lets a URL set in the document win over the hosted one, and still masks the old hosted URL", async () => {
      finapi.drift("acme-client", {
        userSynchronizationCallbackUrl: `${CALLBACK_BASE_URL}/user-sync/acme/${CALLBACK_SECRET}`,
      });
      putParameter("/finapi/acme", fixture("documents/explicit-sync-callback.json"));
      const { handler } = build([configured("acme")], {
        callbackBaseUrl: CALLBACK_BASE_URL,
      });

      const response = await handler(event("parameter-update"), lambdaContext());

      expect(finapi.configurationOf("acme-client").userSynchronizationCallbackUrl).toBe(
        "https://users.example.com/finapi/deleted",
      );
      expect(JSON.stringify(response)).not.toContain(CALLBACK_SECRET);
    });

    it("leaves the field unmanaged when the stack hosts no callback", async () => {
      finapi.drift("acme-client", { userSynchronizationCallbackUrl: "https://users.example.com/kept" });
      const { handler } = build([configured("acme")]);
      await handler(event("parameter-update"), lambdaContext());
      expect(finapi.configurationOf("acme-client").userSynchronizationCallbackUrl).toBe(
        "https://users.example.com/kept",
      );
      expect(
        secretsMock.commandCalls(GetSecretValueCommand, { SecretId: CALLBACK_ROOT_SECRET_ID }),
      ).toHaveLength(0);
      expect(
        secretsMock
          .commandCalls(BatchGetSecretValueCommand)
          .flatMap((call) => call.args[0].input.SecretIdList ?? []),
      ).toEqual(["finapi/acme/credentials"]);
    });

    it("registers the path secret of the client's generation, and after a bump the new one, leaving other clients' URLs as they were", async () => {
      const secretOf = (name: string, callbackSecretGeneration: number) =>
        derivePathSecret(CALLBACK_ROOT_SECRET, { name, callbackSecretGeneration });
      putParameter("/finapi/globex", fixture("documents/acme.json"));
      const run = (acmeGeneration: number) =>
        build([configured("acme", { callbackSecretGeneration: acmeGeneration }), configured("globex")], {
          callbackBaseUrl: CALLBACK_BASE_URL,
        }).handler(event("scheduled"), lambdaContext());

      await run(0);
      const globexUrl = `${CALLBACK_BASE_URL}/user-sync/globex/${secretOf("globex", 0)}`;
      expect(finapi.configurationOf("globex-client").userSynchronizationCallbackUrl).toBe(globexUrl);
      const response = await run(1);

      expect(finapi.configurationOf("acme-client").userSynchronizationCallbackUrl).toBe(
        `${CALLBACK_BASE_URL}/user-sync/acme/${secretOf("acme", 1)}`,
      );
      expect(finapi.configurationOf("globex-client").userSynchronizationCallbackUrl).toBe(globexUrl);
      expect(secretOf("acme", 1)).not.toBe(CALLBACK_SECRET);
      expect(JSON.stringify(response)).not.toContain(secretOf("acme", 1));
      expect(leakedSecrets(outputs.everyLine, [secretOf("acme", 1), secretOf("globex", 0)])).toEqual([]);
    });

    it("fails a client whose callback root secret is too short to be safe, without showing it", async () => {
      secrets.set(CALLBACK_ROOT_SECRET_ID, "short-secret");
      const { handler } = build([configured("acme")], {
        callbackBaseUrl: CALLBACK_BASE_URL,
      });
      const response = await handler(event("parameter-update"), lambdaContext());
      expect(response.results[0]).toMatchObject({
        outcome: "failed",
        retryable: false,
        message: expect.stringContaining(
          'the callback root secret "finapi/callback-root" must be at least 43 characters',
        ),
      });
      expect(JSON.stringify(response)).not.toContain("short-secret");
      expect(finapi.requests).toHaveLength(0);
    });
  });

  describe("caching", () => {
    it("serves a scheduled run's parameters from the cache but reads afresh for an event or a manual invoke", async () => {
      const { handler } = build([configured("acme")]);
      /* The first run misses the cache, so its read is fresh and it patches from it at once. The second is in sync. */
      await handler(event("scheduled"), lambdaContext());
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);
      await handler(event("scheduled"), lambdaContext());
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(1);

      await handler(parameterChange("/finapi/acme"), lambdaContext());
      await handler({ client: "acme" }, lambdaContext());
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(3);
      /* The credentials are read once, by the first run's batch, and served from the cache after. */
      expect(secretsMock.commandCalls(BatchGetSecretValueCommand)).toHaveLength(1);
      expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    });

    it("reads the secrets of a run's clients together, the callback root secret with them, 20 a call", async () => {
      const names = ["acme", "globex", "initech"] as const;
      const { handler } = build(
        names.map((name) => configured(name)),
        { callbackBaseUrl: CALLBACK_BASE_URL },
      );
      await handler({}, lambdaContext());
      expect(
        secretsMock.commandCalls(BatchGetSecretValueCommand).map((call) => call.args[0].input.SecretIdList),
      ).toEqual([[CALLBACK_ROOT_SECRET_ID, ...names.map((name) => `finapi/${name}/credentials`)]]);
      expect(secretsMock.commandCalls(GetSecretValueCommand)).toHaveLength(0);
    });

    it("reads a secret the batch could not read on its own, and fails its client with the message a single read gives", async () => {
      secrets.delete("finapi/globex/credentials");
      const { handler } = build([configured("acme"), configured("globex")]);
      const response = await handler({ client: "globex" }, lambdaContext());
      expect(response.results[0]).toMatchObject({
        outcome: "failed",
        retryable: false,
        message:
          'reading the credentials secret "finapi/globex/credentials" from Secrets Manager failed (ResourceNotFoundException): check that it exists and that the function may read it',
      });
      expect(
        secretsMock.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId),
      ).toEqual(["finapi/globex/credentials"]);
    });

    it("reads each client's secrets on their own when the batch call fails", async () => {
      secretsMock.on(BatchGetSecretValueCommand).rejects(awsError("AccessDeniedException", "client"));
      const { handler } = build([configured("acme"), configured("globex")]);
      const response = await handler({}, lambdaContext());
      expect(response.results.map((result) => result.outcome)).toEqual(["applied", "applied"]);
      expect(
        secretsMock
          .commandCalls(GetSecretValueCommand)
          .map((call) => call.args[0].input.SecretId)
          .sort(),
      ).toEqual(["finapi/acme/credentials", "finapi/globex/credentials"]);
    });

    it("reads the documents of a run's clients together, in one GetParameters call for up to 10", async () => {
      const names = ["acme", "globex", "initech"] as const;
      const { handler } = build(names.map((name) => configured(name)));
      await handler({}, lambdaContext());
      expect(ssmMock.commandCalls(GetParametersCommand).map((call) => call.args[0].input.Names)).toEqual([
        names.map((name) => `/finapi/${name}`),
      ]);
    });

    it("applies a scheduled run's document that the cache did not hold with one GET and one PATCH", async () => {
      const { handler } = build([configured("acme")]);
      finapi.clearRequests();
      await handler(event("scheduled"), lambdaContext());
      const calls = finapi.requests
        .filter((request) => request.path === "/api/v1/clientConfiguration")
        .map((request) => request.method);
      expect(calls).toEqual(["GET", "PATCH"]);
    });

    it("re-reads a cached document afresh before a scheduled run patches, so a newer one is never overwritten", async () => {
      const { handler } = build([configured("acme")]);
      putParameter("/finapi/acme", JSON.stringify({ refreshTokensValidityPeriod: 3600 }));
      await handler(event("scheduled"), lambdaContext());
      putParameter("/finapi/acme", JSON.stringify({ refreshTokensValidityPeriod: 7200 }));
      finapi.drift(CREDENTIALS.acme.clientId, { refreshTokensValidityPeriod: 600 });
      finapi.clearRequests();

      const response = await handler(event("scheduled"), lambdaContext());

      const patches = finapi.requests
        .filter((request) => request.method === "PATCH")
        .map((request) => JSON.parse(request.body));
      expect(patches).toEqual([{ refreshTokensValidityPeriod: 7200 }]);
      expect(response).toMatchObject({ results: [{ client: "acme", outcome: "applied" }] });
      expect(ssmMock.commandCalls(GetParametersCommand)).toHaveLength(2);
    });
  });
});
