import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStackConfig, StackConfigError } from "../../infra/config.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";

const fixture = (name: string) =>
  JSON.parse(readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/contexts", name), "utf8")) as Record<
    string,
    unknown
  >;

const sandboxClient = {
  name: "sandbox",
  environment: "sandbox",
  parameterName: "/finapi/sandbox",
  credentialsSecretId: "finapi/sandbox/credentials",
};

const parse = (context: Record<string, unknown>) => parseStackConfig(context, REPOSITORY_ROOT);

function problemsOf(context: Record<string, unknown>): readonly string[] {
  try {
    parse(context);
  } catch (error) {
    if (error instanceof StackConfigError) return error.problems;
    throw error;
  }
  throw new Error("the context was accepted");
}

describe("parseStackConfig", () => {
  it("applies the defaults to a context that names only the clients", () => {
    const config = parse({ "finapi:clients": [sandboxClient] });
    expect(config).toEqual({
      stackName: "FinapiConfigSync",
      clients: [
        {
          ...sandboxClient,
          mode: "apply",
          baseUrl: "https://sandbox.finapi.io",
          userBase: "sandbox",
          callbackSecretGeneration: 0,
        },
      ],
      reconcileSchedule: "rate(15 minutes)",
      hostCallback: true,
      alarmEmail: undefined,
      callbackReservedConcurrency: 10,
      callbackSecretRotationOverlapHours: 24,
      callbackFanOutWindowSeconds: 3600,
      callbackIngress: "function-url",
      callbackRateLimit: undefined,
      callbackAllowedCidrs: undefined,
      unauthenticatedAlarmThreshold: 10,
      logRetentionDays: 30,
      logLevel: "INFO",
    });
  });

  it("resolves each environment's finAPI base URL and keeps an alpha client's own without its trailing slash", () => {
    const config = parse({
      "finapi:clients": [
        sandboxClient,
        { ...sandboxClient, name: "live", environment: "live", parameterName: "/finapi/live" },
        fixture("no-callback.json")["finapi:clients"] as unknown[],
      ].flat(),
    });
    expect(config.clients.map((client) => client.baseUrl)).toEqual([
      "https://sandbox.finapi.io",
      "https://live.finapi.io",
      "https://alpha.finapi.example",
    ]);
  });

  it("accepts the JSON text -c gives for arrays, booleans and numbers", () => {
    const config = parse({
      "finapi:clients": JSON.stringify([sandboxClient]),
      "finapi:hostCallback": "false",
      "finapi:callbackReservedConcurrency": "3",
      "finapi:callbackSecretRotationOverlapHours": "0",
      "finapi:callbackFanOutWindowSeconds": "600",
      "finapi:logRetentionDays": "365",
    });
    expect(config.clients).toHaveLength(1);
    expect(config.callbackSecretRotationOverlapHours).toBe(0);
    expect(config.hostCallback).toBe(false);
    expect(config.callbackReservedConcurrency).toBe(3);
    expect(config.callbackFanOutWindowSeconds).toBe(600);
    expect(config.logRetentionDays).toBe(365);
  });

  it("takes the callback secret's rotation overlap in whole hours from 0 to 168", () => {
    expect(
      problemsOf({ "finapi:clients": [sandboxClient], "finapi:callbackSecretRotationOverlapHours": 1.5 }),
    ).toEqual(["finapi:callbackSecretRotationOverlapHours: must be a whole number of hours"]);
    expect(
      problemsOf({ "finapi:clients": [sandboxClient], "finapi:callbackSecretRotationOverlapHours": -1 }),
    ).toEqual(["finapi:callbackSecretRotationOverlapHours: must be at least 0"]);
    expect(
      parse({ "finapi:clients": [sandboxClient], "finapi:callbackSecretRotationOverlapHours": 168 })
        .callbackSecretRotationOverlapHours,
    ).toBe(168);
  });

  it("reads and validates a repository-owned document and keeps it, compact, as the parameter's value", () => {
    const config = parse(fixture("two-clients.json"));
    expect(config.clients[0]?.ownedDocument).toEqual({
      path: "test/fixtures/infra/documents/sandbox.json",
      value:
        '{"userNotificationCallbackUrl":"http://backend.example.com/finapi/notifications","refreshTokensValidityPeriod":604800,"clientAccessTokensValidityPeriod":3600}',
    });
    expect(config.clients[1]?.ownedDocument).toBeUndefined();
  });

  it("lists every problem of a bad context at once, each naming its key and rule", () => {
    expect(
      problemsOf({
        "finapi:clients": [
          { ...sandboxClient, environment: "prod", userBase: "sandbox base", mode: "dry-run" },
          { name: "has space", environment: "sandbox", credentialsSecretId: "x" },
        ],
        "finapi:reconcileSchedule": "every 15 minutes",
        "finapi:hostCallback": "yes",
        "finapi:alarmEmail": "ops-at-example.com",
        "finapi:callbackReservedConcurrency": 0,
        "finapi:callbackSecretRotationOverlapHours": 169,
        "finapi:callbackFanOutWindowSeconds": 59,
        "finapi:logRetentionDays": 31,
        "finapi:logLevel": "TRACE",
      }),
    ).toEqual([
      "finapi:clients[0].environment: must be one of sandbox, live, alpha",
      "finapi:clients[0].userBase: must be 1..64 characters of a-z A-Z 0-9 - _ (it names the user base in every forwarded deletion)",
      'finapi:clients[0].mode: must be "apply" or "report-only"',
      "finapi:clients[1].name: must be 1 to 64 characters of a-z A-Z 0-9 - _ (it appears in the callback URL path and in metric dimensions)",
      "finapi:clients[1].parameterName: is required",
      'finapi:reconcileSchedule: must be an EventBridge schedule expression such as "rate(15 minutes)" or "cron(0/15 * * * ? *)"',
      "finapi:hostCallback: must be true or false",
      "finapi:alarmEmail: must be an e-mail address",
      "finapi:callbackReservedConcurrency: must be at least 1",
      "finapi:callbackSecretRotationOverlapHours: must be at most 168 (a leaked URL must stop working within a week)",
      "finapi:callbackFanOutWindowSeconds: must be at least 60 (finAPI's copies of one deletion to a user base's clients arrive within it)",
      "finapi:logRetentionDays: must be one of CloudWatch Logs' retention periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653",
      "finapi:logLevel: must be one of DEBUG, INFO, WARN, ERROR",
    ]);
  });

  it("suggests the nearest name for a misspelt client field or app setting", () => {
    expect(
      problemsOf({
        "finapi:clients": [{ ...sandboxClient, credentialSecretId: "x" }],
        "finapi:hostcallback": false,
        "finapi:nothingLikeIt": 1,
      }),
    ).toEqual([
      'finapi:hostcallback: is not a setting of this app; did you mean "finapi:hostCallback"?',
      expect.stringMatching(
        /^finapi:nothingLikeIt: is not a setting of this app \(the settings are finapi:stackName, /,
      ),
      'finapi:clients[0].credentialSecretId: is not a client field; did you mean "credentialsSecretId"?',
    ]);
  });

  it("requires the clients, at least one, with unique names and parameter names", () => {
    expect(problemsOf({})).toEqual(["finapi:clients: is required"]);
    expect(problemsOf({ "finapi:clients": [] })).toEqual([
      "finapi:clients: must name at least one finAPI client",
    ]);
    expect(problemsOf({ "finapi:clients": "[{" })).toEqual([
      "finapi:clients: must be a JSON array of clients",
    ]);
    expect(problemsOf({ "finapi:clients": [sandboxClient, sandboxClient] })).toEqual([
      'finapi:clients: name "sandbox" is used by more than one client',
      'finapi:clients: parameterName "finapi/sandbox" is used by more than one client (one parameter per finAPI client; a leading slash does not tell parameters apart)',
    ]);
    expect(
      problemsOf({
        "finapi:clients": [
          { ...sandboxClient, parameterName: "/finapi" },
          { ...sandboxClient, name: "other", parameterName: "finapi" },
        ],
      }),
    ).toEqual([
      'finapi:clients: parameterName "finapi" is used by more than one client (one parameter per finAPI client; a leading slash does not tell parameters apart)',
    ]);
  });

  it("puts each client in the user base of its environment unless it names its own", () => {
    const config = parse({
      "finapi:clients": [
        sandboxClient,
        { ...sandboxClient, name: "live", environment: "live", parameterName: "/finapi/live" },
        {
          ...sandboxClient,
          name: "mandator-7",
          environment: "live",
          parameterName: "/finapi/mandator-7",
          userBase: "mandator-7",
        },
      ],
    });
    expect(config.clients.map(({ name, userBase }) => ({ name, userBase }))).toEqual([
      { name: "sandbox", userBase: "sandbox" },
      { name: "live", userBase: "live" },
      { name: "mandator-7", userBase: "mandator-7" },
    ]);
  });

  it("takes each client's callbackSecretGeneration, 0 by default, and refuses one that is not a whole number from 0", () => {
    const config = parse({
      "finapi:clients": [
        sandboxClient,
        {
          ...sandboxClient,
          name: "live",
          environment: "live",
          parameterName: "/finapi/live",
          callbackSecretGeneration: 3,
        },
      ],
    });
    expect(
      config.clients.map(({ name, callbackSecretGeneration }) => ({ name, callbackSecretGeneration })),
    ).toEqual([
      { name: "sandbox", callbackSecretGeneration: 0 },
      { name: "live", callbackSecretGeneration: 3 },
    ]);
    expect(
      problemsOf({
        "finapi:clients": [
          { ...sandboxClient, callbackSecretGeneration: -1 },
          { ...sandboxClient, name: "b", parameterName: "/finapi/b", callbackSecretGeneration: 1.5 },
          { ...sandboxClient, name: "c", parameterName: "/finapi/c", callbackSecretGeneration: "1" },
        ],
      }),
    ).toEqual([
      "finapi:clients[0].callbackSecretGeneration: must be at least 0",
      "finapi:clients[1].callbackSecretGeneration: must be a whole number",
      "finapi:clients[2].callbackSecretGeneration: must be a whole number",
    ]);
  });

  it("refuses a user base whose clients are in two environments, naming the user base and each client, together with the other problems", () => {
    expect(
      problemsOf({
        "finapi:clients": [
          { ...sandboxClient, userBase: "acme" },
          {
            ...sandboxClient,
            name: "live",
            environment: "live",
            parameterName: "/finapi/live",
            userBase: "acme",
          },
          { ...sandboxClient, name: "sandbox-2", parameterName: "/finapi/sandbox-2" },
        ],
        "finapi:callbackFanOutWindowSeconds": 1.5,
      }),
    ).toEqual([
      'finapi:clients: user base "acme" has clients of 2 environments (sandbox: sandbox, live: live); a user base lives in one finAPI environment, so give these clients different userBase labels',
      "finapi:callbackFanOutWindowSeconds: must be a whole number of seconds",
    ]);
  });

  it("sets cdk.json's fan-out window to the default, one hour", () => {
    const cdkJson = JSON.parse(readFileSync(join(REPOSITORY_ROOT, "cdk.json"), "utf8")) as {
      context: Record<string, unknown>;
    };
    expect(cdkJson.context["finapi:callbackFanOutWindowSeconds"]).toBe(3600);
    expect(parse(cdkJson.context).callbackFanOutWindowSeconds).toBe(3600);
  });

  it("takes the api-gateway-waf ingress with its rate limit (1000 by default) and allow-list, also as -c JSON text", () => {
    const waf = parse({ "finapi:clients": [sandboxClient], "finapi:callbackIngress": "api-gateway-waf" });
    expect(waf).toMatchObject({
      callbackIngress: "api-gateway-waf",
      callbackRateLimit: 1000,
      callbackAllowedCidrs: undefined,
    });
    const fromCommandLine = parse({
      "finapi:clients": [sandboxClient],
      "finapi:callbackIngress": "api-gateway-waf",
      "finapi:callbackRateLimit": "250",
      "finapi:callbackAllowedCidrs": '["203.0.113.0/24","2001:db8::/32"]',
    });
    expect(fromCommandLine).toMatchObject({
      callbackRateLimit: 250,
      callbackAllowedCidrs: ["203.0.113.0/24", "2001:db8::/32"],
    });
  });

  it("refuses an unknown ingress, a rate limit outside AWS WAF's bounds and anything but CIDR blocks in the allow-list", () => {
    expect(
      problemsOf({
        "finapi:clients": [sandboxClient],
        "finapi:callbackIngress": "cloudfront",
        "finapi:callbackRateLimit": 5,
        "finapi:callbackAllowedCidrs": ["203.0.113.7", "0.0.0.0/0", "2001:db8::/129"],
      }),
    ).toEqual([
      "finapi:callbackIngress: must be one of function-url, api-gateway-waf",
      "finapi:callbackRateLimit: must be at least 10 (AWS WAF's minimum)",
      ...[0, 1, 2].map(
        (index) =>
          `finapi:callbackAllowedCidrs[${index}]: must be an IPv4 or IPv6 CIDR block with a prefix of /1 or longer, e.g. 203.0.113.0/24`,
      ),
    ]);
    expect(
      problemsOf({
        "finapi:clients": [sandboxClient],
        "finapi:callbackIngress": "api-gateway-waf",
        "finapi:callbackAllowedCidrs": [],
      }),
    ).toEqual([
      "finapi:callbackAllowedCidrs: must name at least one CIDR block (leave the setting out to allow any source)",
    ]);
  });

  it("refuses web ACL settings with the Function URL ingress, which has no web ACL to apply them", () => {
    expect(
      problemsOf({
        "finapi:clients": [sandboxClient],
        "finapi:callbackRateLimit": 500,
        "finapi:callbackAllowedCidrs": ["203.0.113.0/24"],
      }),
    ).toEqual(
      ["finapi:callbackRateLimit", "finapi:callbackAllowedCidrs"].map(
        (key) =>
          `${key}: takes effect only with finapi:callbackIngress "api-gateway-waf" (a Function URL has no web ACL); set that too, or leave this out`,
      ),
    );
  });

  it("requires a base URL for an alpha client, and https for any base URL", () => {
    expect(problemsOf({ "finapi:clients": [{ ...sandboxClient, environment: "alpha" }] })).toEqual([
      "finapi:clients[0].baseUrl: is required for an alpha client: finAPI publishes no alpha URL",
    ]);
    expect(
      problemsOf({ "finapi:clients": [{ ...sandboxClient, baseUrl: "http://sandbox.finapi.io" }] }),
    ).toEqual(["finapi:clients[0].baseUrl: must be an absolute https:// URL"]);
    /* The CLI and the Lambda let an emulator on this machine use http; a deployed stack never does. */
    expect(
      problemsOf({ "finapi:clients": [{ ...sandboxClient, baseUrl: "http://127.0.0.1:8080" }] }),
    ).toEqual(["finapi:clients[0].baseUrl: must be an absolute https:// URL"]);
  });

  it.each([
    ["finapi/sandbox", 'must start with "/" when it is a path (e.g. /finapi/sandbox)'],
    ["/finapi//sandbox", 'must not contain "//" or end with "/"'],
    ["/finapi/", 'must not contain "//" or end with "/"'],
    ["/aws/finapi", 'must not begin with "aws" or "ssm" (reserved)'],
    ["SSM-finapi", 'must not begin with "aws" or "ssm" (reserved)'],
    ["/finapi/sand box", "may contain only letters, digits and _ . - /"],
  ])("rejects the parameter name %s, which SSM would reject", (parameterName, rule) => {
    expect(problemsOf({ "finapi:clients": [{ ...sandboxClient, parameterName }] })).toEqual([
      `finapi:clients[0].parameterName: ${rule}`,
    ]);
  });

  it("accepts a secret by name or complete ARN, and a KMS key by key ARN only", () => {
    const secretRule =
      "must be a secret name (letters, digits and /_+=.@-) or a secret's complete ARN, including the six-character suffix Secrets Manager appends";
    expect(
      problemsOf({
        "finapi:clients": [
          {
            ...sandboxClient,
            credentialsSecretId: "arn:aws:secretsmanager:eu-central-1:111122223333:secret:finapi/sandbox",
            parameterKeyArn: "arn:aws:kms:eu-central-1:111122223333:alias/finapi",
          },
        ],
      }),
    ).toEqual([
      `finapi:clients[0].credentialsSecretId: ${secretRule}`,
      "finapi:clients[0].parameterKeyArn: must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); an alias cannot be granted kms:Decrypt",
    ]);
  });

  it("rejects a KMS key for a parameter the stack writes, which can only be a String", () => {
    const [owned] = fixture("two-clients.json")["finapi:clients"] as Record<string, unknown>[];
    expect(
      problemsOf({
        "finapi:clients": [
          {
            ...owned,
            parameterKeyArn: "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
          },
        ],
      }),
    ).toEqual([
      "finapi:clients[0].parameterKeyArn: cannot be combined with document: a parameter the stack writes is a String (CloudFormation cannot create SecureString parameters)",
    ]);
  });

  it("fails with the schema's messages, every one, for an invalid repository-owned document", () => {
    const document = "test/fixtures/infra/documents/live-invalid.json";
    expect(
      problemsOf({
        "finapi:clients": [{ ...sandboxClient, environment: "live", document }],
      }),
    ).toEqual([
      [
        `finapi:clients[0].document: ${document} is not a valid finAPI client configuration for live:`,
        `      ${document}:2:3: userNotificationCallbackUrl must use https on finAPI's live environment (http is allowed on sandbox and alpha only) [https-on-live]`,
        `      ${document}:3:3: userSynchronizationCallbackUrl must not be null: use "" to clear it, or leave the field out to keep finAPI's value [not-null]`,
        `      ${document}:5:3: clientAccessTokensValidityPeriod must be 0 (never expires) or 60..2147483647 seconds (it is 30) [range]`,
        `      ${document}:4:3: refreshTokenValidityPeriod is not a field of ClientConfigurationParams; did you mean "refreshTokensValidityPeriod"? [unknown-key]`,
      ].join("\n"),
    ]);
  });

  it("refuses a repository-owned document that repeats a key, at the line and column of the repetition", () => {
    const document = "test/fixtures/infra/documents/duplicate-key.json";
    expect(problemsOf({ "finapi:clients": [{ ...sandboxClient, document }] })).toEqual([
      [
        `finapi:clients[0].document: ${document} is not a valid finAPI client configuration for sandbox:`,
        `      ${document}:4:3: userAccessTokensValidityPeriod appears more than once in its object (first at line 2, column 3); JSON keeps only the last value, so remove the others [duplicate-key]`,
      ].join("\n"),
    ]);
  });

  it("refuses a repository-owned document whose URLs carry user info or a query string, naming the fields but never the URLs", () => {
    const document = "test/fixtures/infra/documents/credential-urls.json";
    const emptyQuery = "test/fixtures/infra/documents/query-mark.json";
    const problems = problemsOf({
      "finapi:clients": [
        { ...sandboxClient, document },
        { ...sandboxClient, name: "other", parameterName: "/finapi/other", document: emptyQuery },
      ],
    });
    const advice =
      'which the template would hold in clear; keep this client\'s document in a SecureString parameter the pipeline writes (leave "document" out and name that parameter, with parameterKeyArn if it uses a customer managed key)';
    expect(problems).toEqual([
      `finapi:clients[0].document: ${document}: userNotificationCallbackUrl carries user info (user:password@); userSynchronizationCallbackUrl carries a query string, ${advice}`,
      `finapi:clients[1].document: ${emptyQuery}: userSynchronizationCallbackUrl carries a query string, ${advice}`,
    ]);
    expect(problems.join("\n")).not.toMatch(/hunter2|s3cr3t-token|backend\.example\.com/);
  });

  it("rejects a document outside the repository and one that cannot be read", () => {
    expect(
      problemsOf({
        "finapi:clients": [
          { ...sandboxClient, document: "../outside.json" },
          {
            ...sandboxClient,
            name: "missing",
            parameterName: "/finapi/missing",
            document: "test/fixtures/infra/none.json",
          },
        ],
      }),
    ).toEqual([
      "finapi:clients[0].document: ../outside.json is outside the repository; documents live in the repository (GitOps)",
      "finapi:clients[1].document: cannot read test/fixtures/infra/none.json (ENOENT)",
    ]);
  });

  it("explains where the context comes from in the error message", () => {
    expect(() => parse({})).toThrow(
      'The CDK context is invalid (cdk.json "context", or -c key=value):\n  - finapi:clients: is required',
    );
  });
});
