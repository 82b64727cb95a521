import { DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { BatchGetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type DynamoDbStandIn, startDynamoDb } from "../../../local/aws/dynamodb.ts";
import { type EventBridgeStandIn, startEventBridge } from "../../../local/aws/eventbridge.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { type SqsStandIn, startSqs } from "../../../local/aws/sqs.ts";
import {
  accessKeyIdOf,
  authorizationRequests,
  createIamAuthority,
  governedFunctions,
  type IamAuthority,
  type IamGate,
  policyValues,
  startIamGate,
} from "./iam-enforcement.ts";
import { evaluate, grantsOf, type PolicyStatement, usesGrant, wildcardMatch } from "./iam-policy.ts";
import type { Resource } from "./synthesized-stack.ts";

const REGION = "eu-central-1";
const TABLE = "arn:aws:dynamodb:eu-central-1:000000000000:table/Idempotency";
const SECRET = "arn:aws:secretsmanager:eu-central-1:000000000000:secret:finapi/acme/credentials-??????";
const BUS = "arn:aws:events:eu-central-1:000000000000:event-bus/user-sync";

const allow = (
  Action: string | string[],
  Resource: string | string[],
  Condition?: PolicyStatement["Condition"],
) => ({ Effect: "Allow", Action, Resource, ...(Condition ? { Condition } : {}) }) as PolicyStatement;

describe("evaluate", () => {
  it("allows an action on a resource a statement names, and nothing else", () => {
    const statements = [allow(["dynamodb:GetItem", "dynamodb:PutItem"], TABLE)];
    expect(evaluate(statements, { action: "dynamodb:PutItem", resource: TABLE })).toEqual({
      allowed: true,
      allowedBy: [0],
    });
    expect(evaluate(statements, { action: "dynamodb:DeleteItem", resource: TABLE })).toEqual({
      allowed: false,
      reason: "no-allow",
    });
    expect(evaluate(statements, { action: "dynamodb:GetItem", resource: `${TABLE}-other` }).allowed).toBe(
      false,
    );
  });

  it("compares actions without regard to case and ARNs with it", () => {
    const statements = [allow("DynamoDB:getitem", TABLE)];
    expect(evaluate(statements, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(statements, { action: "dynamodb:GetItem", resource: TABLE.toUpperCase() }).allowed).toBe(
      false,
    );
  });

  it("matches * as any run of characters and ? as exactly one, in actions and resources", () => {
    const statements = [allow("secretsmanager:Get*", SECRET)];
    const secret = (suffix: string) => SECRET.replace("??????", suffix);
    expect(
      evaluate(statements, { action: "secretsmanager:GetSecretValue", resource: secret("AbC123") }).allowed,
    ).toBe(true);
    expect(
      evaluate(statements, { action: "secretsmanager:GetSecretValue", resource: secret("AbC12") }).allowed,
    ).toBe(false);
    expect(
      evaluate(statements, { action: "secretsmanager:PutSecretValue", resource: secret("AbC123") }).allowed,
    ).toBe(false);
    expect(wildcardMatch("a.b", "axb")).toBe(false);
  });

  it("lets an explicit Deny win over any Allow", () => {
    const statements: PolicyStatement[] = [
      allow("dynamodb:*", "*"),
      { Effect: "Deny", Action: "dynamodb:DeleteItem", Resource: TABLE },
    ];
    expect(evaluate(statements, { action: "dynamodb:DeleteItem", resource: TABLE })).toEqual({
      allowed: false,
      reason: "explicit-deny",
      deniedBy: 1,
    });
    expect(evaluate(statements, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
  });

  it("reads NotAction and NotResource as everything but what they name", () => {
    const statements: PolicyStatement[] = [
      { Effect: "Allow", NotAction: "dynamodb:DeleteItem", NotResource: BUS },
    ];
    expect(evaluate(statements, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(statements, { action: "dynamodb:DeleteItem", resource: TABLE }).allowed).toBe(false);
    expect(evaluate(statements, { action: "events:PutEvents", resource: BUS }).allowed).toBe(false);
  });

  it("applies conditions: a key that differs or is missing fails, IfExists and negated operators pass a missing key", () => {
    const onlyOurSource = [
      allow("events:PutEvents", BUS, { StringEquals: { "events:source": ["finapi.user-sync"] } }),
    ];
    const put = (context?: Record<string, string>) => ({
      action: "events:PutEvents",
      resource: BUS,
      context,
    });
    expect(evaluate(onlyOurSource, put({ "events:source": "finapi.user-sync" })).allowed).toBe(true);
    expect(evaluate(onlyOurSource, put({ "events:source": "aws.ssm" })).allowed).toBe(false);
    expect(evaluate(onlyOurSource, put()).allowed).toBe(false);
    const ifExists = [
      allow("events:PutEvents", BUS, { StringLikeIfExists: { "events:source": "finapi.*" } }),
    ];
    expect(evaluate(ifExists, put()).allowed).toBe(true);
    expect(evaluate(ifExists, put({ "events:source": "other" })).allowed).toBe(false);
    const notOther = [allow("events:PutEvents", BUS, { StringNotEquals: { "events:source": "other" } })];
    expect(evaluate(notOther, put()).allowed).toBe(true);
    expect(evaluate(notOther, put({ "events:source": "other" })).allowed).toBe(false);
  });

  it("refuses to evaluate a condition operator it does not know, rather than guess", () => {
    const statements = [
      allow("events:PutEvents", BUS, { DateGreaterThan: { "aws:CurrentTime": "2026-01-01" } }),
    ];
    expect(() => evaluate(statements, { action: "events:PutEvents", resource: BUS })).toThrow(
      "DateGreaterThan is not supported",
    );
  });
});

describe("grantsOf and usesGrant", () => {
  it("lists each action on each resource an Allow grants, and tells which an allowed call used", () => {
    const statements = [
      allow(["sqs:SendMessage", "sqs:ReceiveMessage"], ["arn:aws:sqs:eu-central-1:000000000000:a"]),
    ];
    const grants = grantsOf(statements);
    expect(grants.map(({ action, resource }) => `${action} ${resource}`)).toEqual([
      "sqs:SendMessage arn:aws:sqs:eu-central-1:000000000000:a",
      "sqs:ReceiveMessage arn:aws:sqs:eu-central-1:000000000000:a",
    ]);
    const request = { action: "sqs:SendMessage", resource: "arn:aws:sqs:eu-central-1:000000000000:a" };
    const decision = evaluate(statements, request);
    if (!decision.allowed) throw new Error("expected an allow");
    expect(grants.map((grant) => usesGrant(grant, request, decision.allowedBy))).toEqual([true, false]);
  });
});

describe("authorizationRequests", () => {
  const naming = {
    region: REGION,
    secretArn: (id: string) => (id.startsWith("arn:") ? id : `arn:…:secret:${id}-Ab12Cd`),
  };

  it("names each service's resource the way IAM does", () => {
    expect(authorizationRequests("ssm", "GetParameter", { Name: "/finapi/acme" }, naming)).toEqual([
      { action: "ssm:GetParameter", resource: "arn:aws:ssm:eu-central-1:000000000000:parameter/finapi/acme" },
    ]);
    expect(
      authorizationRequests("secretsmanager", "GetSecretValue", { SecretId: "finapi/acme" }, naming),
    ).toEqual([{ action: "secretsmanager:GetSecretValue", resource: "arn:…:secret:finapi/acme-Ab12Cd" }]);
    expect(
      authorizationRequests("secretsmanager", "BatchGetSecretValue", { SecretIdList: ["a", "b"] }, naming),
    ).toEqual([
      { action: "secretsmanager:BatchGetSecretValue", resource: "*" },
      { action: "secretsmanager:GetSecretValue", resource: "arn:…:secret:a-Ab12Cd", item: "a" },
      { action: "secretsmanager:GetSecretValue", resource: "arn:…:secret:b-Ab12Cd", item: "b" },
    ]);
    expect(
      authorizationRequests(
        "sqs",
        "SendMessage",
        { QueueUrl: "http://127.0.0.1:9/000000000000/DeadLetters" },
        naming,
      ),
    ).toEqual([{ action: "sqs:SendMessage", resource: "arn:aws:sqs:eu-central-1:000000000000:DeadLetters" }]);
  });

  it("authorizes each item of a DynamoDB transaction as its own action", () => {
    const input = {
      TransactItems: [{ Put: { TableName: "Deletions" } }, { ConditionCheck: { TableName: "Clients" } }],
    };
    expect(authorizationRequests("dynamodb", "TransactWriteItems", input, naming)).toEqual([
      { action: "dynamodb:PutItem", resource: "arn:aws:dynamodb:eu-central-1:000000000000:table/Deletions" },
      {
        action: "dynamodb:ConditionCheckItem",
        resource: "arn:aws:dynamodb:eu-central-1:000000000000:table/Clients",
      },
    ]);
  });

  it("authorizes each PutEvents entry on its bus with its source and detail type as condition keys", () => {
    const input = {
      Entries: [
        { EventBusName: BUS, Source: "finapi.user-sync", DetailType: "finAPI User Deleted" },
        { Source: "x", DetailType: "y" },
      ],
    };
    expect(authorizationRequests("events", "PutEvents", input, naming)).toEqual([
      {
        action: "events:PutEvents",
        resource: BUS,
        context: { "events:source": "finapi.user-sync", "events:detail-type": "finAPI User Deleted" },
      },
      {
        action: "events:PutEvents",
        resource: "arn:aws:events:eu-central-1:000000000000:event-bus/default",
        context: { "events:source": "x", "events:detail-type": "y" },
      },
    ]);
  });
});

describe("governedFunctions", () => {
  /* A template in miniature: a function, its role, two policies on it and one on another role. */
  const template: Record<string, Resource> = {
    Fn: {
      Type: "AWS::Lambda::Function",
      Properties: {
        Role: { "Fn::GetAtt": ["FnRole", "Arn"] },
        Environment: { Variables: { POWERTOOLS_SERVICE_NAME: "user-sync-callback" } },
      },
    },
    Table: { Type: "AWS::DynamoDB::Table", Properties: {} },
    Queue: { Type: "AWS::SQS::Queue", Properties: {} },
    Bus: { Type: "AWS::Events::EventBus", Properties: { Name: "user-sync" } },
    Logs: { Type: "AWS::Logs::LogGroup", Properties: {} },
    Policy: {
      Type: "AWS::IAM::Policy",
      Properties: {
        Roles: [{ Ref: "FnRole" }],
        PolicyDocument: {
          Statement: [
            { Effect: "Allow", Action: "dynamodb:PutItem", Resource: { "Fn::GetAtt": ["Table", "Arn"] } },
            { Effect: "Allow", Action: "sqs:SendMessage", Resource: { "Fn::GetAtt": ["Queue", "Arn"] } },
            {
              Effect: "Allow",
              Action: "events:PutEvents",
              Resource: { "Fn::GetAtt": ["Bus", "Arn"] },
              Condition: { StringEquals: { "events:source": "finapi.user-sync" } },
            },
            {
              Effect: "Allow",
              Action: "ssm:GetParameter",
              Resource: {
                "Fn::Join": [
                  "",
                  [
                    "arn:",
                    { Ref: "AWS::Partition" },
                    ":ssm:",
                    { Ref: "AWS::Region" },
                    ":",
                    { Ref: "AWS::AccountId" },
                    ":parameter/finapi/acme",
                  ],
                ],
              },
            },
          ],
        },
      },
    },
    Tracing: {
      Type: "AWS::IAM::Policy",
      Properties: {
        Roles: [{ Ref: "FnRole" }],
        PolicyDocument: {
          Statement: [
            { Effect: "Allow", Action: "logs:PutLogEvents", Resource: { "Fn::GetAtt": ["Logs", "Arn"] } },
          ],
        },
      },
    },
    Elsewhere: {
      Type: "AWS::IAM::Policy",
      Properties: {
        Roles: [{ Ref: "OtherRole" }],
        PolicyDocument: { Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
      },
    },
  };
  const resourcesOf = (type: string) =>
    Object.entries(template).filter(([, resource]) => resource.Type === type) as [string, Resource][];

  it("gathers every policy on the function's role, each value resolved to what the stand-ins call it", () => {
    const physical = new Map([
      ["Table", "Table"],
      ["Bus", "user-sync"],
    ]);
    expect(governedFunctions(resourcesOf, policyValues(resourcesOf, physical, REGION))).toEqual([
      {
        label: "user-sync-callback",
        logicalId: "Fn",
        statements: [
          {
            Effect: "Allow",
            Action: "dynamodb:PutItem",
            Resource: "arn:aws:dynamodb:eu-central-1:000000000000:table/Table",
          },
          {
            Effect: "Allow",
            Action: "sqs:SendMessage",
            Resource: "arn:aws:sqs:eu-central-1:000000000000:Queue",
          },
          {
            Effect: "Allow",
            Action: "events:PutEvents",
            Resource: BUS,
            Condition: { StringEquals: { "events:source": "finapi.user-sync" } },
          },
          {
            Effect: "Allow",
            Action: "ssm:GetParameter",
            Resource: "arn:aws:ssm:eu-central-1:000000000000:parameter/finapi/acme",
          },
          {
            Effect: "Allow",
            Action: "logs:PutLogEvents",
            Resource: "arn:aws:logs:eu-central-1:000000000000:log-group:Logs:*",
          },
        ],
      },
    ]);
  });
});

describe("startIamGate", () => {
  let sqs: SqsStandIn;
  let dynamo: DynamoDbStandIn;
  let eventBridge: EventBridgeStandIn;
  let secretsManager: SecretsManagerStandIn;
  let authority: IamAuthority;
  const gates: IamGate[] = [];
  let sqsGate: IamGate;
  let dynamoGate: IamGate;
  let eventsGate: IamGate;
  const queueArn = (name: string) => `arn:aws:sqs:${REGION}:000000000000:${name}`;

  beforeAll(async () => {
    [sqs, dynamo, eventBridge, secretsManager] = await Promise.all([
      startSqs({ queueNames: ["Allowed", "Other"] }),
      startDynamoDb(),
      startEventBridge({ busNames: ["user-sync"] }),
      startSecretsManager({ "finapi/acme/credentials": "acme", "finapi/other/credentials": "other" }),
    ]);
    await dynamo.createTable("Idempotency");
    authority = createIamAuthority(
      [
        {
          label: "user-sync-callback",
          logicalId: "Callback",
          statements: [
            allow("sqs:SendMessage", queueArn("Allowed")),
            allow(["dynamodb:PutItem", "dynamodb:DeleteItem"], TABLE),
            allow("events:PutEvents", BUS, { StringEquals: { "events:source": "finapi.user-sync" } }),
          ],
        },
        {
          label: "config-sync",
          logicalId: "ConfigSync",
          statements: [
            allow("secretsmanager:BatchGetSecretValue", "*"),
            allow("secretsmanager:GetSecretValue", "finapi/acme/credentials"),
          ],
        },
        {
          label: "without-batches",
          logicalId: "WithoutBatches",
          statements: [allow("secretsmanager:GetSecretValue", "finapi/acme/credentials")],
        },
      ],
      { region: REGION, secretArn: (id) => id },
    );
    [sqsGate, dynamoGate, eventsGate] = (await Promise.all(
      [sqs.url, dynamo.url, eventBridge.url].map((url) => startIamGate(url, authority)),
    )) as [IamGate, IamGate, IamGate];
    gates.push(sqsGate, dynamoGate, eventsGate);
  });

  afterAll(async () => {
    await Promise.all(gates.map((gate) => gate.close()));
    await Promise.all([sqs.close(), dynamo.close(), eventBridge.close(), secretsManager.close()]);
  });

  const credentials = (accessKeyId = authority.accessKeyOf("Callback")) => ({
    accessKeyId,
    secretAccessKey: "local",
  });

  it("reads the caller's access key from the SigV4 Authorization header", () => {
    expect(
      accessKeyIdOf(
        "AWS4-HMAC-SHA256 Credential=AKIALOCAL0123/20261201/eu-central-1/sqs/aws4_request, SignedHeaders=host, Signature=ab",
      ),
    ).toBe("AKIALOCAL0123");
    expect(accessKeyIdOf(undefined)).toBeUndefined();
  });

  it("passes on an allowed call and refuses another with the service's AccessDeniedException", async () => {
    const client = new SQSClient({ region: REGION, endpoint: sqsGate.url, credentials: credentials() });
    const send = (queue: string) =>
      client.send(
        new SendMessageCommand({ QueueUrl: `${sqsGate.url}/000000000000/${queue}`, MessageBody: "m" }),
      );
    await send("Allowed");
    expect(sqs.bodies("Allowed")).toEqual(["m"]);
    await expect(send("Other")).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining(
        `not authorized to perform: sqs:SendMessage on resource: ${queueArn("Other")}`,
      ),
    });
    expect(sqs.bodies("Other")).toEqual([]);
    client.destroy();
  });

  it("refuses DynamoDB calls the role does not grant with DynamoDB's AccessDeniedException, and lists the grants never used", async () => {
    const client = new DynamoDBClient({
      region: REGION,
      endpoint: dynamoGate.url,
      credentials: credentials(),
    });
    await client.send(new PutItemCommand({ TableName: "Idempotency", Item: { id: { S: "a" } } }));
    await expect(
      client.send(new GetItemCommand({ TableName: "Idempotency", Key: { id: { S: "a" } } })),
    ).rejects.toMatchObject({ name: "AccessDeniedException" });
    client.destroy();
    expect(authority.unusedGrants()).toContainEqual({
      function: "user-sync-callback",
      action: "dynamodb:DeleteItem",
      resource: TABLE,
    });
    expect(authority.unusedGrants()).not.toContainEqual(
      expect.objectContaining({ action: "dynamodb:PutItem" }),
    );
  });

  it("checks the events:source condition of each PutEvents entry", async () => {
    const client = new EventBridgeClient({
      region: REGION,
      endpoint: eventsGate.url,
      credentials: credentials(),
    });
    const put = (source: string) =>
      client.send(
        new PutEventsCommand({
          Entries: [
            { EventBusName: "user-sync", Source: source, DetailType: "finAPI User Deleted", Detail: "{}" },
          ],
        }),
      );
    await put("finapi.user-sync");
    await expect(put("someone.else")).rejects.toMatchObject({ name: "AccessDeniedException" });
    expect(eventBridge.events.map((event) => event.source)).toEqual(["finapi.user-sync"]);
    client.destroy();
  });

  it("refuses a caller whose access key belongs to no function of the template", async () => {
    const client = new SQSClient({ region: REGION, endpoint: sqsGate.url, credentials: credentials("test") });
    await expect(
      client.send(
        new SendMessageCommand({ QueueUrl: `${sqsGate.url}/000000000000/Allowed`, MessageBody: "x" }),
      ),
    ).rejects.toMatchObject({ name: "UnrecognizedClientException" });
    client.destroy();
    expect(authority.refusals.map((refusal) => refusal.action)).toEqual([
      "sqs:SendMessage",
      "dynamodb:GetItem",
      "events:PutEvents",
    ]);
  });

  it("passes on a BatchGetSecretValue without the secrets the caller may not read, and answers those in Errors as AWS does", async () => {
    const secretsGate = await startIamGate(secretsManager.url, authority);
    gates.push(secretsGate);
    const batchAs = (logicalId: string, secretIds: string[]) => {
      const client = new SecretsManagerClient({
        region: REGION,
        endpoint: secretsGate.url,
        credentials: credentials(authority.accessKeyOf(logicalId)),
      });
      return client
        .send(new BatchGetSecretValueCommand({ SecretIdList: secretIds }))
        .finally(() => client.destroy());
    };

    const answer = await batchAs("ConfigSync", ["finapi/acme/credentials", "finapi/other/credentials"]);
    expect(answer.SecretValues?.map((entry) => entry.SecretString)).toEqual(["acme"]);
    expect(answer.Errors).toEqual([
      {
        SecretId: "finapi/other/credentials",
        ErrorCode: "AccessDeniedException",
        Message: expect.stringContaining(
          "not authorized to perform: secretsmanager:GetSecretValue on resource: finapi/other/credentials",
        ),
      },
    ]);
    const none = await batchAs("ConfigSync", ["finapi/other/credentials"]);
    expect(none.SecretValues).toEqual([]);
    expect(none.Errors?.map((error) => error.SecretId)).toEqual(["finapi/other/credentials"]);
    await expect(batchAs("WithoutBatches", ["finapi/acme/credentials"])).rejects.toMatchObject({
      name: "AccessDeniedException",
      message: expect.stringContaining("secretsmanager:BatchGetSecretValue on resource: *"),
    });
    expect(secretsManager.calls.map((call) => call.input.SecretIdList)).toEqual([
      ["finapi/acme/credentials"],
    ]);
  });
});
