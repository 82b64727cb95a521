import {
  DeleteParameterCommand,
  LabelParameterVersionCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { statusCommand } from "../../cli/commands/status.ts";
import { readStatuses } from "../../cli/status-table.ts";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import type { ConfigSyncResponse } from "../../functions/config-sync/app.ts";
import type { ConfiguredClient } from "../../functions/config-sync/config.ts";
import { derivePathSecret } from "../../functions/contracts/callback-path-secret.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { type ParameterStoreChangeEvent, type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { clientRegistryFile } from "../support/client-registry.ts";
import { type CapturedOutput, capturePerTest } from "../support/output-capture.ts";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import { bearerTokens, event, fixture, lambdaContext, leakedSecrets } from "./support.ts";

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<ConfigSyncResponse>;

const ACME = { clientId: "acme-client", clientSecret: "acme-secret-Pw93LmQ2" };
const GLOBEX = { clientId: "globex-client", clientSecret: "globex-secret-Zt51HcV8" };
const CALLBACK_ROOT_SECRET_ID = "finapi/callback-root";
const CALLBACK_ROOT_SECRET = "Wm3kP8vR2tX6yB9nQ4cL7hJ1dF5gS0aZ3eU8iO2kT6rV9nM4bX7qW1zC5hJ8lP2y";
const CALLBACK_SECRET = derivePathSecret(CALLBACK_ROOT_SECRET, { name: "acme", callbackSecretGeneration: 0 });
const CALLBACK_BASE_URL = "https://callbacks.example.com";
const TABLE = "config-sync-status";

/*
 * The real entry module, loaded the way Lambda loads it: configuration from the environment, SDK
 * clients created once and pointed at the local stand-ins through AWS_ENDPOINT_URL_<SERVICE>.
 */
async function loadHandler(environment: Record<string, string>): Promise<Handler> {
  vi.resetModules();
  for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  return (await import("../../functions/config-sync/handler.ts")).handler as unknown as Handler;
}

describe("config-sync handler (real SDK clients against local stand-ins)", {
  timeout: WORKER_TIMEOUT_MS,
}, () => {
  let ssm: SsmStandIn;
  let secretsManager: SecretsManagerStandIn;
  let dynamo: DynamoDbStandIn;
  let acmeFinapi: FinapiEmulator;
  let globexFinapi: FinapiEmulator;
  let ssmClient: SSMClient;
  let changes: ParameterStoreChangeEvent[];
  let handler: Handler;
  let output: CapturedOutput;
  const outputs = capturePerTest();
  /** Every secret the tests use and every access token finAPI issued, to scan the output for. */
  const secrets: string[] = [
    ACME.clientSecret,
    GLOBEX.clientSecret,
    CALLBACK_ROOT_SECRET,
    CALLBACK_SECRET,
    derivePathSecret(CALLBACK_ROOT_SECRET, { name: "globex", callbackSecretGeneration: 0 }),
  ];

  const awsEnvironment = () => ({
    AWS_REGION: "eu-central-1",
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_ENDPOINT_URL_SSM: ssm.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secretsManager.url,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
    POWERTOOLS_SERVICE_NAME: "config-sync",
    POWERTOOLS_METRICS_NAMESPACE: "FinapiConfigSync",
    LOG_LEVEL: "INFO",
    STATUS_TABLE_NAME: TABLE,
    /* Scheduled runs here must see what each test just put; the cache has its own tests. */
    PARAMETER_CACHE_TTL_SECONDS: "0",
  });

  const clients = (): ConfiguredClient[] => [
    {
      name: "acme",
      environment: "sandbox",
      baseUrl: acmeFinapi.url,
      parameterName: "/finapi/acme",
      credentialsSecretId: "finapi/acme/credentials",
      mode: "apply",
    },
    {
      name: "globex",
      environment: "sandbox",
      baseUrl: globexFinapi.url,
      parameterName: "/finapi/globex",
      credentialsSecretId: "finapi/globex/credentials",
      mode: "apply",
    },
  ];

  beforeAll(async () => {
    changes = [];
    ssm = await startSsm({ onChange: (change) => changes.push(change) });
    secretsManager = await startSecretsManager({
      "finapi/acme/credentials": JSON.stringify(ACME),
      "finapi/globex/credentials": JSON.stringify(GLOBEX),
      [CALLBACK_ROOT_SECRET_ID]: CALLBACK_ROOT_SECRET,
    });
    dynamo = await startDynamoDb();
    await dynamo.createTable(TABLE, "client");
    acmeFinapi = await startFinapiEmulator({ clients: [ACME] });
    globexFinapi = await startFinapiEmulator({ clients: [GLOBEX] });
    ssmClient = new SSMClient({
      endpoint: ssm.url,
      region: "eu-central-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    ssm.putParameter("/finapi/acme", fixture("documents/acme.json"));
    ssm.putParameter("/finapi/globex", fixture("documents/acme.json"));
    handler = await loadHandler({
      ...awsEnvironment(),
      CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: clients() }),
      CALLBACK_BASE_URL,
      CALLBACK_ROOT_SECRET_ID,
    });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    ssmClient.destroy();
    await Promise.all([
      ssm.close(),
      secretsManager.close(),
      dynamo.close(),
      acmeFinapi.close(),
      globexFinapi.close(),
    ]);
    expect(secrets.length).toBeGreaterThan(3);
    expect(leakedSecrets(outputs.everyLine, secrets)).toEqual([]);
  });

  beforeEach(() => {
    ssm.putParameter("/finapi/acme", fixture("documents/acme.json"));
    ssm.putParameter("/finapi/globex", fixture("documents/acme.json"));
    changes.length = 0;
    acmeFinapi.clearRequests();
    globexFinapi.clearRequests();
    output = outputs.start();
  });

  afterEach(() => {
    outputs.stop();
    secrets.push(...bearerTokens([acmeFinapi, globexFinapi]));
  });

  const lastChange = () => {
    const change = changes.at(-1);
    if (!change) throw new Error("Parameter Store emitted no change event");
    return change;
  };

  it("applies a document put into Parameter Store once its change event arrives, hosted callback included", async () => {
    const { Version } = await ssmClient.send(
      new PutParameterCommand({
        Name: "/finapi/acme",
        Value: fixture("documents/acme-changed.json"),
        Type: "SecureString",
        Overwrite: true,
      }),
    );

    const response = await handler(lastChange(), lambdaContext());

    expect(response.results.map((result) => `${result.client} ${result.outcome}`)).toEqual(["acme applied"]);
    expect(acmeFinapi.configurationOf(ACME.clientId)).toMatchObject({
      userNotificationCallbackUrl: "https://backend.example.com/finapi/v2/notifications",
      userSynchronizationCallbackUrl: `${CALLBACK_BASE_URL}/user-sync/acme/${CALLBACK_SECRET}`,
      refreshTokensValidityPeriod: 1209600,
    });
    const { statuses } = await readStatuses(DynamoDBDocumentClient.from(dynamo.client), TABLE, "acme");
    expect(statuses).toEqual([
      expect.objectContaining({
        client: "acme",
        outcome: "applied",
        trigger: "parameter-change",
        parameterVersion: Version,
      }),
    ]);
    expect(JSON.stringify(statuses)).not.toContain(CALLBACK_SECRET);
    expect(output.counted()).toEqual(["SyncApplied acme"]);
  });

  it("shows the stored outcome through finapi-config status", async () => {
    await handler(event("scheduled"), lambdaContext());
    let printed = "";
    const code = await statusCommand(
      ["--table", TABLE],
      { stdout: (text) => (printed += text), stderr: () => {}, env: {} },
      dynamo.client,
    );
    expect(printed).toMatch(/^acme +(applied|in-sync) +\S+ +schedule +v\d+ +/m);
    expect(printed).toMatch(/^globex +(applied|in-sync) /m);
    expect(code).toBe(0);
  });

  it("converges reordered events on the latest value, patching once", async () => {
    globexFinapi.drift(GLOBEX.clientId, { refreshTokensValidityPeriod: 60 });
    ssm.putParameter("/finapi/globex", fixture("documents/acme-changed.json"));
    const older = lastChange();
    ssm.putParameter("/finapi/globex", fixture("documents/acme.json"));
    const newer = lastChange();

    const outcomes = [];
    for (const delivered of [newer, older, newer]) {
      outcomes.push((await handler(delivered, lambdaContext())).results[0]?.outcome);
    }

    expect(outcomes).toEqual(["applied", "in-sync", "in-sync"]);
    expect(globexFinapi.requests.filter((request) => request.method === "PATCH")).toHaveLength(1);
    expect(globexFinapi.configurationOf(GLOBEX.clientId).refreshTokensValidityPeriod).toBe(604800);
  });

  it("reconciles on LabelParameterVersion", async () => {
    await ssmClient.send(new LabelParameterVersionCommand({ Name: "/finapi/acme", Labels: ["released"] }));
    expect(lastChange().detail.operation).toBe("LabelParameterVersion");
    const response = await handler(lastChange(), lambdaContext());
    expect(response.results[0]?.outcome).toBe("in-sync");
  });

  it("reports an invalid document without calling finAPI", async () => {
    ssm.putParameter("/finapi/globex", fixture("documents/invalid.json"));
    const response = await handler(lastChange(), lambdaContext());
    expect(response.results[0]).toMatchObject({ client: "globex", outcome: "invalid" });
    expect(globexFinapi.requests).toHaveLength(0);
    ssm.putParameter("/finapi/globex", fixture("documents/acme.json"));
  });

  it("renews the token once when finAPI answers 401, within the warm container", async () => {
    await handler({ client: "acme" }, lambdaContext());
    acmeFinapi.expireTokens();
    acmeFinapi.drift(ACME.clientId, { clientAccessTokensValidityPeriod: 600 });
    acmeFinapi.clearRequests();

    const response = await handler({ client: "acme" }, lambdaContext());

    expect(response.results[0]?.outcome).toBe("applied");
    expect(acmeFinapi.requests.map((request) => `${request.method} ${request.status}`)).toEqual([
      "GET 401",
      "POST 200",
      "GET 200",
      "PATCH 200",
    ]);
  });

  it("fails the invocation when one finAPI stays unavailable, after applying the other client", async () => {
    acmeFinapi.drift(ACME.clientId, { refreshTokensValidityPeriod: 0 });
    for (let attempt = 0; attempt < 5; attempt++) {
      globexFinapi.enqueueFault({ kind: "status", status: 503, headers: { "retry-after": "0" } });
    }

    await expect(handler(event("scheduled"), lambdaContext())).rejects.toThrow(
      /1 of 2 client\(s\) failed transiently \(globex\)/,
    );

    expect(acmeFinapi.configurationOf(ACME.clientId).refreshTokensValidityPeriod).toBe(604800);
    const { statuses } = await readStatuses(DynamoDBDocumentClient.from(dynamo.client), TABLE);
    expect(statuses.find((status) => status.client === "globex")).toMatchObject({
      outcome: "failed",
      retryable: true,
    });
  });

  it("fails the invocation when Parameter Store keeps throttling past the SDK's own retries", async () => {
    const sdkAttempts = 3;
    const callsBefore = ssm.calls.length;
    ssm.failNext("GetParameters", new AwsServiceError("ThrottlingException", "Rate exceeded"), sdkAttempts);
    await expect(handler(event("parameter-update"), lambdaContext())).rejects.toThrow(
      /1 of 1 client\(s\) failed transiently \(acme\)/,
    );
    expect(ssm.calls.slice(callsBefore).filter((call) => call.operation === "GetParameters")).toHaveLength(
      sdkAttempts,
    );
  });

  it("counts a Delete without touching finAPI, then reports the missing parameter on the schedule", async () => {
    await ssmClient.send(new DeleteParameterCommand({ Name: "/finapi/globex" }));
    const deleted = await handler(lastChange(), lambdaContext());
    expect(deleted.ignored).toContain("the parameter was deleted");
    expect(globexFinapi.requests).toHaveLength(0);
    expect(output.counted()).toEqual(["SyncParameterDeleted globex"]);

    const response = await handler(event("scheduled"), lambdaContext());

    expect(response.results.find((result) => result.client === "globex")).toEqual({
      client: "globex",
      outcome: "failed",
      message: 'parameter "/finapi/globex" does not exist in Parameter Store; finAPI was left unchanged',
      retryable: false,
    });
    ssm.putParameter("/finapi/globex", fixture("documents/acme.json"));
  });

  it("rejects a malformed event with a logged reason", async () => {
    const response = await handler(event("malformed/parameter-change-without-name"), lambdaContext());
    expect(response.rejected).toContain("detail.name");
    expect(output.logs()).toContainEqual(
      expect.objectContaining({ level: "ERROR", message: "input rejected", function_name: "config-sync" }),
    );
  });

  it("fails the cold start with a message that names the bad registry field", async () => {
    const registry = clientRegistryFile({ clients: [] });
    await expect(loadHandler({ ...awsEnvironment(), CLIENT_REGISTRY_PATH: registry })).rejects.toThrow(
      `config-sync configuration is invalid: client registry ${registry} [clients]: must name at least one finAPI client`,
    );
  });

  it("reconciles 100 clients in one scheduled run", async () => {
    const many = Array.from({ length: 100 }, (_, index) => ({
      clientId: `client-${index}`,
      clientSecret: `secret-${index}-Qm4Vx8Lp`,
    }));
    const finapi = await startFinapiEmulator({ clients: many });
    try {
      const configured: ConfiguredClient[] = many.map((credentials, index) => {
        ssm.putParameter(`/finapi/many/${index}`, fixture("documents/acme.json"));
        secretsManager.putSecret(`finapi/many/${index}`, JSON.stringify(credentials));
        return {
          name: `client-${index}`,
          environment: "sandbox",
          baseUrl: finapi.url,
          parameterName: `/finapi/many/${index}`,
          credentialsSecretId: `finapi/many/${index}`,
          mode: "apply",
        };
      });
      const manyHandler = await loadHandler({
        ...awsEnvironment(),
        CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: configured }),
      });

      const response = await manyHandler(event("scheduled"), lambdaContext());

      expect(response.results).toHaveLength(100);
      expect(new Set(response.results.map((result) => result.outcome))).toEqual(new Set(["applied"]));
      expect(finapi.configurationOf("client-99").refreshTokensValidityPeriod).toBe(604800);
      secrets.push(...many.map((credentials) => credentials.clientSecret));
      secrets.push(...bearerTokens([finapi]));
    } finally {
      await finapi.close();
    }
  });
});
