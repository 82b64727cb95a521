import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PartnerStack } from "../../examples/cdk-app/partner-stack.ts";
import { PlatformStack } from "../../examples/cdk-app/platform-stack.ts";
import { CLIENT_REGISTRY_FILE } from "../../functions/contracts/client-registry.ts";
import { USER_DELETED_DETAIL_TYPE, USER_DELETED_SOURCE } from "../../functions/contracts/user-deletion.ts";
import { parseStackConfig, StackConfigError } from "../../infra/config.ts";
import {
  FinapiConfigSync,
  type FinapiConfigSyncProps,
  FinapiConfigSyncPropsError,
} from "../../infra/constructs/finapi-config-sync.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { FinapiConfigSyncStack } from "../../infra/stack.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { render, renderDeep } from "./render.ts";
import { removeOutdirs, unbundledApp } from "./synth-app.ts";

afterAll(removeOutdirs);

const PARTNER_BUS_ARN = "arn:aws:events:eu-central-1:444455556666:event-bus/finapi-deletions";

const sandboxClient = {
  name: "sandbox",
  environment: "sandbox",
  parameterName: "/finapi/sandbox",
  credentialsSecretId: "finapi/sandbox/credentials",
} as const;

/* A user's own app: no cdk.json context of ours, handlers not bundled (templates need no bundles). */
const userApp = () => new App({ context: { "aws:cdk:bundling-stacks": [] } });

type Resource = { Type: string; Properties: Record<string, unknown> };

function propsProblems(props: unknown): readonly string[] {
  const stack = new Stack(userApp(), "Platform");
  try {
    new FinapiConfigSync(stack, "Finapi", props as FinapiConfigSyncProps);
  } catch (error) {
    if (!(error instanceof FinapiConfigSyncPropsError)) throw error;
    // Nothing was built before the check failed, not even the construct's own node.
    expect(stack.node.children).toEqual([]);
    return error.problems;
  }
  throw new Error("the props were accepted");
}

function contextProblems(context: Record<string, unknown>): readonly string[] {
  try {
    parseStackConfig(context, REPOSITORY_ROOT);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  throw new Error("the context was accepted");
}

describe("FinapiConfigSync in a user's own CDK app (the embedding example)", () => {
  let stack: PlatformStack;
  let template: Template;
  let id: (construct: IConstruct) => string;

  beforeAll(() => {
    stack = new PlatformStack(userApp(), "Platform", {
      env: { account: "111122223333", region: "eu-central-1" },
      partnerBusArn: PARTNER_BUS_ARN,
    });
    template = Template.fromStack(stack);
    id = (construct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
  }, SYNTH_TIMEOUT_MS);

  const bus = () => stack.finapi.bus as NonNullable<FinapiConfigSync["bus"]>;
  const rules = () =>
    Object.values(template.findResources("AWS::Events::Rule") as Record<string, Resource>).filter(
      (rule) => render((rule.Properties.EventBusName ?? "") as unknown) === `\${${id(bus())}}`,
    );

  it("builds config-sync, the callback and the deletion publisher, one bus, one status table, the alarm topic and the dashboard", () => {
    expect(Object.keys(template.findResources("AWS::Lambda::Function")).sort()).toEqual(
      [
        id(stack.finapi.configSyncFunction),
        id((stack.finapi.callback as NonNullable<FinapiConfigSync["callback"]>).handler.function),
        id((stack.finapi.callback as NonNullable<FinapiConfigSync["callback"]>).deletions.publisher.function),
      ].sort(),
    );
    expect(Object.keys(template.findResources("AWS::Events::EventBus"))).toEqual([id(bus())]);
    expect(template.findResources("AWS::DynamoDB::Table")).toHaveProperty(id(stack.finapi.statusTable));
    expect(Object.keys(template.findResources("AWS::SNS::Topic"))).toEqual([id(stack.finapi.alarmTopic)]);
    expect(Object.keys(template.findResources("AWS::CloudWatch::Dashboard"))).toEqual([
      id(stack.finapi.dashboard),
    ]);
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "platform@example.com",
    });
  });

  it("exposes the callback base URL: the host of the callback's Function URL, the default ingress", () => {
    const ingress = stack.finapi.callbackIngress as NonNullable<FinapiConfigSync["callbackIngress"]>;
    expect(render(stack.resolve(stack.finapi.callbackBaseUrl))).toBe(
      `https://select(2, split("/", \${${id(ingress.functionUrl as IConstruct)}.FunctionUrl}))`,
    );
    template.resourceCountIs("AWS::ApiGateway::RestApi", 0);
  });

  it("adds no outputs: the user's stack decides what it exports", () => {
    expect(template.toJSON().Outputs ?? {}).toEqual({});
  });

  it("names the alarms and the dashboard after the user's stack", () => {
    template.hasResourceProperties("AWS::CloudWatch::Dashboard", { DashboardName: "Platform" });
    for (const alarm of Object.values(
      template.findResources("AWS::CloudWatch::Alarm") as Record<string, Resource>,
    )) {
      expect(alarm.Properties.AlarmName).toMatch(/^Platform-/);
    }
  });

  it("counts and alarms in a metrics namespace of its own stack, so a second stack in the account never alarms on this stack's clients", () => {
    const other = Template.fromStack(
      new PlatformStack(userApp(), "PlatformStaging", {
        env: { account: "111122223333", region: "eu-central-1" },
        partnerBusArn: PARTNER_BUS_ARN,
      }),
    );
    /* The namespaces each function emits into, and the ones each alarm watches (AWS/* are AWS's own). */
    const namespacesOf = (stackTemplate: Template) => {
      const resources = Object.values(stackTemplate.toJSON().Resources as Record<string, Resource>);
      const emitted = resources
        .filter((resource) => resource.Type === "AWS::Lambda::Function")
        .map((fn) => (fn.Properties.Environment as { Variables: Record<string, string> }).Variables)
        .map((variables) => variables.POWERTOOLS_METRICS_NAMESPACE);
      const watched = resources
        .filter((resource) => resource.Type === "AWS::CloudWatch::Alarm")
        .flatMap((alarm) => {
          const queries = (alarm.Properties.Metrics as { Expression?: string }[] | undefined) ?? [];
          return [
            alarm.Properties.Namespace as string | undefined,
            ...queries.map((query) => /SCHEMA\("([^"]+)"/.exec(query.Expression ?? "")?.[1]),
          ];
        })
        .filter((namespace): namespace is string => namespace !== undefined && !namespace.startsWith("AWS/"));
      return { emitted: [...new Set(emitted)], watched: [...new Set(watched)] };
    };
    expect(namespacesOf(template)).toEqual({
      emitted: ["FinapiConfigSync/Platform"],
      watched: ["FinapiConfigSync/Platform"],
    });
    expect(namespacesOf(other)).toEqual({
      emitted: ["FinapiConfigSync/PlatformStaging"],
      watched: ["FinapiConfigSync/PlatformStaging"],
    });
  });

  it("puts live user deletions on the bus into the user's queue with a rule matching the event contract", () => {
    const toQueue = rules().find(
      (rule) =>
        render((rule.Properties.Targets as { Arn: unknown }[])[0]?.Arn) ===
        `\${${id(stack.liveDeletions)}.Arn}`,
    );
    expect(toQueue?.Properties.EventPattern).toEqual({
      source: [USER_DELETED_SOURCE],
      "detail-type": [USER_DELETED_DETAIL_TYPE],
      detail: { environment: ["live"] },
    });
    expect(toQueue?.Properties.State).toBe("ENABLED");
    template.hasResourceProperties("AWS::SQS::QueuePolicy", {
      Queues: [{ Ref: id(stack.liveDeletions) }],
    });
  });

  it("forwards live user deletions to another account's bus with a rule on this bus and a role that may put them there", () => {
    const toPartner = rules().find(
      (rule) => (rule.Properties.Targets as { Arn: unknown }[])[0]?.Arn === PARTNER_BUS_ARN,
    );
    expect(toPartner?.Properties.EventPattern).toEqual({
      source: [USER_DELETED_SOURCE],
      "detail-type": [USER_DELETED_DETAIL_TYPE],
      detail: { environment: ["live"] },
    });
    if (!toPartner) throw new Error("no rule targets the partner's bus");
    const roleArn = render((toPartner.Properties.Targets as { RoleArn: unknown }[])[0]?.RoleArn);
    const roleId = /^\$\{(\w+)\.Arn\}$/.exec(roleArn)?.[1] as string;
    template.hasResourceProperties("AWS::IAM::Policy", {
      Roles: [{ Ref: roleId }],
      PolicyDocument: {
        Statement: [{ Action: "events:PutEvents", Effect: "Allow", Resource: PARTNER_BUS_ARN }],
      },
    });
  });

  it("lets the other account's bus admit the forwarded deletions from this account and route them by the same contract", () => {
    const partner = Template.fromStack(
      new PartnerStack(userApp(), "Partner", {
        env: { account: "444455556666", region: "eu-central-1" },
        sourceAccount: "111122223333",
      }),
    );
    expect(PARTNER_BUS_ARN.endsWith(":444455556666:event-bus/finapi-deletions")).toBe(true);
    partner.hasResourceProperties("AWS::Events::EventBus", { Name: "finapi-deletions" });
    const policies = Object.values(
      partner.findResources("AWS::Events::EventBusPolicy") as Record<string, Resource>,
    );
    expect(policies.map((policy) => renderDeep(policy.Properties.Statement))).toEqual([
      {
        Sid: "cdk-FinapiDeletionsFromPlatform",
        Effect: "Allow",
        Principal: { AWS: `arn:\${AWS::Partition}:iam::111122223333:root` },
        Action: "events:PutEvents",
        Resource: expect.stringMatching(/^\$\{FinapiDeletions\w+\.Arn\}$/),
      },
    ]);
    partner.hasResourceProperties("AWS::Events::Rule", {
      EventPattern: { source: [USER_DELETED_SOURCE], "detail-type": [USER_DELETED_DETAIL_TYPE] },
    });
  });

  it(
    "brings its cdk-nag acknowledgements along: the AwsSolutions and Serverless packs find nothing inside the construct",
    () => {
      const app = userApp();
      new PlatformStack(app, "Platform", {
        env: { account: "111122223333", region: "eu-central-1" },
        partnerBusArn: PARTNER_BUS_ARN,
      });
      app.synth();
      const findings = [new AwsSolutionsChecks(), new ServerlessChecks()].flatMap((pack) =>
        pack
          .validateScope(app)
          .violations.flatMap((violation) =>
            violation.violatingResources.map(
              (resource) => `${String(resource.constructPath)} ${violation.ruleName}`,
            ),
          ),
      );
      // The packs do look at this stack: the example's own queue has no dead-letter queue.
      expect(findings).toContain("Platform/LiveDeletions/Resource AwsSolutions-SQS3");
      expect(findings.filter((finding) => finding.startsWith("Platform/Finapi/"))).toEqual([]);
    },
    SYNTH_TIMEOUT_MS,
  );

  it("keeps the bus closed to forged deletions: only the publisher may put finapi.user-sync events, whoever adds rules", () => {
    template.hasResourceProperties("AWS::Events::EventBusPolicy", {
      EventBusName: { Ref: id(bus()) },
      Statement: {
        Sid: "cdk-OnlyThePublisherPutsUserDeletions",
        Effect: "Deny",
        Action: "events:PutEvents",
        Condition: { StringEquals: { "events:source": USER_DELETED_SOURCE } },
      },
    });
  });
});

describe("FinapiConfigSync props", () => {
  it("reports every bad prop at once, each naming the prop and the rule, before building anything", () => {
    expect(
      propsProblems({
        documentsRoot: join(REPOSITORY_ROOT, "test/fixtures/infra"),
        clients: [
          { ...sandboxClient, name: "has space", credentialSecretId: "x" },
          {
            ...sandboxClient,
            name: "live",
            environment: "live",
            parameterName: "/finapi/live",
            document: "documents/live-invalid.json",
          },
        ],
        reconcileSchedule: "every 5 minutes",
        callbackReservedConcurrency: 0,
        callbackRateLimit: 500,
        logRetentionDays: 31,
        alarmEmail: "not-an-address",
      }),
    ).toEqual([
      "clients[0].name: must be 1 to 64 characters of a-z A-Z 0-9 - _ (it appears in the callback URL path and in metric dimensions)",
      'clients[0].credentialSecretId: is not a client field; did you mean "credentialsSecretId"?',
      'reconcileSchedule: must be an EventBridge schedule expression such as "rate(15 minutes)" or "cron(0/15 * * * ? *)"',
      "alarmEmail: must be an e-mail address",
      "callbackReservedConcurrency: must be at least 1",
      expect.stringMatching(
        /^logRetentionDays: must be one of CloudWatch Logs' retention periods: 1, 3, 5, /,
      ),
      'callbackRateLimit: takes effect only with callbackIngress "api-gateway-waf" (a Function URL has no web ACL); set that too, or leave this out',
      expect.stringMatching(
        /^clients\[1\]\.document: documents\/live-invalid\.json is not a valid finAPI client configuration for live:\n/,
      ),
    ]);
  });

  it("puts the construct's path and every problem in the error's message", () => {
    const stack = new Stack(userApp(), "Platform");
    expect(
      () =>
        new FinapiConfigSync(stack, "Finapi", {
          clients: [sandboxClient, sandboxClient],
          callbackSecretRotationOverlapHours: 200,
        }),
    ).toThrow(
      [
        "Platform/Finapi: invalid FinapiConfigSync props:",
        '  - clients: name "sandbox" is used by more than one client',
        '  - clients: parameterName "finapi/sandbox" is used by more than one client (one parameter per finAPI client; a leading slash does not tell parameters apart)',
        "  - callbackSecretRotationOverlapHours: must be at most 168 (a leaked URL must stop working within a week)",
      ].join("\n"),
    );
  });

  it("applies the context's rules: the same bad values give the same problems, named as props instead of context keys", () => {
    const settings = {
      clients: [
        { ...sandboxClient, environment: "alpha", mode: "dry", parameterKeyArn: "alias/finapi" },
        { ...sandboxClient, name: "live", environment: "live", userBase: "bad base", parameterName: "//x" },
      ],
      hostCallback: "yes",
      callbackFanOutWindowSeconds: 59,
      callbackAllowedCidrs: ["203.0.113.0/24"],
      unauthenticatedAlarmThreshold: 1.5,
      logLevel: "TRACE",
    };
    const fromContext = contextProblems(
      Object.fromEntries(Object.entries(settings).map(([name, value]) => [`finapi:${name}`, value])),
    );
    expect(fromContext.length).toBeGreaterThanOrEqual(9);
    expect(propsProblems(settings)).toEqual(fromContext.map((problem) => problem.replaceAll("finapi:", "")));
  });

  it("names the ingress settings a Function URL cannot use by their prop names", () => {
    const settings = {
      clients: [sandboxClient],
      callbackRateLimit: 500,
      callbackAllowedCidrs: ["203.0.113.0/24"],
    };
    const fromContext = contextProblems(
      Object.fromEntries(Object.entries(settings).map(([name, value]) => [`finapi:${name}`, value])),
    );
    expect(propsProblems(settings)).toEqual([
      'callbackRateLimit: takes effect only with callbackIngress "api-gateway-waf" (a Function URL has no web ACL); set that too, or leave this out',
      'callbackAllowedCidrs: takes effect only with callbackIngress "api-gateway-waf" (a Function URL has no web ACL); set that too, or leave this out',
    ]);
    expect(propsProblems(settings)).toEqual(fromContext.map((problem) => problem.replaceAll("finapi:", "")));
  });

  it(
    "puts the callback behind API Gateway and AWS WAF when asked, and its base URL is the API stage's",
    () => {
      const stack = new Stack(userApp(), "Platform");
      const finapi = new FinapiConfigSync(stack, "Finapi", {
        clients: [sandboxClient],
        callbackIngress: "api-gateway-waf",
        callbackAllowedCidrs: ["203.0.113.0/24"],
      });
      const ingress = finapi.callbackIngress as NonNullable<FinapiConfigSync["callbackIngress"]>;
      expect(finapi.settings.callbackRateLimit).toBe(1000);
      expect(finapi.callbackBaseUrl).toBe(ingress.baseUrl);
      const template = Template.fromStack(stack);
      template.resourceCountIs("AWS::ApiGateway::RestApi", 1);
      template.resourceCountIs("AWS::WAFv2::WebACL", 1);
      template.resourceCountIs("AWS::Lambda::Url", 0);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    "hosts any number of clients' callbacks with one root secret, passing each client's secret generation to both functions",
    () => {
      const stack = new Stack(userApp(), "Platform");
      const clients = Array.from({ length: 12 }, (_, index) => ({
        ...sandboxClient,
        name: `client-${index}`,
        parameterName: `/finapi/client-${index}`,
        ...(index === 3 ? { callbackSecretGeneration: 2 } : {}),
      }));
      const finapi = new FinapiConfigSync(stack, "Finapi", { clients });
      const template = Template.fromStack(stack);
      template.resourceCountIs("AWS::SecretsManager::Secret", 1);
      const functions = template.findResources("AWS::Lambda::Function");
      const variables = (fn: IConstruct): Record<string, unknown> => {
        const resource = functions[stack.getLogicalId(fn.node.defaultChild as CfnElement)];
        const properties = resource?.Properties as { Environment: { Variables: Record<string, unknown> } };
        return properties.Environment.Variables;
      };
      const generations = (registry: string | undefined) =>
        (
          JSON.parse(registry ?? "{}") as { clients: { name: string; callbackSecretGeneration: number }[] }
        ).clients.map((client) => client.callbackSecretGeneration);
      const expected = clients.map((_, index) => (index === 3 ? 2 : 0));
      const callbackFunction = finapi.callback?.handler.function as IConstruct;
      expect(generations(finapi.callback?.handler.bundledFiles[CLIENT_REGISTRY_FILE])).toEqual(expected);
      expect(generations(finapi.configSync.handler.bundledFiles[CLIENT_REGISTRY_FILE])).toEqual(expected);
      const rootSecretRef = {
        Ref: stack.getLogicalId(finapi.callback?.rootSecret.node.defaultChild as CfnElement),
      };
      expect(variables(callbackFunction).CALLBACK_ROOT_SECRET_ID).toEqual(rootSecretRef);
      expect(variables(finapi.configSyncFunction).CALLBACK_ROOT_SECRET_ID).toEqual(rootSecretRef);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    "refuses clients whose Parameter Store Change rule would exceed EventBridge's 2,048 characters, naming the count and the limit",
    () => {
      /* Names at the root are matched one by one: 60 of them, in two spellings, outgrow the pattern. */
      const clients = Array.from({ length: 60 }, (_, index) => ({
        ...sandboxClient,
        name: `root-${index}`,
        parameterName: `/finapi-root-${index}`,
        credentialsSecretId: `finapi/root-${index}/credentials`,
      }));
      const stack = new Stack(userApp(), "Platform");
      expect(() => new FinapiConfigSync(stack, "Finapi", { clients, hostCallback: false })).toThrow(
        /^ConfigSync: the Parameter Store Change rule's event pattern would be \d+ characters with 60 clients; EventBridge's limit is 2048\. Put the parameters under fewer top-level paths/,
      );
      /* The same clients under one path: one prefix in each spelling. */
      const underOnePath = clients.map((client, index) => ({
        ...client,
        parameterName: `/finapi/root-${index}`,
      }));
      expect(
        () =>
          new FinapiConfigSync(new Stack(userApp(), "Platform"), "Finapi", {
            clients: underOnePath,
            hostCallback: false,
          }),
      ).not.toThrow();
    },
    SYNTH_TIMEOUT_MS,
  );

  it("names an unknown prop and suggests the nearest one", () => {
    expect(propsProblems({ clients: [sandboxClient], hostCallbak: false })).toEqual([
      'hostCallbak: is not a prop of FinapiConfigSync; did you mean "hostCallback"?',
    ]);
  });

  it("checks a client's document against finAPI's rules and keeps it inside documentsRoot", () => {
    const documentsRoot = join(REPOSITORY_ROOT, "test/fixtures/infra");
    expect(
      propsProblems({
        documentsRoot,
        clients: [
          {
            ...sandboxClient,
            name: "live",
            environment: "live",
            parameterName: "/finapi/live",
            document: "documents/live-invalid.json",
          },
          { ...sandboxClient, document: "../../../package.json" },
        ],
      }),
    ).toEqual([
      expect.stringMatching(
        /^clients\[0\]\.document: documents\/live-invalid\.json is not a valid finAPI client configuration for live:\n/,
      ),
      "clients[1].document: ../../../package.json is outside the repository; documents live in the repository (GitOps)",
    ]);
  });

  it(
    "writes a valid document, read relative to documentsRoot, to its client's parameter",
    () => {
      const stack = new Stack(userApp(), "Platform");
      const finapi = new FinapiConfigSync(stack, "Finapi", {
        documentsRoot: join(REPOSITORY_ROOT, "test/fixtures/infra"),
        clients: [{ ...sandboxClient, document: "documents/sandbox.json" }],
      });
      Template.fromStack(stack).hasResourceProperties("AWS::SSM::Parameter", {
        Name: "/finapi/sandbox",
        Type: "String",
        Value: JSON.stringify(
          JSON.parse(
            readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/documents/sandbox.json"), "utf8"),
          ),
        ),
      });
      expect(finapi.settings.clients[0]?.ownedDocument?.path).toBe("documents/sandbox.json");
    },
    SYNTH_TIMEOUT_MS,
  );

  it("gives the props the context's defaults", () => {
    const stack = new Stack(userApp(), "Platform");
    const { stackName: _, ...contextDefaults } = parseStackConfig(
      { "finapi:clients": [sandboxClient] },
      REPOSITORY_ROOT,
    );
    expect(new FinapiConfigSync(stack, "Finapi", { clients: [sandboxClient] }).settings).toEqual(
      contextDefaults,
    );
  });

  it(
    "builds no callback, bus or callback URL when hostCallback is false",
    () => {
      const stack = new Stack(userApp(), "Platform");
      const finapi = new FinapiConfigSync(stack, "Finapi", { clients: [sandboxClient], hostCallback: false });
      expect([finapi.callback, finapi.bus, finapi.callbackBaseUrl]).toEqual([
        undefined,
        undefined,
        undefined,
      ]);
      const template = Template.fromStack(stack);
      template.resourceCountIs("AWS::Events::EventBus", 0);
      template.resourceCountIs("AWS::Lambda::Function", 1);
    },
    SYNTH_TIMEOUT_MS,
  );
});

describe("FinapiConfigSyncStack around the construct", () => {
  /* The ids the stack's resources had before the construct existed: a changed id would replace the resource. */
  const STATEFUL_LOGICAL_IDS = {
    "AWS::DynamoDB::Table": ["ConfigSyncStatusTableCBC80D01", "UserSyncCallbackDeletionsTable2FC8EF8F"],
    "AWS::SQS::Queue": [
      "ConfigSyncFailedInvocationsQueueA3FBCFF3",
      "ConfigSyncUndeliveredEventsQueueA880261C",
      "UserSyncCallbackDeletionsDeadLettersQueueE4353294",
      "UserSyncCallbackDeletionsQueueCAAED2D9",
    ],
    /* One root secret replaced the per-client path secrets on purpose (docs/operations.md: upgrading from one path secret per client). */
    "AWS::SecretsManager::Secret": ["UserSyncCallbackCallbackRootSecretF3582291"],
    "AWS::Events::EventBus": ["UserSyncCallbackDeletionsBusC291814E"],
    "AWS::KMS::Key": ["UserSyncCallbackSecretDigestKey79222226"],
    "AWS::SSM::Parameter": ["ConfigSyncDocumentsandbox695559AB"],
    "AWS::Logs::LogGroup": [
      "ConfigSyncHandlerLogs4E772CB9",
      "UserSyncCallbackDeletionsPublisherLogs6B6F4660",
      "UserSyncCallbackHandlerLogs0D42EEC9",
    ],
  };

  let stack: FinapiConfigSyncStack;
  let template: Template;

  beforeAll(() => {
    const context = JSON.parse(
      readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/contexts/two-clients.json"), "utf8"),
    ) as Record<string, unknown>;
    const app = unbundledApp(context);
    const config = parseStackConfig(app.node.getAllContext(), REPOSITORY_ROOT);
    stack = new FinapiConfigSyncStack(app, config.stackName, { config });
    template = Template.fromStack(stack);
  }, SYNTH_TIMEOUT_MS);

  it("keeps the logical id of every table, queue, secret, bus, key, parameter and log group", () => {
    for (const [type, ids] of Object.entries(STATEFUL_LOGICAL_IDS)) {
      expect(Object.keys(template.findResources(type)).sort(), type).toEqual(ids);
    }
  });

  it("exports the same outputs as before, from the stack (one root secret output instead of one per client)", () => {
    expect(Object.keys(template.toJSON().Outputs).sort()).toEqual([
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
    ]);
  });

  it("holds exactly one FinapiConfigSync, built from the context's settings", () => {
    expect(stack.node.children.filter((child) => child instanceof FinapiConfigSync)).toEqual([
      stack.finapiConfigSync,
    ]);
    expect(stack.finapiConfigSync.settings.reconcileSchedule).toBe("rate(30 minutes)");
    expect(stack.finapiConfigSync.settings.clients.map((client) => client.ownedDocument?.path)).toEqual([
      "test/fixtures/infra/documents/sandbox.json",
      undefined,
    ]);
  });
});
