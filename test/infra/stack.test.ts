import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CLIENT_REGISTRY_FILE,
  callbackRegistrySchema,
  configSyncRegistrySchema,
} from "../../functions/contracts/client-registry.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import type { FinapiConfigSyncStack } from "../../infra/stack.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { render, renderDeep } from "./render.ts";
import { removeOutdirs, type SynthesizedApp, synthApp } from "./synth-app.ts";

afterAll(removeOutdirs);

const context = (name: string) =>
  JSON.parse(readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/contexts", name), "utf8")) as Record<
    string,
    unknown
  >;

const PARAMETER_KEY = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const CREDENTIALS_KEY = "arn:aws:kms:eu-central-1:111122223333:key/mrk-0123456789abcdef0123456789abcdef";
const LIVE_CREDENTIALS =
  "arn:aws:secretsmanager:eu-central-1:111122223333:secret:finapi/live/credentials-AbCdEf";
const ACCOUNT_ARN = (service: string, resource: string) =>
  `arn:\${AWS::Partition}:${service}:\${AWS::Region}:\${AWS::AccountId}:${resource}`;

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Action: string | string[]; Resource: unknown; Effect: string; Condition?: unknown };

function idOf(stack: FinapiConfigSyncStack) {
  return (construct: IConstruct) =>
    stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
}

function resourcesOf(synthesized: SynthesizedApp, type: string): Record<string, Resource> {
  return synthesized.template.findResources(type) as Record<string, Resource>;
}

/* IAM ignores the order of statements and of their resources (and CDK sorts them), so tests do too. */
const sorted = (statements: unknown[]) =>
  statements
    .map((statement) => {
      const { Resource, ...rest } = statement as Statement;
      return { ...rest, Resource: Array.isArray(Resource) ? [...Resource].sort() : Resource };
    })
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** A policy's statements with every intrinsic rendered as text, in a canonical order. */
function statementsOf(synthesized: SynthesizedApp, policyId: string): unknown[] {
  const policy = resourcesOf(synthesized, "AWS::IAM::Policy")[policyId];
  if (!policy) throw new Error(`no policy ${policyId}`);
  const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
  return sorted(document.Statement.map((statement) => renderDeep(statement)));
}

function environmentOf(synthesized: SynthesizedApp, functionId: string): Record<string, string> {
  const fn = resourcesOf(synthesized, "AWS::Lambda::Function")[functionId];
  if (!fn) throw new Error(`no function ${functionId}`);
  const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
  return Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, render(value)]));
}

describe("FinapiConfigSyncStack with two clients and the hosted callback", () => {
  let synthesized: SynthesizedApp;
  let stack: FinapiConfigSyncStack;
  let id: (construct: IConstruct) => string;
  let configSyncId: string;
  let callbackId: string;
  let publisherId: string;

  beforeAll(() => {
    synthesized = synthApp({ context: context("two-clients.json") });
    stack = synthesized.stack;
    id = idOf(stack);
    configSyncId = id(stack.configSync.handler.function);
    callbackId = id((stack.callback as NonNullable<typeof stack.callback>).handler.function);
    publisherId = id((stack.callback as NonNullable<typeof stack.callback>).deletions.publisher.function);
  }, SYNTH_TIMEOUT_MS);

  const callback = () => stack.callback as NonNullable<FinapiConfigSyncStack["callback"]>;
  const deletions = () => callback().deletions;

  it("runs the three functions on Node.js 24 on arm64 without active tracing, with explicit memory and timeout, and their own log group", () => {
    const functions = resourcesOf(synthesized, "AWS::Lambda::Function");
    expect(Object.keys(functions).sort()).toEqual([callbackId, configSyncId, publisherId].sort());
    for (const [functionId, timeout, logGroup] of [
      [configSyncId, 120, stack.configSync.handler.logGroup],
      [callbackId, 10, callback().handler.logGroup],
      [publisherId, 60, deletions().publisher.logGroup],
    ] as const) {
      expect(functions[functionId]?.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        MemorySize: 256,
        Timeout: timeout,
        LoggingConfig: { LogGroup: { Ref: id(logGroup) } },
      });
      expect(functions[functionId]?.Properties.TracingConfig).toBeUndefined();
    }
    synthesized.template.resourcePropertiesCountIs("AWS::Logs::LogGroup", { RetentionInDays: 90 }, 3);
  });

  it("serializes config-sync with reserved concurrency 1 and caps the callback's and the publisher's concurrency", () => {
    const functions = resourcesOf(synthesized, "AWS::Lambda::Function");
    expect(functions[configSyncId]?.Properties.ReservedConcurrentExecutions).toBe(1);
    expect(functions[callbackId]?.Properties.ReservedConcurrentExecutions).toBe(5);
    expect(functions[publisherId]?.Properties.ReservedConcurrentExecutions).toBe(5);
  });

  it("gives config-sync the status table and the callback base URL in its environment, its clients in its client registry", () => {
    const environment = environmentOf(synthesized, configSyncId);
    expect(environment).toMatchObject({
      POWERTOOLS_SERVICE_NAME: "config-sync",
      POWERTOOLS_METRICS_NAMESPACE: "FinapiConfigSync/FinapiTest",
      LOG_LEVEL: "DEBUG",
      STATUS_TABLE_NAME: `\${${id(stack.configSync.statusTable)}}`,
      CALLBACK_BASE_URL: `https://select(2, split("/", \${${id(stack.callbackIngress?.functionUrl as IConstruct)}.FunctionUrl}))`,
      CALLBACK_ROOT_SECRET_ID: `\${${id(callback().rootSecret)}}`,
    });
    expect(environment).not.toHaveProperty("FINAPI_CLIENTS");
    const registry = JSON.parse(stack.configSync.handler.bundledFiles[CLIENT_REGISTRY_FILE] as string);
    expect(configSyncRegistrySchema.safeParse(registry).success).toBe(true);
    expect(registry.clients).toEqual([
      {
        name: "sandbox",
        environment: "sandbox",
        baseUrl: "https://sandbox.finapi.io",
        parameterName: "/finapi/sandbox",
        credentialsSecretId: "finapi/sandbox/credentials",
        mode: "apply",
        callbackSecretGeneration: 0,
      },
      {
        name: "live",
        environment: "live",
        baseUrl: "https://live.finapi.io",
        parameterName: "finapi-live",
        credentialsSecretId: LIVE_CREDENTIALS,
        mode: "report-only",
        callbackSecretGeneration: 0,
      },
    ]);
  });

  it("gives the callback the deletions table, the deletion queue, the dead-letter queue and the fan-out window in its environment, its clients with their user bases in its client registry", () => {
    const environment = environmentOf(synthesized, callbackId);
    expect(environment).toEqual({
      POWERTOOLS_SERVICE_NAME: "user-sync-callback",
      POWERTOOLS_METRICS_NAMESPACE: "FinapiConfigSync/FinapiTest",
      LOG_LEVEL: "DEBUG",
      CALLBACK_ROOT_SECRET_ID: `\${${id(callback().rootSecret)}}`,
      DELETIONS_TABLE_NAME: `\${${id(deletions().table)}}`,
      DELETION_QUEUE_URL: `\${${id(deletions().queue)}}`,
      DEAD_LETTER_QUEUE_URL: `\${${id(deletions().deadLetters.queue)}}`,
      FAN_OUT_WINDOW_SECONDS: "900",
      SECRET_ROTATION_OVERLAP_SECONDS: "21600",
      SECRET_DIGEST_KEY_ID: `\${${id(callback().digestKey)}.Arn}`,
    });
    const { clients } = callbackRegistrySchema.parse(
      JSON.parse(callback().handler.bundledFiles[CLIENT_REGISTRY_FILE] as string),
    );
    expect(clients).toEqual([
      {
        name: "sandbox",
        callbackSecretGeneration: 0,
        userBase: "sandbox",
        environment: "sandbox",
      },
      {
        name: "live",
        callbackSecretGeneration: 0,
        userBase: "acme-live",
        environment: "live",
      },
    ]);
  });

  it("gives the publisher the bus and the deletions table, and nothing else of its own", () => {
    expect(environmentOf(synthesized, publisherId)).toEqual({
      POWERTOOLS_SERVICE_NAME: "deletion-publisher",
      POWERTOOLS_METRICS_NAMESPACE: "FinapiConfigSync/FinapiTest",
      LOG_LEVEL: "DEBUG",
      EVENT_BUS_NAME: `\${${id(deletions().bus)}}`,
      DELETIONS_TABLE_NAME: `\${${id(deletions().table)}}`,
    });
  });

  it("feeds the publisher the deletion queue in batches of 10, reporting failed messages one by one, never more batches at once than it may run", () => {
    const mappings = Object.values(resourcesOf(synthesized, "AWS::Lambda::EventSourceMapping"));
    expect(mappings.map((mapping) => renderDeep(mapping.Properties))).toEqual([
      {
        FunctionName: `\${${publisherId}}`,
        EventSourceArn: `\${${id(deletions().queue)}.Arn}`,
        BatchSize: 10,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
        ScalingConfig: { MaximumConcurrency: 5 },
      },
    ]);
  });

  it("makes the deletion queue FIFO without content-based deduplication, with a visibility of six publisher timeouts and 5 receives before its FIFO dead-letter queue", () => {
    const queues = resourcesOf(synthesized, "AWS::SQS::Queue");
    expect(renderDeep(queues[id(deletions().queue)]?.Properties)).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 345_600,
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: `\${${id(deletions().deadLetters.queue)}.Arn}`,
        maxReceiveCount: 5,
      },
    });
    expect(queues[id(deletions().deadLetters.queue)]?.Properties).toEqual({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1_209_600,
    });
    for (const queue of [deletions().queue, deletions().deadLetters.queue]) {
      synthesized.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    }
  });

  it("refuses a forged deletion: the bus denies PutEvents of source finapi.user-sync to every principal but the publisher's role", () => {
    const policies = Object.values(resourcesOf(synthesized, "AWS::Events::EventBusPolicy"));
    expect(policies.map((policy) => renderDeep(policy.Properties))).toEqual([
      {
        EventBusName: `\${${id(deletions().bus)}}`,
        StatementId: "cdk-OnlyThePublisherPutsUserDeletions",
        Statement: {
          Sid: "cdk-OnlyThePublisherPutsUserDeletions",
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "events:PutEvents",
          Resource: `\${${id(deletions().bus)}.Arn}`,
          Condition: {
            StringEquals: { "events:source": "finapi.user-sync" },
            ArnNotEquals: { "aws:PrincipalArn": `\${${id(deletions().publisher.role)}.Arn}` },
          },
        },
      },
    ]);
  });

  it("triggers config-sync on Parameter Store Change events under the managed parameters' top-level paths and for each name at the root, however spelt", () => {
    synthesized.template.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: Match.objectEquals({
        source: ["aws.ssm"],
        "detail-type": ["Parameter Store Change"],
        detail: {
          name: ["/finapi-live", "finapi-live", { prefix: "/finapi/" }, { prefix: "finapi/" }],
          operation: ["Create", "Update", "LabelParameterVersion", "Delete"],
        },
      }),
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [configSyncId, "Arn"] } })],
    });
  });

  it("runs the reconcile over all clients on the configured schedule", () => {
    synthesized.template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(30 minutes)",
      Targets: [Match.objectLike({ Arn: { "Fn::GetAtt": [configSyncId, "Arn"] } })],
    });
  });

  it("sends events EventBridge cannot deliver to a dead-letter queue after bounded retries", () => {
    const rules = resourcesOf(synthesized, "AWS::Events::Rule");
    const undelivered = id(stack.configSync.undeliveredEvents.queue);
    expect(Object.keys(rules)).toHaveLength(2);
    for (const rule of Object.values(rules)) {
      expect(rule.Properties.Targets).toEqual([
        {
          Id: "Target0",
          Arn: { "Fn::GetAtt": [configSyncId, "Arn"] },
          DeadLetterConfig: { Arn: { "Fn::GetAtt": [undelivered, "Arn"] } },
          RetryPolicy: { MaximumRetryAttempts: 4, MaximumEventAgeInSeconds: 7200 },
        },
      ]);
    }
    const policy = Object.values(resourcesOf(synthesized, "AWS::SQS::QueuePolicy")).find(
      (candidate) => JSON.stringify(candidate.Properties.Queues) === JSON.stringify([{ Ref: undelivered }]),
    );
    if (!policy) throw new Error("no policy on the undelivered-events queue");
    const statements = renderDeep(
      (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    ) as Statement[];
    expect(statements.filter((statement) => statement.Effect === "Allow")).toEqual(
      Object.keys(rules).map((ruleId) => ({
        Sid: expect.any(String),
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: `\${${undelivered}.Arn}`,
        Condition: { ArnEquals: { "aws:SourceArn": `\${${ruleId}.Arn}` } },
      })),
    );
  });

  it("sends config-sync invocations that still fail after Lambda's retries to the failed-invocations queue", () => {
    synthesized.template.resourceCountIs("AWS::Lambda::EventInvokeConfig", 1);
    synthesized.template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: configSyncId },
      Qualifier: "$LATEST",
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 3600,
      DestinationConfig: {
        OnFailure: { Destination: { "Fn::GetAtt": [id(stack.configSync.failedInvocations.queue), "Arn"] } },
      },
    });
  });

  it("grants config-sync exactly its parameters, secrets, keys, status table and queue", () => {
    const role = stack.configSync.handler.role;
    expect(statementsOf(synthesized, id(role.node.findChild("DefaultPolicy")))).toEqual(
      sorted([
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `\${${id(stack.configSync.handler.logGroup)}.Arn}`,
        },
        {
          Effect: "Allow",
          Action: "sqs:SendMessage",
          Resource: `\${${id(stack.configSync.failedInvocations.queue)}.Arn}`,
        },
        {
          Effect: "Allow",
          Action: "ssm:GetParameters",
          Resource: [
            ACCOUNT_ARN("ssm", "parameter/finapi/sandbox"),
            ACCOUNT_ARN("ssm", "parameter/finapi-live"),
          ],
        },
        {
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: [
            ACCOUNT_ARN("secretsmanager", "secret:finapi/sandbox/credentials-??????"),
            LIVE_CREDENTIALS,
            `\${${id(callback().rootSecret)}}`,
          ],
        },
        {
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: PARAMETER_KEY,
          Condition: { StringEquals: { "kms:ViaService": `ssm.\${AWS::Region}.amazonaws.com` } },
        },
        {
          Effect: "Allow",
          Action: "kms:Decrypt",
          Resource: CREDENTIALS_KEY,
          Condition: { StringEquals: { "kms:ViaService": `secretsmanager.\${AWS::Region}.amazonaws.com` } },
        },
        {
          Effect: "Allow",
          Action: ["dynamodb:BatchGetItem", "dynamodb:BatchWriteItem"],
          Resource: `\${${id(stack.configSync.statusTable)}.Arn}`,
        },
      ]),
    );
  });

  it("lets config-sync read its secrets 20 a call with a policy of its own that the function waits for", () => {
    const batchSecretReads = stack.configSync.node.findChild("BatchSecretReads");
    expect(statementsOf(synthesized, id(batchSecretReads))).toEqual([
      { Effect: "Allow", Action: "secretsmanager:BatchGetSecretValue", Resource: "*" },
    ]);
    const policy = resourcesOf(synthesized, "AWS::IAM::Policy")[id(batchSecretReads)];
    expect(policy?.Properties.Roles).toEqual([{ Ref: id(stack.configSync.handler.role) }]);
    const fn = resourcesOf(synthesized, "AWS::Lambda::Function")[id(stack.configSync.handler.function)];
    expect((fn as { DependsOn?: string[] } | undefined)?.DependsOn).toContain(id(batchSecretReads));
  });

  it("keys the kept secret digests with a KMS HMAC key the callback may only generate MACs with", () => {
    synthesized.template.hasResourceProperties("AWS::KMS::Key", {
      KeySpec: "HMAC_256",
      KeyUsage: "GENERATE_VERIFY_MAC",
    });
  });

  it("grants the callback exactly its secrets, digest key, the deletions table and the two queues, and no PutEvents", () => {
    const role = callback().handler.role;
    expect(statementsOf(synthesized, id(role.node.findChild("DefaultPolicy")))).toEqual(
      sorted([
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `\${${id(callback().handler.logGroup)}.Arn}`,
        },
        {
          Effect: "Allow",
          Action: "secretsmanager:GetSecretValue",
          Resource: `\${${id(callback().rootSecret)}}`,
        },
        {
          Effect: "Allow",
          Action: ["dynamodb:DeleteItem", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
          Resource: `\${${id(deletions().table)}.Arn}`,
        },
        { Effect: "Allow", Action: "kms:GenerateMac", Resource: `\${${id(callback().digestKey)}.Arn}` },
        {
          Effect: "Allow",
          Action: "sqs:SendMessage",
          Resource: [`\${${id(deletions().queue)}.Arn}`, `\${${id(deletions().deadLetters.queue)}.Arn}`],
        },
      ]),
    );
  });

  it("grants the publisher exactly PutEvents on the bus, reading and writing marks in the deletions table, and consuming the deletion queue", () => {
    const role = deletions().publisher.role;
    expect(statementsOf(synthesized, id(role.node.findChild("DefaultPolicy")))).toEqual(
      sorted([
        {
          Effect: "Allow",
          Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
          Resource: `\${${id(deletions().publisher.logGroup)}.Arn}`,
        },
        { Effect: "Allow", Action: "events:PutEvents", Resource: `\${${id(deletions().bus)}.Arn}` },
        {
          Effect: "Allow",
          Action: ["dynamodb:GetItem", "dynamodb:PutItem"],
          Resource: `\${${id(deletions().table)}.Arn}`,
        },
        {
          Effect: "Allow",
          Action: [
            "sqs:ChangeMessageVisibility",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
            "sqs:GetQueueUrl",
            "sqs:ReceiveMessage",
          ],
          Resource: `\${${id(deletions().queue)}.Arn}`,
        },
      ]),
    );
  });

  it("grants no X-Ray action in any policy, and nothing on * but config-sync's BatchGetSecretValue, which IAM cannot scope", () => {
    const policies = resourcesOf(synthesized, "AWS::IAM::Policy");
    expect(Object.keys(policies).length).toBeGreaterThan(0);
    const onEverything: unknown[] = [];
    for (const policyId of Object.keys(policies)) {
      for (const statement of statementsOf(synthesized, policyId) as Statement[]) {
        expect([statement.Action].flat().filter((action) => action.startsWith("xray:"))).toEqual([]);
        if ([statement.Resource].flat().includes("*")) onEverything.push({ policyId, ...statement });
      }
    }
    /* BatchGetSecretValue has no resource type; Secrets Manager still checks GetSecretValue on each secret. */
    expect(onEverything).toEqual([
      {
        policyId: id(stack.configSync.node.findChild("BatchSecretReads")),
        Effect: "Allow",
        Action: "secretsmanager:BatchGetSecretValue",
        Resource: "*",
      },
    ]);
  });

  it("gives each function a role only Lambda can assume, with no managed policies and no other policy", () => {
    const roles = resourcesOf(synthesized, "AWS::IAM::Role");
    expect(Object.keys(roles).sort()).toEqual(
      [id(stack.configSync.handler.role), id(callback().handler.role), id(deletions().publisher.role)].sort(),
    );
    for (const role of Object.values(roles)) {
      expect(role.Properties.AssumeRolePolicyDocument).toEqual({
        Version: "2012-10-17",
        Statement: [
          { Action: "sts:AssumeRole", Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" } },
        ],
      });
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
    /* Each role's default policy, and config-sync's BatchSecretReads (its grant on *, on its own). */
    synthesized.template.resourceCountIs("AWS::IAM::Policy", 4);
  });

  it("exposes only the callback, through a Function URL with auth NONE that anyone may invoke", () => {
    synthesized.template.resourceCountIs("AWS::Lambda::Url", 1);
    synthesized.template.hasResourceProperties("AWS::Lambda::Url", {
      AuthType: "NONE",
      TargetFunctionArn: { "Fn::GetAtt": [callbackId, "Arn"] },
    });
    const permissions = Object.values(resourcesOf(synthesized, "AWS::Lambda::Permission")).map(
      (permission) => renderDeep(permission.Properties) as Record<string, unknown>,
    );
    expect(permissions.filter((permission) => permission.Principal === "*")).toEqual([
      {
        Action: "lambda:InvokeFunctionUrl",
        FunctionName: `\${${callbackId}.Arn}`,
        FunctionUrlAuthType: "NONE",
        Principal: "*",
      },
      {
        Action: "lambda:InvokeFunction",
        FunctionName: `\${${callbackId}.Arn}`,
        InvokedViaFunctionUrl: true,
        Principal: "*",
      },
    ]);
    expect(permissions.filter((permission) => permission.Principal !== "*")).toEqual(
      Object.keys(resourcesOf(synthesized, "AWS::Events::Rule")).map((ruleId) => ({
        Action: "lambda:InvokeFunction",
        FunctionName: `\${${configSyncId}.Arn}`,
        Principal: "events.amazonaws.com",
        SourceArn: `\${${ruleId}.Arn}`,
      })),
    );
  });

  it("generates one 64-character alphanumeric callback root secret for all clients, named after the stack", () => {
    const secrets = resourcesOf(synthesized, "AWS::SecretsManager::Secret");
    expect(Object.values(secrets).map((secret) => secret.Properties)).toEqual([
      {
        Name: "FinapiTest/user-sync-callback/root",
        Description:
          "The root secret every finAPI client's user-sync callback path secret is derived from (rotating it changes every callback URL)",
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false },
      },
    ]);
  });

  it("keys the deletions table by id with a TTL, and the status table by client, both with point-in-time recovery", () => {
    const tables = resourcesOf(synthesized, "AWS::DynamoDB::Table");
    expect(Object.keys(tables).sort()).toEqual(
      [id(deletions().table), id(stack.configSync.statusTable)].sort(),
    );
    expect(tables[id(deletions().table)]?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      TimeToLiveSpecification: { AttributeName: "expiration", Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      BillingMode: "PAY_PER_REQUEST",
    });
    expect(tables[id(stack.configSync.statusTable)]?.Properties).toMatchObject({
      KeySchema: [{ AttributeName: "client", KeyType: "HASH" }],
      AttributeDefinitions: [{ AttributeName: "client", AttributeType: "S" }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it("writes a repository-owned document to its parameter once the rule and the function exist", () => {
    const parameters = resourcesOf(synthesized, "AWS::SSM::Parameter");
    const parameter = stack.configSync.ownedParameters.get("sandbox") as IConstruct;
    expect(Object.keys(parameters)).toEqual([id(parameter)]);
    expect(parameters[id(parameter)]?.Properties).toEqual({
      Name: "/finapi/sandbox",
      Type: "String",
      Tier: "Standard",
      Value:
        '{"userNotificationCallbackUrl":"http://backend.example.com/finapi/notifications","refreshTokensValidityPeriod":604800,"clientAccessTokensValidityPeriod":3600}',
      Description:
        "finAPI client configuration of sandbox, from test/fixtures/infra/documents/sandbox.json (written by cdk deploy)",
    });
    expect(parameters[id(parameter)]?.DependsOn).toEqual(
      expect.arrayContaining([id(stack.configSync.parameterChangeRule), configSyncId]),
    );
  });

  it("encrypts the dead-letter queues, refuses plain HTTP to them and keeps messages 14 days", () => {
    synthesized.template.resourcePropertiesCountIs(
      "AWS::SQS::Queue",
      { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1_209_600 },
      3,
    );
    synthesized.template.resourceCountIs("AWS::SQS::Queue", 4);
    synthesized.template.resourcePropertiesCountIs(
      "AWS::SQS::QueuePolicy",
      {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "sqs:*",
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      },
      4,
    );
  });

  it("alarms on every dead-letter queue, failed sync outcome, report-only drift, callback failure and function error", () => {
    const alarms = Object.values(resourcesOf(synthesized, "AWS::CloudWatch::Alarm")).map(
      (alarm) => renderDeep(alarm.Properties) as Record<string, unknown>,
    );
    const summary = alarms
      .map((alarm) => ({
        name: alarm.AlarmName,
        metric: alarm.MetricName ?? (alarm.Metrics as { Expression: string }[])[0]?.Expression,
        dimensions: alarm.Dimensions,
        threshold: alarm.Threshold,
      }))
      .sort((a, b) => String(a.name).localeCompare(String(b.name)));
    const queueName = (queue: IConstruct) => `\${${id(queue)}.QueueName}`;
    /* One alarm per outcome for every client: a Metrics Insights query with one time series per client. */
    const sync = (metric: string) => ({
      name: `FinapiTest-${metric.replace("SyncDriftReported", "Drift")}`,
      metric: `SELECT SUM(${metric}) FROM SCHEMA("FinapiConfigSync/FinapiTest", client, service) WHERE service = 'config-sync' GROUP BY client ORDER BY SUM() DESC`,
      dimensions: undefined,
      threshold: 1,
    });
    const callbackMetric = (metric: string, threshold = 1) => ({
      name: `FinapiTest-${metric}`,
      metric,
      dimensions: [{ Name: "service", Value: "user-sync-callback" }],
      threshold,
    });
    expect(summary).toEqual(
      [
        callbackMetric("CallbackDeadLetterFailed"),
        callbackMetric("CallbackForwardFailed"),
        {
          name: "FinapiTest-CallbackThrottled",
          metric: "Throttles",
          dimensions: [{ Name: "FunctionName", Value: `\${${callbackId}}` }],
          threshold: 1,
        },
        callbackMetric("CallbackSecretUnusable"),
        callbackMetric("CallbackUnauthenticated", 25),
        ...[
          ["config-sync-failed-invocations", stack.configSync.failedInvocations.queue],
          ["config-sync-undelivered-events", stack.configSync.undeliveredEvents.queue],
          ["user-deletions", deletions().deadLetters.queue],
        ].map(([label, queue]) => ({
          name: `FinapiTest-DeadLetters-${label}`,
          metric: "ApproximateNumberOfMessagesVisible",
          dimensions: [{ Name: "QueueName", Value: queueName(queue as IConstruct) }],
          threshold: 1,
        })),
        sync("SyncDriftReported"),
        ...[
          ["config-sync", configSyncId],
          ["deletion-publisher", publisherId],
          ["user-sync-callback", callbackId],
        ].map(([label, functionId]) => ({
          name: `FinapiTest-Errors-${label}`,
          metric: "Errors",
          dimensions: [{ Name: "FunctionName", Value: `\${${functionId}}` }],
          threshold: 1,
        })),
        sync("SyncFailed"),
        sync("SyncInvalid"),
        sync("SyncRejected"),
      ].sort((a, b) => a.name.localeCompare(b.name)),
    );
    const topic = `\${${id(stack.monitoring.topic)}}`;
    for (const alarm of alarms) {
      expect(alarm).toMatchObject({
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        EvaluationPeriods: 1,
        TreatMissingData: "notBreaching",
        AlarmActions: [topic],
        OKActions: [topic],
        AlarmDescription: expect.stringMatching(/.{40,}/),
      });
      /* A single metric carries its period; a query carries it on its one (returned) data query. */
      if (alarm.Metrics)
        expect(alarm.Metrics).toEqual([expect.objectContaining({ Period: 300, ReturnData: true })]);
      else expect(alarm).toMatchObject({ Namespace: expect.any(String), Period: 300 });
    }
  });

  it("says in the deletion dead-letter alarm how often the deletion queue really tries a deletion", () => {
    const queues = resourcesOf(synthesized, "AWS::SQS::Queue");
    const redrive = queues[id(deletions().queue)]?.Properties.RedrivePolicy as { maxReceiveCount: number };
    const alarm = Object.values(resourcesOf(synthesized, "AWS::CloudWatch::Alarm")).find(
      (candidate) => candidate.Properties.AlarmName === "FinapiTest-DeadLetters-user-deletions",
    );
    expect(redrive.maxReceiveCount).toEqual(expect.any(Number));
    expect(alarm?.Properties.AlarmDescription).toContain(
      `could not put on the event bus in ${redrive.maxReceiveCount} tries.`,
    );
  });

  it("sends alarms to one topic that requires TLS, with the alarm e-mail subscribed", () => {
    synthesized.template.resourceCountIs("AWS::SNS::Topic", 1);
    synthesized.template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "platform@example.com",
      TopicArn: { Ref: id(stack.monitoring.topic) },
    });
    synthesized.template.hasResourceProperties("AWS::SNS::TopicPolicy", {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
        ]),
      },
    });
  });

  it("shows sync outcomes over all clients and per client, drift, callback volume and the queues on the dashboard", () => {
    const dashboards = Object.values(resourcesOf(synthesized, "AWS::CloudWatch::Dashboard"));
    expect(dashboards).toHaveLength(1);
    const body = JSON.parse(render(dashboards[0]?.Properties.DashboardBody)) as {
      widgets: { properties: { title: string; metrics?: unknown[][]; query?: string } }[];
    };
    const titles = body.widgets.map((widget) => widget.properties.title);
    expect(titles).toEqual([
      "Alarms",
      "Sync outcomes, all clients",
      "config-sync: clients with problem outcomes (Logs Insights)",
      "Sync invalid, by client",
      "Sync rejected, by client",
      "Sync failed, by client",
      "Drift reported, by client (report-only clients)",
      "Dead-letter queues: messages waiting",
      "Callback volume",
      "Callback invocations and throttles",
      "Deletion publisher: messages taken from the deletion queue",
      "Deletion queue: backlog and oldest message (s)",
      "config-sync: errors and duration",
      "user-sync-callback: errors and duration",
      "deletion-publisher: errors and duration",
    ]);
    const metricsOf = (title: string) =>
      body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics ?? [];
    const schema = `SCHEMA("FinapiConfigSync/FinapiTest", client, service) WHERE service = 'config-sync'`;
    expect(metricsOf("Sync outcomes, all clients")).toEqual(
      ["InSync", "Applied", "DriftReported", "Invalid", "Rejected", "Failed", "ParameterDeleted"].map(
        (name) => [{ label: name, expression: `SELECT SUM(Sync${name}) FROM ${schema}` }],
      ),
    );
    expect(metricsOf("Sync failed, by client")).toEqual([
      [{ expression: `SELECT SUM(SyncFailed) FROM ${schema} GROUP BY client ORDER BY SUM() DESC LIMIT 20` }],
    ]);
    expect(
      body.widgets.find((widget) => widget.properties.title.endsWith("(Logs Insights)"))?.properties.query,
    ).toMatch(
      new RegExp(
        `^SOURCE '\\$\\{${id(stack.configSync.handler.logGroup)}\\}' \\| filter message = "reconcile outcome"`,
      ),
    );
    expect(metricsOf("Callback volume").map((metric) => metric[1])).toEqual([
      "CallbackForwarded",
      "CallbackDuplicate",
      "CallbackUnauthenticated",
      "CallbackInvalid",
      "CallbackIgnoredEvent",
      "CallbackForwardFailed",
      "CallbackDeadLetterFailed",
      "CallbackDeletionStoreFailed",
      "CallbackSecretUnusable",
    ]);
    expect(metricsOf("Deletion publisher: messages taken from the deletion queue")).toEqual(
      ["Published", "AlreadyPublished", "PublishFailed", "UnreadableMessage"].map((name) => [
        "FinapiConfigSync/FinapiTest",
        name,
        "service",
        "deletion-publisher",
        { label: name, stat: "Sum" },
      ]),
    );
    expect(metricsOf("Dead-letter queues: messages waiting")).toHaveLength(3);
  });

  it("outputs the callback base URL and the root secret's ARN but never a secret value, the bus, queues, table, topic and dashboard", () => {
    const outputs = synthesized.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(Object.keys(outputs).sort()).toEqual(
      [
        "AlarmTopicArn",
        "CallbackBaseUrl",
        "CallbackRootSecret",
        "ConfigSyncFunctionName",
        "DashboardUrl",
        "DeadLetterQueueUrlconfigsyncfailedinvocations",
        "DeadLetterQueueUrlconfigsyncundeliveredevents",
        "DeadLetterQueueUrluserdeletions",
        "DeletionDeadLetterQueueArn",
        "DeletionQueueArn",
        "DeletionQueueUrl",
        "EventBusArn",
        "EventBusName",
        "StatusTableName",
      ].sort(),
    );
    expect(render(outputs.CallbackBaseUrl?.Value)).toBe(
      `https://select(2, split("/", \${${id(stack.callbackIngress?.functionUrl as IConstruct)}.FunctionUrl}))`,
    );
    expect(render(outputs.CallbackRootSecret?.Value)).toBe(`\${${id(callback().rootSecret)}}`);
    expect(JSON.stringify(outputs)).not.toMatch(/resolve:secretsmanager|SecretString/);
    expect(render(outputs.DeletionQueueUrl?.Value)).toBe(`\${${id(deletions().queue)}}`);
    expect(render(outputs.DeadLetterQueueUrluserdeletions?.Value)).toBe(
      `\${${id(deletions().deadLetters.queue)}}`,
    );
    expect(render(outputs.DashboardUrl?.Value)).toBe(
      `https://\${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=\${AWS::Region}#dashboards:name=\${${id(stack.monitoring.dashboard)}}`,
    );
  });
});

describe("FinapiConfigSyncStack without the hosted callback", () => {
  let synthesized: SynthesizedApp;

  beforeAll(() => {
    synthesized = synthApp({ context: context("no-callback.json") });
  }, SYNTH_TIMEOUT_MS);

  it("creates no callback, path secret, bus, deletions table, deletion queue or publisher, and no callback alarms", () => {
    expect(synthesized.stack.callback).toBeUndefined();
    for (const type of [
      "AWS::Lambda::Url",
      "AWS::SecretsManager::Secret",
      "AWS::Events::EventBus",
      "AWS::Events::EventBusPolicy",
      "AWS::Lambda::EventSourceMapping",
    ]) {
      synthesized.template.resourceCountIs(type, 0);
    }
    synthesized.template.resourceCountIs("AWS::DynamoDB::Table", 1);
    synthesized.template.resourceCountIs("AWS::Lambda::Function", 1);
    const alarmNames = Object.values(resourcesOf(synthesized, "AWS::CloudWatch::Alarm")).map(
      (alarm) => alarm.Properties.AlarmName,
    );
    expect(alarmNames.sort()).toEqual([
      "FinapiNoCallback-DeadLetters-config-sync-failed-invocations",
      "FinapiNoCallback-DeadLetters-config-sync-undelivered-events",
      "FinapiNoCallback-Errors-config-sync",
      "FinapiNoCallback-SyncFailed",
      "FinapiNoCallback-SyncInvalid",
      "FinapiNoCallback-SyncRejected",
    ]);
  });

  it("leaves CALLBACK_BASE_URL and CALLBACK_ROOT_SECRET_ID out of config-sync's environment, callbackSecretGeneration out of its registry, and grants only the credentials", () => {
    const stack = synthesized.stack;
    const id = idOf(stack);
    const environment = environmentOf(synthesized, id(stack.configSync.handler.function));
    expect(environment.CALLBACK_BASE_URL).toBeUndefined();
    expect(environment.CALLBACK_ROOT_SECRET_ID).toBeUndefined();
    synthesized.template.resourceCountIs("AWS::SecretsManager::Secret", 0);
    expect(JSON.parse(stack.configSync.handler.bundledFiles[CLIENT_REGISTRY_FILE] as string).clients).toEqual(
      [
        {
          name: "alpha",
          environment: "alpha",
          baseUrl: "https://alpha.finapi.example",
          parameterName: "/finapi/alpha",
          credentialsSecretId: "finapi/alpha/credentials",
          mode: "apply",
        },
      ],
    );
    const statements = statementsOf(
      synthesized,
      id(stack.configSync.handler.role.node.findChild("DefaultPolicy")),
    );
    expect(statements).toContainEqual({
      Effect: "Allow",
      Action: "secretsmanager:GetSecretValue",
      Resource: ACCOUNT_ARN("secretsmanager", "secret:finapi/alpha/credentials-??????"),
    });
    expect(JSON.stringify(statements)).not.toContain("kms:");
    synthesized.template.resourceCountIs("AWS::SSM::Parameter", 0);
  });
});
