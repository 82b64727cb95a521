import { randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { App, Duration, Stack } from "aws-cdk-lib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BUDGETS } from "../../bench/budgets.ts";
import type { FinapiEmulator } from "../../emulator/index.ts";
import { startFinapiEmulator } from "../../emulator/index.ts";
import { derivePathSecret } from "../../functions/contracts/callback-path-secret.ts";
import {
  deletionMessageGroupId,
  publishedMarkKey,
  type UserDeletedDetail,
  userDeletedDetailSchema,
} from "../../functions/contracts/user-deletion.ts";
import {
  ESM_REQUIRE_BANNER,
  ObservedNodeFunction,
  REPOSITORY_ROOT,
} from "../../infra/constructs/observed-node-function.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { type EventBridgeStandIn, startEventBridge } from "../../local/aws/eventbridge.ts";
import { type KmsStandIn, startKms } from "../../local/aws/kms.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "../../local/aws/sqs.ts";
import { type ParameterStoreChangeEvent, type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { hostLambda } from "../../local/lambda-runtime.ts";
import {
  createStandInResources,
  physicalValues,
  readAssembly,
  type SynthesizedFunction,
  type SynthesizedStack,
  synthesizeStack,
} from "../reliability/support/synthesized-stack.ts";
import { clientRegistryFile } from "../support/client-registry.ts";
import { SYNTH_TIMEOUT_MS, WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import { resolve } from "./render.ts";

const FIXTURES = join(REPOSITORY_ROOT, "test/fixtures/infra");
const readJson = (path: string) =>
  JSON.parse(readFileSync(join(FIXTURES, path), "utf8")) as Record<string, unknown>;

const REGION = "eu-central-1";
const FUNCTION_URL = "https://abcdefghij.lambda-url.eu-central-1.on.aws/";
const CLIENT = {
  name: "bundles",
  clientId: "bundles-client-id",
  clientSecret: `cs-${randomBytes(12).toString("hex")}`,
};

const DELETION_FIXTURES = join(REPOSITORY_ROOT, "test/fixtures/deletion-publisher");
const deletions = JSON.parse(readFileSync(join(DELETION_FIXTURES, "deletions.json"), "utf8")) as Record<
  string,
  UserDeletedDetail
>;
const fifoRecord = JSON.parse(readFileSync(join(DELETION_FIXTURES, "fifo-record.json"), "utf8")) as {
  attributes: Record<string, string>;
};

/** The SQS event Lambda's event source hands the publisher for these deletion queue message bodies. */
function deletionQueueBatch(bodies: readonly string[]) {
  return {
    Records: bodies.map((body) => {
      const detail = JSON.parse(body) as UserDeletedDetail;
      return {
        ...fifoRecord,
        messageId: randomUUID(),
        body,
        attributes: {
          ...fifoRecord.attributes,
          MessageGroupId: deletionMessageGroupId(detail),
          MessageDeduplicationId: detail.deletionId,
        },
      };
    }),
  };
}

const queueNameOf = (queueUrl: string | undefined) => String(queueUrl).split("/").at(-1) as string;

interface Invocation {
  readonly reply: { ok: true; result: unknown } | { ok: false; error: { name: string; message: string } };
  readonly output: string;
}

interface BundledFunction {
  readonly bundle: string;
  readonly timeoutMs: number;
  /** The function's environment as the template gives it, resolved against the stand-ins. */
  readonly environment: Record<string, string>;
}

/** Runs a bundle's handler once in a fresh execution environment, capturing everything it writes. */
async function invokeBundle(
  name: string,
  fn: BundledFunction,
  event: unknown,
  extraEnvironment: Record<string, string | undefined> = {},
): Promise<Invocation> {
  const environment = Object.fromEntries(
    Object.entries({ ...fn.environment, ...extraEnvironment }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const lines: string[] = [];
  const lambda = hostLambda({
    functionName: name,
    handlerModule: pathToFileURL(fn.bundle),
    environment,
    timeoutMs: fn.timeoutMs,
    onLogLine: (line, from) => {
      if (from === "function") lines.push(line);
    },
  });
  try {
    const result = await lambda.invoke(event);
    const reply: Invocation["reply"] = result.ok
      ? { ok: true, result: result.payload }
      : { ok: false, error: { name: result.errorType, message: result.errorMessage } };
    return { reply, output: lines.join("\n") };
  } finally {
    await lambda.terminate();
  }
}

/** The EMF metrics in a function's output: each metric name with each of its dimension sets, valued. */
function emittedMetrics(output: string): { metric: string; dimensions: Record<string, string> }[] {
  return output
    .split("\n")
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => {
      const record = JSON.parse(line) as Record<string, unknown> & {
        _aws: {
          CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
        };
      };
      return record._aws.CloudWatchMetrics.flatMap((directive) =>
        directive.Metrics.flatMap((metric) =>
          directive.Dimensions.map((set) => ({
            metric: `${directive.Namespace}/${metric.Name}`,
            dimensions: Object.fromEntries(set.map((name) => [name, String(record[name])])),
          })),
        ),
      );
    });
}

/** What a Metrics Insights query (SELECT SUM(m) FROM SCHEMA("ns", d1, d2) WHERE d = 'v' ...) watches. */
function watchedByQuery(expression: string): {
  metric: string;
  dimensionNames: string[];
  fixed: Record<string, string>;
} {
  const match =
    /^SELECT SUM\((\w+)\) FROM SCHEMA\("([^"]+)", ([^)]+)\)(?: WHERE (.+?))?(?: GROUP BY .*)?$/.exec(
      expression,
    );
  if (!match) throw new Error(`not a query this test reads: ${expression}`);
  const [, name, namespace, dimensionNames, where] = match as unknown as string[];
  return {
    metric: `${namespace}/${name}`,
    dimensionNames: String(dimensionNames).split(", "),
    fixed: Object.fromEntries(
      [...(where ?? "").matchAll(/(\w+) = '([^']*)'/g)].map(([, key, value]) => [key, value]),
    ),
  };
}

describe("the handler bundles cdk synth produces", { timeout: WORKER_TIMEOUT_MS }, () => {
  const changes: ParameterStoreChangeEvent[] = [];
  /* The stack's generated secrets by name: the callback root secret. */
  const callbackSecrets = new Map<string, string>();
  /* The path secret of client "bundles", derived from the root secret as the callback and config-sync derive it. */
  const pathSecretOfBundles = () =>
    derivePathSecret(callbackSecrets.get("FinapiBundles/user-sync-callback/root") as string, {
      name: "bundles",
      callbackSecretGeneration: 0,
    });
  const outputs: string[] = [];
  let stack: SynthesizedStack;
  let ssm: SsmStandIn;
  let secrets: SecretsManagerStandIn;
  let events: EventBridgeStandIn;
  let sqs: SqsStandIn;
  let dynamo: DynamoDbStandIn;
  let finapi: FinapiEmulator;
  let kms: KmsStandIn;
  let configSync: BundledFunction;
  let callback: BundledFunction;
  let publisher: BundledFunction;

  beforeAll(async () => {
    stack = synthesizeStack(readJson("contexts/bundles.json"));

    const busNames = stack.resourcesOf("AWS::Events::EventBus").map(([, bus]) => String(bus.Properties.Name));
    [ssm, secrets, events, sqs, dynamo, finapi, kms] = await Promise.all([
      startSsm({ onChange: (change) => changes.push(change) }),
      startSecretsManager({
        [(readJson("contexts/bundles.json")["finapi:clients"] as { credentialsSecretId: string }[])[0]
          ?.credentialsSecretId as string]: JSON.stringify({
          clientId: CLIENT.clientId,
          clientSecret: CLIENT.clientSecret,
        }),
      }),
      startEventBridge({ busNames }),
      startSqs(),
      startDynamoDb(),
      startFinapiEmulator({ clients: [{ clientId: CLIENT.clientId, clientSecret: CLIENT.clientSecret }] }),
      startKms(),
    ]);

    /* What CloudFormation would create, created in the stand-ins; Refs resolve to these. */
    const physical = new Map<string, string>();
    for (const [logicalId, secret] of stack.resourcesOf("AWS::SecretsManager::Secret")) {
      const name = String(secret.Properties.Name);
      const value = randomBytes(64)
        .toString("base64")
        .replace(/[^A-Za-z0-9]/g, "")
        .slice(0, 64);
      secrets.putSecret(name, value);
      callbackSecrets.set(name, value);
      physical.set(logicalId, secrets.arnOf(name));
    }
    for (const [logicalId] of stack.resourcesOf("AWS::KMS::Key"))
      physical.set(`${logicalId}.Arn`, kms.createHmacKey());
    await createStandInResources(stack, { dynamo, sqs }, physical, REGION);
    const lookup = physicalValues(physical, REGION, FUNCTION_URL);

    const bundled = (serviceName: string, fn: SynthesizedFunction): BundledFunction => {
      const environment = stack.environmentOf(fn, lookup);
      return {
        bundle: fn.bundle,
        timeoutMs: fn.timeoutMs,
        environment: {
          ...environment,
          /* The only mapping: finAPI's address in config-sync's registry becomes the emulator's. */
          ...(serviceName === "config-sync"
            ? {
                CLIENT_REGISTRY_PATH: clientRegistryFile(
                  JSON.stringify(stack.registryOf(fn)).replaceAll("https://sandbox.finapi.io", finapi.url),
                ),
              }
            : {}),
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: "test",
          AWS_SECRET_ACCESS_KEY: "test",
          AWS_EC2_METADATA_DISABLED: "true",
          AWS_LAMBDA_FUNCTION_NAME: serviceName,
          AWS_ENDPOINT_URL_SSM: ssm.url,
          AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.url,
          AWS_ENDPOINT_URL_EVENTBRIDGE: events.url,
          AWS_ENDPOINT_URL_SQS: sqs.url,
          AWS_ENDPOINT_URL_DYNAMODB: dynamo.url,
          AWS_ENDPOINT_URL_KMS: kms.url,
        },
      };
    };
    configSync = bundled("config-sync", stack.configSync);
    callback = bundled("user-sync-callback", stack.callback);
    publisher = bundled("deletion-publisher", stack.deletionPublisher);
  }, SYNTH_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([ssm, secrets, events, sqs, dynamo, finapi, kms].map((standIn) => standIn?.close()));
    stack?.remove();
  });

  it("runs config-sync's index.mjs on a Parameter Store Change event and applies the document, hosted callback URL included", async () => {
    const document = readFileSync(join(FIXTURES, "documents/bundles.json"), "utf8");
    ssm.putParameter("/finapi/bundles", document);
    const change = changes.at(-1);
    expect(change?.detail).toMatchObject({ name: "/finapi/bundles", operation: "Create" });

    const { reply, output } = await invokeBundle("config-sync", configSync, change);
    outputs.push(output);
    expect(reply).toEqual({
      ok: true,
      result: { results: [expect.objectContaining({ client: "bundles", outcome: "applied" })] },
    });
    const secret = pathSecretOfBundles();
    expect(finapi.configurationOf(CLIENT.clientId)).toMatchObject({
      userNotificationCallbackUrl: "https://backend.example.com/finapi/notifications",
      userSynchronizationCallbackUrl: `${FUNCTION_URL}user-sync/bundles/${secret}`,
      refreshTokensValidityPeriod: 7200,
      userAccessTokensValidityPeriod: 900,
    });
    const statusTable = configSync.environment.STATUS_TABLE_NAME;
    const { Item } = await DynamoDBDocumentClient.from(dynamo.client).send(
      new GetCommand({ TableName: statusTable, Key: { client: "bundles" } }),
    );
    expect(Item).toMatchObject({ client: "bundles", outcome: "applied", trigger: "parameter-change" });
  });

  it("runs the publisher's index.mjs on a deletion queue batch: the deletion on the bus once, marked, and a redelivery skipped", async () => {
    const detail = { ...deletions.sandbox, deletionId: randomUUID() };
    const batch = deletionQueueBatch([JSON.stringify(detail)]);

    for (const attempt of [1, 2]) {
      const { reply, output } = await invokeBundle("deletion-publisher", publisher, batch);
      outputs.push(output);
      expect(reply, `attempt ${attempt}`).toEqual({ ok: true, result: { batchItemFailures: [] } });
    }
    expect(events.events.filter((event) => event.detail.deletionId === detail.deletionId)).toEqual([
      expect.objectContaining({
        eventBusName: publisher.environment.EVENT_BUS_NAME,
        source: "finapi.user-sync",
        detailType: "finAPI User Deleted",
        detail,
      }),
    ]);
    const { Item } = await dynamo.client.send(
      new GetItemCommand({
        TableName: publisher.environment.DELETIONS_TABLE_NAME,
        Key: { id: { S: publishedMarkKey(detail.deletionId) } },
      }),
    );
    expect(Item?.eventId?.S).toEqual(expect.any(String));
  });

  it("runs the callback's index.mjs on a Function URL request, which hands the deletion to the deletion queue, and the publisher's index.mjs puts it on the bus", async () => {
    const secret = pathSecretOfBundles();
    const request = readJson("events/function-url-request.json");
    const path = `/user-sync/bundles/${secret}`;
    const event = {
      ...request,
      rawPath: path,
      requestContext: {
        ...(request.requestContext as object),
        http: { ...(request.requestContext as { http: object }).http, path },
      },
    };

    const { reply, output } = await invokeBundle("user-sync-callback", callback, event);
    outputs.push(output);
    /* The callback's log says why when it took another path (an AWS call that timed out, say). */
    expect(reply, output).toEqual({ ok: true, result: expect.objectContaining({ statusCode: 202 }) });
    const queued = sqs.bodies(queueNameOf(callback.environment.DELETION_QUEUE_URL));
    expect(queued, output).toHaveLength(1);
    const detail = userDeletedDetailSchema.parse(JSON.parse(queued[0] as string));
    expect(detail).toMatchObject({
      userBase: "sandbox",
      environment: "sandbox",
      userId: "user-4711",
      event: "DELETED",
      client: "bundles",
    });
    expect(callback.environment.DELETION_QUEUE_URL).not.toBe(callback.environment.DEAD_LETTER_QUEUE_URL);

    const published = await invokeBundle("deletion-publisher", publisher, deletionQueueBatch(queued));
    outputs.push(published.output);
    expect(published.reply).toEqual({ ok: true, result: { batchItemFailures: [] } });
    expect(events.events.filter((busEvent) => busEvent.detail.deletionId === detail.deletionId)).toEqual([
      expect.objectContaining({
        eventBusName: publisher.environment.EVENT_BUS_NAME,
        source: "finapi.user-sync",
        detail,
      }),
    ]);
    expect(sqs.bodies(queueNameOf(callback.environment.DEAD_LETTER_QUEUE_URL))).toEqual([]);
  });

  it("runs the callback's index.mjs on an API Gateway REST proxy request and forwards that deletion too", async () => {
    const secret = pathSecretOfBundles();
    const request = readJson("events/rest-api-request.json");
    const path = `/user-sync/bundles/${secret}`;
    const event = {
      ...request,
      path,
      pathParameters: { client: "bundles", secret },
      requestContext: { ...(request.requestContext as object), path: `/callback${path}` },
    };

    const { reply, output } = await invokeBundle("user-sync-callback", callback, event);
    outputs.push(output);
    expect(reply).toEqual({ ok: true, result: expect.objectContaining({ statusCode: 202 }) });
    const queued = sqs
      .bodies(queueNameOf(callback.environment.DELETION_QUEUE_URL))
      .filter((body) => userDeletedDetailSchema.parse(JSON.parse(body)).userId === "user-4712");
    expect(queued).toHaveLength(1);
    const published = await invokeBundle("deletion-publisher", publisher, deletionQueueBatch(queued));
    outputs.push(published.output);
    expect(events.events.filter((busEvent) => busEvent.detail.userId === "user-4712")).toEqual([
      expect.objectContaining({
        source: "finapi.user-sync",
        detail: expect.objectContaining({ userId: "user-4712", event: "DELETED", client: "bundles" }),
      }),
    ]);
  });

  it("deploys each handler as its index.mjs, with the client registry where the function has clients: no source map in the asset, no NODE_OPTIONS to read one", () => {
    expect(readdirSync(dirname(configSync.bundle))).toEqual(["client-registry.json", "index.mjs"]);
    expect(readdirSync(dirname(callback.bundle))).toEqual(["client-registry.json", "index.mjs"]);
    expect(readdirSync(dirname(publisher.bundle))).toEqual(["index.mjs"]);
    for (const fn of [configSync, callback, publisher]) {
      expect(readFileSync(fn.bundle, "utf8")).not.toContain("sourceMappingURL");
      expect(fn.environment).not.toHaveProperty("NODE_OPTIONS");
    }
  });

  it("keeps each handler's index.mjs within the 400 KB budget", () => {
    for (const fn of [configSync, callback, publisher]) {
      expect(statSync(fn.bundle).size).toBeLessThanOrEqual(BUDGETS.bundleBytes);
    }
  });

  it("bundles zod/mini without classic zod, and no event-stream codec, only the module that refuses to load one", () => {
    for (const fn of [configSync, callback, publisher]) {
      const code = readFileSync(fn.bundle, "utf8");
      const holds = (text: string) => code.includes(text);
      expect(holds('"ZodString"')).toBe(false);
      expect(holds('"ZodMiniString"')).toBe(true);
      expect(holds("too short to accommodate event stream message overhead")).toBe(false);
      expect(holds("@smithy/core/event-streams is not bundled into this function")).toBe(true);
    }
  });

  it("takes AWS credentials only from the environment variables Lambda sets, never from a profile file", async () => {
    const { reply, output } = await invokeBundle(
      "config-sync",
      configSync,
      JSON.parse(
        readFileSync(join(REPOSITORY_ROOT, "test/fixtures/config-sync/events/scheduled.json"), "utf8"),
      ),
      {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
        AWS_SHARED_CREDENTIALS_FILE: join(FIXTURES, "profile-credentials"),
      },
    );
    outputs.push(output);
    expect(reply).toEqual({ ok: false, error: expect.objectContaining({ name: "TransientSyncFailure" }) });
    expect(output).toContain("from Parameter Store failed (CredentialsProviderError)");
  });

  it("emits the metrics the dashboard and the alarms watch, under the same names and dimensions", () => {
    const emitted = outputs.flatMap(emittedMetrics);
    const dashboard = stack.resourcesOf("AWS::CloudWatch::Dashboard")[0]?.[1];
    const body = JSON.parse(String(resolve(dashboard?.Properties.DashboardBody, () => "x"))) as {
      widgets: { properties: { metrics?: (string | { expression?: string })[][] } }[];
    };
    const graphed = body.widgets.flatMap((widget) => widget.properties.metrics ?? []);
    const watched = [
      ...graphed.map((metric) => {
        const query = metric.find((part) => typeof part === "object" && part.expression !== undefined);
        if (typeof query === "object") return watchedByQuery(String(query.expression));
        const [namespace, name, ...rest] = metric.filter((part) => typeof part === "string");
        const dimensions: Record<string, string> = {};
        for (let index = 0; index + 1 < rest.length; index += 2)
          dimensions[rest[index] as string] = rest[index + 1] as string;
        return { metric: `${namespace}/${name}`, dimensionNames: Object.keys(dimensions), fixed: dimensions };
      }),
      ...stack
        .resourcesOf("AWS::CloudWatch::Alarm")
        .flatMap(([, alarm]) => (alarm.Properties.Metrics as { Expression?: string }[] | undefined) ?? [])
        .map((query) => watchedByQuery(String(query.Expression))),
    ];
    expect(emitted).toContainEqual({
      metric: "FinapiConfigSync/FinapiBundles/SyncApplied",
      dimensions: { service: "config-sync", client: "bundles" },
    });
    expect(emitted).toContainEqual({
      metric: "FinapiConfigSync/FinapiBundles/CallbackForwarded",
      dimensions: { service: "user-sync-callback" },
    });
    expect(emitted).toContainEqual({
      metric: "FinapiConfigSync/FinapiBundles/Published",
      dimensions: { service: "deletion-publisher" },
    });
    const checked = watched.filter((candidate) =>
      emitted.some((metric) => metric.metric === candidate.metric),
    );
    expect(checked.map((candidate) => candidate.metric)).toEqual(
      expect.arrayContaining([
        "FinapiConfigSync/FinapiBundles/SyncApplied",
        "FinapiConfigSync/FinapiBundles/CallbackForwarded",
        "FinapiConfigSync/FinapiBundles/Published",
      ]),
    );
    for (const candidate of checked) {
      const sets = emitted
        .filter((metric) => metric.metric === candidate.metric)
        .map((metric) => metric.dimensions);
      /* A query's SCHEMA matches metrics with exactly those dimensions; its WHERE fixes some values. */
      expect(
        sets.some(
          (dimensions) =>
            [...Object.keys(dimensions)].sort().join() === [...candidate.dimensionNames].sort().join() &&
            Object.entries(candidate.fixed).every(([name, value]) => dimensions[name] === value),
        ),
        `${candidate.metric} ${JSON.stringify(candidate)} in ${JSON.stringify(sets)}`,
      ).toBe(true);
    }
  });

  it("writes no secret to its logs: not the client secret, a token or the callback path secret", () => {
    const tokens = finapi.requests
      .map((request) => request.headers.authorization?.replace(/^Bearer /, ""))
      .filter((token): token is string => token !== undefined && token.length > 8);
    expect(tokens.length).toBeGreaterThan(0);
    const log = outputs.join("\n");
    expect(log.length).toBeGreaterThan(0);
    for (const secret of [
      CLIENT.clientSecret,
      ...tokens,
      ...callbackSecrets.values(),
      pathSecretOfBundles(),
    ]) {
      expect(log).not.toContain(secret);
    }
  });
});

describe("the function bundle's createRequire banner", { timeout: WORKER_TIMEOUT_MS }, () => {
  const outdir = mkdtempSync(join(tmpdir(), "finapi-banner-"));
  let bundle: BundledFunction;

  beforeAll(() => {
    const app = new App({ outdir });
    const stack = new Stack(app, "Banner");
    new ObservedNodeFunction(stack, "Legacy", {
      entry: "test/fixtures/infra/cjs-entry/handler.mjs",
      description: "A handler with a CommonJS dependency",
      serviceName: "banner",
      timeout: Duration.seconds(3),
      reservedConcurrentExecutions: 1,
    });
    app.synth();
    const assembly = readAssembly(outdir, stack.artifactId);
    const [legacy] = assembly.resourcesOf("AWS::Lambda::Function").map(([, fn]) => assembly.bundleOf(fn));
    bundle = { bundle: legacy as string, timeoutMs: 3000, environment: {} };
  }, SYNTH_TIMEOUT_MS);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("lets a CommonJS dependency require a Node built-in inside the ESM bundle", async () => {
    expect(readFileSync(bundle.bundle, "utf8").startsWith(ESM_REQUIRE_BANNER)).toBe(true);
    const { reply } = await invokeBundle("banner", bundle, {});
    expect(reply).toEqual({ ok: true, result: { hostname: expect.any(String) } });
  });

  it("is what makes it work: the same bundle without the banner cannot load", async () => {
    const withoutBanner = join(outdir, "without-banner.mjs");
    writeFileSync(withoutBanner, readFileSync(bundle.bundle, "utf8").replace(ESM_REQUIRE_BANNER, ""));
    const { reply } = await invokeBundle("banner", { ...bundle, bundle: withoutBanner }, {});
    expect(reply).toEqual({
      ok: false,
      error: {
        name: "Error",
        message: expect.stringContaining('Dynamic require of "node:os" is not supported'),
      },
    });
  });
});

describe("no-event-streams.ts, bundled in place of the SDK's event-stream codec", () => {
  const EVENT_STREAM_IMPORT = /const \{([^}]*)\} = await import\("@smithy\/core\/event-streams"\)/g;

  it("exports every name the SDK's protocols import from the codec", async () => {
    const protocols = join(REPOSITORY_ROOT, "node_modules/@smithy/core/dist-es/submodules/protocols");
    const imported = readdirSync(protocols, { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".js"))
      .flatMap((file) =>
        [...readFileSync(join(protocols, file), "utf8").matchAll(EVENT_STREAM_IMPORT)].flatMap((match) =>
          (match[1] as string).split(",").map((name) => name.trim()),
        ),
      )
      .filter((name) => name !== "");
    expect(imported.length).toBeGreaterThan(0);
    const replacement = await import("../../infra/constructs/no-event-streams.ts");
    expect(Object.keys(replacement)).toEqual(expect.arrayContaining(imported));
  });

  it("fails an event-stream operation with a message that names what is missing and why", async () => {
    const { EventStreamSerde, eventStreamSerdeProvider } = await import(
      "../../infra/constructs/no-event-streams.ts"
    );
    const message = /@smithy\/core\/event-streams is not bundled into this function/;
    expect(() => eventStreamSerdeProvider()).toThrow(message);
    expect(() => new EventStreamSerde()).toThrow(message);
  });
});
