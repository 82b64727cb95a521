import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { App, type CfnElement, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import type { IConstruct } from "constructs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CallbackIngress, type CallbackIngressProps } from "../../infra/constructs/callback-ingress.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import type { FinapiConfigSyncStack } from "../../infra/stack.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { acknowledgementsIn, type Finding, findingsWithoutAcknowledgements } from "./nag-findings.ts";
import { render, renderDeep } from "./render.ts";
import { removeOutdirs, type SynthesizedApp, synthApp } from "./synth-app.ts";

afterAll(removeOutdirs);

const context = (name: string) =>
  JSON.parse(readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/contexts", name), "utf8")) as Record<
    string,
    unknown
  >;

type Resource = { Type: string; Properties: Record<string, unknown> };

/** A stack holding only a function and its ingress: the construct's own behaviour, without the app. */
function ingressAlone(props: Partial<CallbackIngressProps> = {}) {
  const stack = new Stack(new App(), "Ingress", { env: { region: "eu-central-1", account: "111122223333" } });
  const handler = new lambda.Function(stack, "Handler", {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: "index.handler",
    code: lambda.Code.fromInline("export const handler = async () => ({ statusCode: 202 });"),
  });
  const ingress = new CallbackIngress(stack, "Ingress", {
    handler,
    kind: "api-gateway-waf",
    logRetention: logs.RetentionDays.ONE_MONTH,
    throttlingRateLimit: 100,
    ...props,
  });
  return { stack, ingress, template: Template.fromStack(stack) };
}

describe("FinapiConfigSyncStack with the api-gateway-waf ingress", () => {
  let synthesized: SynthesizedApp;
  let stack: FinapiConfigSyncStack;
  let id: (construct: IConstruct) => string;
  let callbackId: string;
  let apiId: string;
  let stageId: string;

  const resources = (type: string) => synthesized.template.findResources(type) as Record<string, Resource>;
  const ingress = () => stack.callbackIngress as CallbackIngress;

  beforeAll(() => {
    synthesized = synthApp({ context: context("api-gateway-waf.json") });
    stack = synthesized.stack;
    id = (construct) => stack.getLogicalId((construct.node.defaultChild ?? construct) as CfnElement);
    callbackId = id((stack.callback as NonNullable<FinapiConfigSyncStack["callback"]>).handler.function);
    apiId = id(ingress().api as IConstruct);
    stageId = id(ingress().api?.deploymentStage as IConstruct);
  }, SYNTH_TIMEOUT_MS);

  it("synthesizes with zero unacknowledged cdk-nag findings", () => {
    const reportFile = join(synthesized.app.outdir, "validation-report.json");
    const report = existsSync(reportFile)
      ? (JSON.parse(readFileSync(reportFile, "utf8")) as { pluginReports: { violations: unknown[] }[] })
      : { pluginReports: [] };
    expect(report.pluginReports.flatMap((pluginReport) => pluginReport.violations)).toEqual([]);
  });

  it(
    "acknowledges exactly the findings the ingress raises, each on its one resource with its reason",
    () => {
      const ingressPath = ingress().node.path;
      const acknowledged = acknowledgementsIn(ingress());
      expect(acknowledged.every((entry) => entry.onResource && entry.reason.length > 80)).toBe(true);

      const findings = findingsWithoutAcknowledgements(context("api-gateway-waf.json")).filter((finding) =>
        finding.path.startsWith(`${ingressPath}/`),
      );
      const key = (finding: Finding) => `${finding.path} ${finding.rule}`;
      expect(findings.map(key).sort()).toEqual(acknowledged.map(key).sort());
    },
    SYNTH_TIMEOUT_MS,
  );

  it("removes the Function URL: nobody but the API's POST method may invoke the callback", () => {
    synthesized.template.resourceCountIs("AWS::Lambda::Url", 0);
    const callbackPermissions = Object.values(resources("AWS::Lambda::Permission"))
      .map((permission) => renderDeep(permission.Properties) as Record<string, unknown>)
      .filter((permission) => permission.FunctionName === `\${${callbackId}.Arn}`);
    expect(callbackPermissions).toEqual([
      {
        Action: "lambda:InvokeFunction",
        FunctionName: `\${${callbackId}.Arn}`,
        Principal: "apigateway.amazonaws.com",
        SourceArn: `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/\${${stageId}}/POST/user-sync/*/*`,
      },
      {
        Action: "lambda:InvokeFunction",
        FunctionName: `\${${callbackId}.Arn}`,
        Principal: "apigateway.amazonaws.com",
        SourceArn: `arn:\${AWS::Partition}:execute-api:\${AWS::Region}:\${AWS::AccountId}:\${${apiId}}/test-invoke-stage/POST/user-sync/*/*`,
      },
    ]);
  });

  it("serves a regional REST API with one method, POST /user-sync/{client}/{secret}, proxied to the callback", () => {
    synthesized.template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
    });
    const methods = Object.values(resources("AWS::ApiGateway::Method"));
    expect(methods.map((method) => renderDeep(method.Properties))).toEqual([
      expect.objectContaining({
        HttpMethod: "POST",
        AuthorizationType: "NONE",
        RequestParameters: { "method.request.path.client": true, "method.request.path.secret": true },
        Integration: {
          Type: "AWS_PROXY",
          IntegrationHttpMethod: "POST",
          Uri: `arn:\${AWS::Partition}:apigateway:\${AWS::Region}:lambda:path/2015-03-31/functions/\${${callbackId}.Arn}/invocations`,
        },
      }),
    ]);
    const paths = Object.values(resources("AWS::ApiGateway::Resource")).map(
      (resource) => resource.Properties.PathPart,
    );
    expect(paths).toEqual(["user-sync", "{client}", "{secret}"]);
    synthesized.template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
      ResponseType: "MISSING_AUTHENTICATION_TOKEN",
      StatusCode: "404",
    });
  });

  it("logs access without the path (it holds the secret), and keeps execution logging, data trace and X-Ray tracing off", () => {
    const [stage] = Object.values(resources("AWS::ApiGateway::Stage"));
    const settings = stage?.Properties as {
      AccessLogSetting: { Format: string };
      MethodSettings: Record<string, unknown>[];
      TracingEnabled: boolean;
    };
    const format = JSON.parse(settings.AccessLogSetting.Format) as Record<string, string>;
    expect(format.resourcePath).toBe("$context.resourcePath");
    expect(settings.AccessLogSetting.Format).not.toMatch(
      /\$context\.path|\$input|\$context\.requestOverride/,
    );
    expect(settings.MethodSettings).toEqual([
      {
        HttpMethod: "*",
        ResourcePath: "/*",
        LoggingLevel: "OFF",
        DataTraceEnabled: false,
        MetricsEnabled: true,
        ThrottlingRateLimit: 50,
        ThrottlingBurstLimit: 100,
      },
    ]);
    expect(settings.TracingEnabled).toBe(false);
  });

  it("guards the stage with a regional web ACL: sources outside the allow-list blocked, then a rate limit per source", () => {
    const [acl] = Object.values(resources("AWS::WAFv2::WebACL"));
    const ipSets = resources("AWS::WAFv2::IPSet");
    const ipSetOf = (version: string) =>
      Object.entries(ipSets).find(([, set]) => set.Properties.IPAddressVersion === version)?.[0];
    expect(Object.values(ipSets).map((set) => set.Properties.Addresses)).toEqual([
      ["203.0.113.0/24", "198.51.100.7/32"],
      ["2001:db8:1234::/48"],
    ]);
    expect(acl?.Properties).toMatchObject({ Scope: "REGIONAL", DefaultAction: { Allow: {} } });
    expect(renderDeep(acl?.Properties.Rules)).toEqual([
      {
        Name: "BlockSourcesNotAllowed",
        Priority: 0,
        Action: { Block: {} },
        Statement: {
          NotStatement: {
            Statement: {
              OrStatement: {
                Statements: [
                  { IPSetReferenceStatement: { Arn: `\${${ipSetOf("IPV4")}.Arn}` } },
                  { IPSetReferenceStatement: { Arn: `\${${ipSetOf("IPV6")}.Arn}` } },
                ],
              },
            },
          },
        },
        VisibilityConfig: {
          MetricName: "CallbackSourceNotAllowed",
          CloudWatchMetricsEnabled: true,
          SampledRequestsEnabled: false,
        },
      },
      {
        Name: "RateLimitPerSource",
        Priority: 1,
        Action: { Block: {} },
        Statement: { RateBasedStatement: { AggregateKeyType: "IP", Limit: 300, EvaluationWindowSec: 300 } },
        VisibilityConfig: {
          MetricName: "CallbackRateLimited",
          CloudWatchMetricsEnabled: true,
          SampledRequestsEnabled: false,
        },
      },
    ]);
    const [association] = Object.values(resources("AWS::WAFv2::WebACLAssociation"));
    expect(renderDeep(association?.Properties)).toEqual({
      ResourceArn: `arn:\${AWS::Partition}:apigateway:\${AWS::Region}::/restapis/\${${apiId}}/stages/\${${stageId}}`,
      WebACLArn: `\${${id(ingress().webAcl as IConstruct)}.Arn}`,
    });
  });

  it("gives config-sync and the CallbackBaseUrl output the stage URL without a trailing slash", () => {
    const stageUrl = `https://\${${apiId}}.execute-api.\${AWS::Region}.\${AWS::URLSuffix}/\${${stageId}}`;
    const configSync = resources("AWS::Lambda::Function")[id(stack.configSync.handler.function)];
    const variables = (
      (configSync as Resource).Properties.Environment as { Variables: Record<string, unknown> }
    ).Variables;
    expect(render(variables.CALLBACK_BASE_URL)).toBe(stageUrl);
    const outputs = synthesized.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(render(outputs.CallbackBaseUrl?.Value)).toBe(stageUrl);
  });
});

describe("CallbackIngress", () => {
  it("puts only the rate limit, 1000 per source per 5 minutes by default, in front when no allow-list is given", () => {
    const { template } = ingressAlone();
    const [acl] = Object.values(template.findResources("AWS::WAFv2::WebACL")) as Resource[];
    expect(acl?.Properties.Rules).toEqual([
      expect.objectContaining({
        Name: "RateLimitPerSource",
        Statement: { RateBasedStatement: { AggregateKeyType: "IP", Limit: 1000, EvaluationWindowSec: 300 } },
      }),
    ]);
    template.resourceCountIs("AWS::WAFv2::IPSet", 0);
  });

  it("references one IP set, without an OR, when the allow-list holds one address family", () => {
    const { template } = ingressAlone({ allowedCidrs: ["192.0.2.0/28"] });
    const [acl] = Object.values(template.findResources("AWS::WAFv2::WebACL")) as Resource[];
    const [allowList] = (acl as Resource).Properties.Rules as { Statement: unknown }[];
    expect(renderDeep(allowList?.Statement)).toEqual({
      NotStatement: {
        Statement: {
          IPSetReferenceStatement: { Arn: expect.stringMatching(/^\$\{IngressAllowedSourcesV4\w+\.Arn\}$/) },
        },
      },
    });
  });

  it("is a Function URL with auth NONE, and nothing else, in function-url mode", () => {
    const { template, ingress } = ingressAlone({ kind: "function-url" });
    template.resourceCountIs("AWS::Lambda::Url", 1);
    template.hasResourceProperties("AWS::Lambda::Url", { AuthType: "NONE" });
    for (const type of ["AWS::ApiGateway::RestApi", "AWS::WAFv2::WebACL", "AWS::Logs::LogGroup"]) {
      template.resourceCountIs(type, 0);
    }
    expect(ingress.api).toBeUndefined();
  });

  it.each<[string, Partial<CallbackIngressProps>, string]>([
    [
      "a rate limit below AWS WAF's minimum",
      { rateLimitPerFiveMinutes: 9 },
      "rateLimitPerFiveMinutes: must be a whole number from 10 to 2000000000",
    ],
    [
      "a fractional rate limit",
      { rateLimitPerFiveMinutes: 10.5 },
      "rateLimitPerFiveMinutes: must be a whole number",
    ],
    [
      "an address without a prefix",
      { allowedCidrs: ["192.0.2.1"] },
      "allowedCidrs[0]: must be an IPv4 or IPv6 CIDR block",
    ],
    ["a /0 block", { allowedCidrs: ["0.0.0.0/0"] }, "allowedCidrs[0]: must be an IPv4 or IPv6 CIDR block"],
    ["an empty allow-list", { allowedCidrs: [] }, "allowedCidrs: must name at least one CIDR block"],
    [
      "web ACL settings for a Function URL",
      { kind: "function-url", allowedCidrs: ["192.0.2.0/24"] },
      'allowedCidrs: takes effect only with kind "api-gateway-waf"',
    ],
  ])("refuses %s", (_case, props, message) => {
    expect(() => ingressAlone(props)).toThrow(message);
  });
});
