import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import {
  type CloudFormationTemplate,
  describeExcess,
  eventPatternChars,
  LIMIT_RULE,
  LIMITS,
  RESOLVED_LENGTH,
  StackLimitsChecks,
  templateLimitExcesses,
} from "../../infra/limits.ts";

const resources = (count: number, type = "AWS::SQS::Queue") =>
  Object.fromEntries(Array.from({ length: count }, (_, index) => [`Queue${index}`, { Type: type }]));

const policyStatement = (resource: unknown) => ({
  Effect: "Allow",
  Action: "ssm:GetParameter",
  Resource: resource,
});

const arns = (count: number) =>
  Array.from({ length: count }, (_, index) => `arn:aws:ssm:eu-central-1:123456789012:parameter/p${index}`);

/* A template of one small resource, sized 1 KB: within every limit. */
const SMALL: CloudFormationTemplate = { Resources: resources(1) };

describe("templateLimitExcesses", () => {
  it("finds nothing to report in a small template", () => {
    expect(templateLimitExcesses(SMALL, 1024)).toEqual([]);
  });

  it("reports a template over 1 MB", () => {
    expect(templateLimitExcesses(SMALL, LIMITS.templateBytes + 1)).toEqual([
      { what: "template size", measured: LIMITS.templateBytes + 1, limit: 1_000_000, unit: "bytes" },
    ]);
  });

  it("reports more than 500 resources, 200 outputs and 200 parameters", () => {
    const template = {
      Resources: resources(501),
      Outputs: Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`Output${index}`, {}])),
      Parameters: Object.fromEntries(Array.from({ length: 201 }, (_, index) => [`Parameter${index}`, {}])),
    };
    expect(templateLimitExcesses(template, 1024)).toEqual([
      { what: "resources", measured: 501, limit: 500, unit: "resources" },
      { what: "outputs", measured: 201, limit: 200, unit: "outputs" },
      { what: "parameters", measured: 201, limit: 200, unit: "parameters" },
    ]);
  });

  it("reports a function environment over 4 KB, counting each reference at its longest", () => {
    const environment = (padding: number) => ({
      Resources: {
        Handler: {
          Type: "AWS::Lambda::Function",
          Properties: {
            Environment: { Variables: { TABLE: { Ref: "Table" }, PADDING: "x".repeat(padding) } },
          },
        },
      },
    });
    /* {"TABLE":"<ref>","PADDING":"<padding>"} */
    const overhead = '{"TABLE":"","PADDING":""}'.length + RESOLVED_LENGTH;
    expect(templateLimitExcesses(environment(4096 - overhead), 1024)).toEqual([]);
    expect(templateLimitExcesses(environment(4097 - overhead), 1024)).toEqual([
      {
        what: "Lambda environment of Handler",
        logicalId: "Handler",
        measured: 4097,
        limit: 4096,
        unit: "bytes",
      },
    ]);
  });

  it("reports an event pattern over 2,048 characters", () => {
    const rule = {
      Resources: {
        Rule: {
          Type: "AWS::Events::Rule",
          Properties: { EventPattern: { source: ["aws.ssm"], detail: { name: arns(40) } } },
        },
      },
    };
    const [excess] = templateLimitExcesses(rule, 1024);
    expect(excess).toMatchObject({ what: "event pattern of Rule", limit: 2048, unit: "characters" });
    expect(excess?.measured).toBe(JSON.stringify(rule.Resources.Rule.Properties.EventPattern).length);
  });

  it("adds up a role's inline policies against 10,240 characters and checks a managed policy against 6,144", () => {
    const inline = (logicalId: string, count: number) => ({
      [logicalId]: {
        Type: "AWS::IAM::Policy",
        Properties: {
          Roles: [{ Ref: "Role" }],
          PolicyDocument: { Version: "2012-10-17", Statement: [policyStatement(arns(count))] },
        },
      },
    });
    const template = {
      Resources: {
        Role: {
          Type: "AWS::IAM::Role",
          Properties: {
            Policies: [{ PolicyDocument: { Statement: [policyStatement(arns(20))] } }],
          },
        },
        ...inline("First", 90),
        ...inline("Second", 90),
        Managed: {
          Type: "AWS::IAM::ManagedPolicy",
          Properties: { PolicyDocument: { Statement: [policyStatement(arns(130))] } },
        },
      },
    };
    const excesses = templateLimitExcesses(template, 1024);
    expect(excesses.map(({ what, limit }) => ({ what, limit }))).toEqual([
      { what: "managed policy Managed", limit: 6144 },
      { what: "inline policies of role Role", limit: 10_240 },
    ]);
    /* Each policy alone is within the limit: the role's total is not. */
    expect(templateLimitExcesses({ Resources: { ...inline("First", 90) } }, 1024)).toEqual([]);
  });
});

describe("describeExcess", () => {
  it("names the limit, the measured size with the number of clients and the limit", () => {
    expect(describeExcess({ what: "resources", measured: 5012, limit: 500, unit: "resources" }, 1000)).toBe(
      "resources: 5,012 resources with 1,000 clients; the limit is 500",
    );
  });
});

describe("StackLimitsChecks", () => {
  const directory = mkdtempSync(join(tmpdir(), "finapi-limits-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const validate = (template: CloudFormationTemplate, clientCount: number) => {
    const templatePath = join(directory, `${clientCount}.template.json`);
    writeFileSync(templatePath, JSON.stringify(template, undefined, 1));
    return new StackLimitsChecks(clientCount).validate({
      templatePaths: [templatePath],
      stackTemplates: [
        { stackConstructPath: "FinapiTest", templatePath, accountId: undefined, region: undefined },
      ],
      appConstruct: new App(),
    });
  };

  it("reports one violation per exceeded limit of each written template, naming the resource", () => {
    const template = {
      Resources: {
        ...resources(500),
        Rule: {
          Type: "AWS::Events::Rule",
          Properties: { EventPattern: { detail: { name: arns(40) } } },
        },
      },
    };
    const report = validate(template, 90);
    expect(report.success).toBe(false);
    expect(report.violations).toEqual([
      expect.objectContaining({
        ruleName: LIMIT_RULE,
        description: "resources: 501 resources with 90 clients; the limit is 500",
        violatingResources: [expect.not.objectContaining({ resourceLogicalId: expect.anything() })],
      }),
      expect.objectContaining({
        ruleName: LIMIT_RULE,
        description: expect.stringMatching(
          /^event pattern of Rule: 2,\d{3} characters with 90 clients; the limit is 2,048$/,
        ),
        violatingResources: [expect.objectContaining({ resourceLogicalId: "Rule" })],
      }),
    ]);
  });

  it("passes a template within every limit", () => {
    expect(validate(SMALL, 1)).toEqual({ success: true, violations: [] });
  });
});

describe("eventPatternChars", () => {
  it("counts an L2 pattern as EventBridge renders it (detail-type, compact JSON)", () => {
    const pattern = { source: ["aws.ssm"], detailType: ["Parameter Store Change"] };
    expect(eventPatternChars(pattern)).toBe(
      JSON.stringify({ source: ["aws.ssm"], "detail-type": ["Parameter Store Change"] }).length,
    );
  });
});
