import { Duration, Stack, Token } from "aws-cdk-lib";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { afterAll, describe, expect, it } from "vitest";
import {
  ConstructPropsError,
  checkProps,
  durationBetween,
  schemaProblems,
  wholeNumber,
} from "../../infra/construct-props.ts";
import { CallbackIngress, type CallbackIngressProps } from "../../infra/constructs/callback-ingress.ts";
import { ConfigSync, type ConfigSyncProps } from "../../infra/constructs/config-sync.ts";
import { DeadLetterQueue } from "../../infra/constructs/dead-letter-queue.ts";
import { DeletionPipeline } from "../../infra/constructs/deletion-pipeline.ts";
import { Monitoring, type MonitoringProps } from "../../infra/constructs/monitoring.ts";
import {
  ObservedNodeFunction,
  type ObservedNodeFunctionProps,
} from "../../infra/constructs/observed-node-function.ts";
import { UserSyncCallback, type UserSyncCallbackProps } from "../../infra/constructs/user-sync-callback.ts";
import { removeOutdirs, unbundledApp } from "./synth-app.ts";

afterAll(removeOutdirs);

/* What the constructs under test are given from elsewhere: they live in a stack of their own. */
const inputs = new Stack(unbundledApp(), "Inputs");
const someFunction = lambda.Function.fromFunctionArn(
  inputs,
  "Function",
  "arn:aws:lambda:eu-central-1:111122223333:function:callback",
);
const someQueue = sqs.Queue.fromQueueArn(
  inputs,
  "Queue",
  "arn:aws:sqs:eu-central-1:111122223333:dead-letters",
);
const someLogGroup = logs.LogGroup.fromLogGroupName(inputs, "LogGroup", "/aws/lambda/config-sync");
const someSecret = secretsmanager.Secret.fromSecretNameV2(inputs, "Secret", "callback/sandbox");

/**
 * Builds a construct with bad props in an empty stack: the problems it reports, once it is certain
 * that the construct left nothing behind (not even its own node).
 */
function problemsOf(build: (scope: Stack) => unknown): readonly string[] {
  const scope = new Stack(unbundledApp(), "Checks");
  try {
    build(scope);
  } catch (error) {
    if (!(error instanceof ConstructPropsError)) throw error;
    expect(scope.node.children).toEqual([]);
    return error.problems;
  }
  throw new Error("the props were accepted");
}

/* Values the compiler would refuse, as a caller without types (JavaScript, JSON) could pass them. */
const untyped = <T>(value: unknown) => value as T;

describe("checkProps", () => {
  it("throws nothing when there is no problem", () => {
    expect(() => checkProps("Anything", new Stack(unbundledApp(), "Checks"), "Thing", [])).not.toThrow();
  });

  it("throws one error naming the construct's path and kind, with every problem on a line of its own", () => {
    const scope = new Stack(unbundledApp(), "Platform");
    expect(() => checkProps("Thing", scope, "Inner", ["a: must be 1", "b: must be 2"])).toThrow(
      ["Platform/Inner: invalid Thing props:", "  - a: must be 1", "  - b: must be 2"].join("\n"),
    );
  });
});

describe("the number and Duration rules", () => {
  it("take a token, which no rule can see through at synth time", () => {
    const token = Token.asNumber({ Ref: "Limit" });
    expect(schemaProblems(wholeNumber(10, 20), token)).toEqual([]);
    expect(
      schemaProblems(durationBetween(Duration.seconds(1), Duration.minutes(1)), Duration.seconds(token)),
    ).toEqual([]);
  });

  it("refuse a number outside the bounds, a fraction, and a Duration in fractions of a second", () => {
    expect(schemaProblems(wholeNumber(10, 20, "why"), 21)).toEqual([
      "must be a whole number from 10 to 20 (why)",
    ]);
    expect(schemaProblems(wholeNumber(10), 10.5)).toEqual(["must be a whole number of at least 10"]);
    expect(
      schemaProblems(durationBetween(Duration.seconds(1), Duration.minutes(1)), Duration.millis(2500)),
    ).toEqual(["must be a Duration of 1 second to 1 minute in whole seconds"]);
  });
});

describe("DeadLetterQueue props", () => {
  it("reports every bad prop at once, before creating anything", () => {
    expect(
      problemsOf(
        (scope) =>
          new DeadLetterQueue(scope, "DeadLetters", {
            holds: "",
            retentionPeriod: Duration.days(15),
            fifo: untyped("yes"),
          }),
      ),
    ).toEqual([
      "holds: must say what lands in the queue",
      "retentionPeriod: must be a Duration of 1 minute to 14 days in whole seconds (SQS's bounds)",
      "fifo: must be true or false",
    ]);
  });
});

describe("ObservedNodeFunction props", () => {
  const valid: ObservedNodeFunctionProps = {
    entry: "functions/config-sync/handler.ts",
    description: "A function",
    serviceName: "config-sync",
    timeout: Duration.seconds(10),
    reservedConcurrentExecutions: 1,
  };

  it("reports every bad prop at once, each naming the prop and the rule, before creating anything", () => {
    expect(
      problemsOf(
        (scope) =>
          new ObservedNodeFunction(scope, "Function", {
            entry: "/elsewhere/handler.py",
            description: "x".repeat(257),
            serviceName: "config sync",
            timeout: Duration.minutes(16),
            memorySize: 64,
            reservedConcurrentExecutions: 0,
            environment: { "1ST": "x", LOG_LEVEL: "DEBUG", POWERTOOLS_SERVICE_NAME: "other" },
            logRetention: untyped(31),
            logLevel: untyped("TRACE"),
            retryAttempts: 3,
            maxEventAge: Duration.seconds(30),
          }),
      ),
    ).toEqual([
      "entry: must be a TypeScript or JavaScript file (.ts .mts .cts .js .mjs .cjs) relative to the repository root",
      "entry: must name a file that exists (relative to the repository root)",
      "description: must be a string of 1 to 256 characters",
      "serviceName: must be 1 to 64 characters of a-z A-Z 0-9 . _ - (a metric dimension)",
      "timeout: must be a Duration of 1 second to 15 minutes in whole seconds (Lambda's bounds)",
      "memorySize: must be a whole number from 128 to 10240 (MB, Lambda's bounds)",
      "reservedConcurrentExecutions: must be a whole number of at least 1 (0 would never run the function)",
      "logRetention: must be a logs.RetentionDays value",
      "logLevel: must be one of DEBUG, INFO, WARN, ERROR",
      "retryAttempts: must be a whole number from 0 to 2 (Lambda's bounds)",
      "maxEventAge: must be a Duration of 1 minute to 6 hours in whole seconds (Lambda's bounds)",
      "environment.1ST: must be a variable name: a letter, then letters, digits and _",
      "environment.LOG_LEVEL: is set from logLevel",
      "environment.POWERTOOLS_SERVICE_NAME: is set from serviceName",
    ]);
  });

  it("refuses an entry file that does not exist and a timeout in fractions of a second", () => {
    expect(
      problemsOf(
        (scope) =>
          new ObservedNodeFunction(scope, "Function", {
            ...valid,
            entry: "functions/config-sync/handlr.ts",
            timeout: Duration.millis(1500),
          }),
      ),
    ).toEqual([
      "entry: must name a file that exists (relative to the repository root)",
      "timeout: must be a Duration of 1 second to 15 minutes in whole seconds (Lambda's bounds)",
    ]);
  });
});

describe("DeletionPipeline props", () => {
  it("reports every bad prop at once, each naming the prop and the rule, before creating anything", () => {
    expect(
      problemsOf(
        (scope) =>
          new DeletionPipeline(scope, "Deletions", {
            maxReceiveCount: 0,
            publisherConcurrency: 1,
            publisherTimeout: Duration.minutes(16),
            logLevel: untyped("VERBOSE"),
          }),
      ),
    ).toEqual([
      "logLevel: must be one of DEBUG, INFO, WARN, ERROR",
      "maxReceiveCount: must be a whole number from 1 to 1000 (SQS's bounds)",
      "publisherTimeout: must be a Duration of 1 second to 15 minutes in whole seconds (Lambda's bounds)",
      "publisherConcurrency: must be a whole number from 2 to 1000 (an SQS event source's bounds)",
    ]);
  });

  it("refuses a publisher timeout longer than Lambda allows, which would also exceed SQS's 12-hour visibility", () => {
    expect(
      problemsOf(
        (scope) => new DeletionPipeline(scope, "Deletions", { publisherTimeout: Duration.hours(3) }),
      ),
    ).toEqual([
      "publisherTimeout: must be a Duration of 1 second to 15 minutes in whole seconds (Lambda's bounds)",
    ]);
  });
});

describe("UserSyncCallback props", () => {
  const live = { name: "live", userBase: "acme", environment: "live" } as const;
  const build = (props: Partial<UserSyncCallbackProps>) =>
    problemsOf(
      (scope) =>
        new UserSyncCallback(scope, "Callback", { clients: [live], reservedConcurrency: 1, ...props }),
    );

  it("reports every bad prop and every clash between clients at once, before creating anything", () => {
    expect(
      build({
        clients: [
          live,
          { name: "live", userBase: "acme", environment: "sandbox" },
          { name: "bad name", userBase: "bad base", environment: untyped("beta") },
        ],
        reservedConcurrency: 0,
        fanOutWindowSeconds: 59,
        secretRotationOverlap: Duration.days(8),
      }),
    ).toEqual([
      "clients[2].name: must be 1 to 64 characters of a-z A-Z 0-9 - _ (it appears in the callback URL path and in metric dimensions)",
      "clients[2].userBase: must be 1..64 characters of a-z A-Z 0-9 - _ (it names the user base in every forwarded deletion)",
      "clients[2].environment: must be one of sandbox, live, alpha",
      "reservedConcurrency: must be a whole number from 1 to 1000",
      "fanOutWindowSeconds: must be a whole number of at least 60 (finAPI's copies of one deletion to a user base's clients arrive within it)",
      "secretRotationOverlap: must be a Duration of 0 seconds to 7 days in whole seconds (a leaked URL must stop working within a week)",
      'clients: name "live" is used by more than one client',
      'clients: user base "acme" has clients of 2 environments (live: live, live: sandbox); a user base lives in one finAPI environment',
    ]);
  });

  it("refuses to host no client at all", () => {
    expect(build({ clients: [] })).toEqual(["clients: must name at least one client"]);
  });
});

describe("CallbackIngress props", () => {
  const valid: CallbackIngressProps = {
    handler: someFunction,
    kind: "api-gateway-waf",
    logRetention: logs.RetentionDays.ONE_MONTH,
    throttlingRateLimit: 100,
  };
  const build = (props: Partial<CallbackIngressProps>) =>
    problemsOf((scope) => new CallbackIngress(scope, "Ingress", { ...valid, ...props }));

  it("reports every bad prop and the web ACL settings a Function URL cannot use at once, before creating anything", () => {
    expect(
      build({
        handler: untyped({}),
        kind: "function-url",
        rateLimitPerFiveMinutes: 9,
        allowedCidrs: ["192.0.2.1", "0.0.0.0/0", "192.0.2.0/24"],
        logRetention: untyped(31),
        throttlingRateLimit: 0,
      }),
    ).toEqual([
      "handler: must be a Lambda function (lambda.IFunction)",
      "rateLimitPerFiveMinutes: must be a whole number from 10 to 2000000000 (requests per source address per 5 minutes, AWS WAF's bounds)",
      "allowedCidrs[0]: must be an IPv4 or IPv6 CIDR block with a prefix of /1 or longer, e.g. 203.0.113.0/24",
      "allowedCidrs[1]: must be an IPv4 or IPv6 CIDR block with a prefix of /1 or longer, e.g. 203.0.113.0/24",
      "logRetention: must be a logs.RetentionDays value",
      "throttlingRateLimit: must be a whole number of at least 1 (requests per second)",
      'rateLimitPerFiveMinutes: takes effect only with kind "api-gateway-waf" (a Function URL has no web ACL); leave it out',
      'allowedCidrs: takes effect only with kind "api-gateway-waf" (a Function URL has no web ACL); leave it out',
    ]);
  });

  it("refuses an empty allow-list, a fractional rate and an unknown kind", () => {
    expect(build({ kind: untyped("cloudfront"), allowedCidrs: [], rateLimitPerFiveMinutes: 10.5 })).toEqual([
      "kind: must be one of function-url, api-gateway-waf",
      "rateLimitPerFiveMinutes: must be a whole number from 10 to 2000000000 (requests per source address per 5 minutes, AWS WAF's bounds)",
      "allowedCidrs: must name at least one CIDR block when given (leave it out to allow any source)",
    ]);
  });
});

describe("ConfigSync props", () => {
  const sandbox = {
    name: "sandbox",
    environment: "sandbox",
    userBase: "sandbox",
    baseUrl: "https://sandbox.finapi.io",
    parameterName: "/finapi/sandbox",
    credentialsSecretId: "finapi/sandbox/credentials",
    mode: "apply",
    callbackSecretGeneration: 0,
  } as const;
  const build = (props: Partial<ConfigSyncProps>) =>
    problemsOf(
      (scope) =>
        new ConfigSync(scope, "ConfigSync", {
          clients: [sandbox],
          reconcileSchedule: "rate(15 minutes)",
          ...props,
        }),
    );

  it("reports every bad prop and every clash between clients at once, before creating anything", () => {
    expect(
      build({
        clients: [
          sandbox,
          { ...sandbox, parameterName: "finapi/sandbox" },
          {
            ...sandbox,
            name: "second sandbox",
            parameterName: "/finapi/second",
            baseUrl: "http://sandbox.finapi.io",
            mode: untyped("dry-run"),
            callbackSecretGeneration: -1,
          },
        ],
        reconcileSchedule: "every 5 minutes",
        hostedCallback: { baseUrl: "https://callback.example", rootSecret: someSecret },
        logLevel: untyped("TRACE"),
      }),
    ).toEqual([
      'clients[1].parameterName: must start with "/" when it is a path (e.g. /finapi/sandbox)',
      "clients[2].name: must be 1 to 64 characters of a-z A-Z 0-9 - _ (it appears in the callback URL path and in metric dimensions)",
      "clients[2].baseUrl: must be an https URL",
      'clients[2].mode: must be "apply" or "report-only"',
      "clients[2].callbackSecretGeneration: must be a whole number of at least 0",
      'reconcileSchedule: must be an EventBridge schedule expression such as "rate(15 minutes)" or "cron(0/15 * * * ? *)"',
      "logLevel: must be one of DEBUG, INFO, WARN, ERROR",
      'clients: name "sandbox" is used by more than one client',
      'clients: parameterName "finapi/sandbox" is used by more than one client',
    ]);
  });

  it("refuses to sync no client at all", () => {
    expect(build({ clients: [] })).toEqual(["clients: must name at least one client"]);
  });
});

describe("Monitoring props", () => {
  const valid: MonitoringProps = {
    name: "FinapiConfigSync",
    clients: [{ name: "sandbox", mode: "apply" }],
    functions: [{ label: "config-sync", function: someFunction }],
    queues: [{ label: "failed", queue: someQueue, meaning: "a run failed" }],
    syncLogGroup: someLogGroup,
    unauthenticatedAlarmThreshold: 10,
  };

  it("reports every bad prop and every reused label at once, before creating anything", () => {
    expect(
      problemsOf(
        (scope) =>
          new Monitoring(scope, "Monitoring", {
            ...valid,
            name: "Finapi Config Sync",
            clients: [
              { name: "sandbox", mode: "apply" },
              { name: "sandbox", mode: untyped("fix") },
            ],
            functions: [
              { label: "config-sync", function: someFunction },
              { label: "config-sync", function: someFunction },
            ],
            queues: [{ label: "", queue: someQueue, meaning: "" }],
            unauthenticatedAlarmThreshold: 0,
            alarmEmail: "ops at example.com",
          }),
      ),
    ).toEqual([
      "name: must be 1 to 128 characters of a-z A-Z 0-9 - _, like a stack name (it names the dashboard and prefixes alarm names)",
      'clients[1].mode: must be "apply" or "report-only"',
      "queues[0].label: must not be empty",
      "queues[0].meaning: must not be empty",
      "unauthenticatedAlarmThreshold: must be a whole number of at least 1",
      "alarmEmail: must be an e-mail address",
      'clients: name "sandbox" is used more than once',
      'functions: label "config-sync" is used more than once',
    ]);
  });
});
