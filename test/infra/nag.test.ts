import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CfnResource } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../infra/build-app.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { acknowledgeFinding } from "../../infra/nag.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { acknowledgementsIn, type Finding, findingsWithoutAcknowledgements } from "./nag-findings.ts";
import { removeOutdirs, type SynthesizedApp, synthApp, unbundledApp } from "./synth-app.ts";

const context = () =>
  JSON.parse(
    readFileSync(join(REPOSITORY_ROOT, "test/fixtures/infra/contexts/two-clients.json"), "utf8"),
  ) as Record<string, unknown>;

const byPath = (a: Finding, b: Finding) => `${a.path} ${a.rule}`.localeCompare(`${b.path} ${b.rule}`);

describe("cdk-nag on the stack", { timeout: SYNTH_TIMEOUT_MS }, () => {
  let synthesized: SynthesizedApp;

  /* A synth with the cdk-nag packs is CPU-bound: several times the hook default on a busy machine. */
  beforeAll(() => {
    synthesized = synthApp({ context: context() });
  }, SYNTH_TIMEOUT_MS);

  afterAll(removeOutdirs);

  it("synthesizes with zero unacknowledged AwsSolutions and Serverless findings", () => {
    const reportFile = join(synthesized.app.outdir, "validation-report.json");
    const report = existsSync(reportFile)
      ? (JSON.parse(readFileSync(reportFile, "utf8")) as { pluginReports: { violations: unknown[] }[] })
      : { pluginReports: [] };
    expect(report.pluginReports.flatMap((pluginReport) => pluginReport.violations)).toEqual([]);
  });

  it("acknowledges findings only on single CloudFormation resources, never on a stack or a subtree", () => {
    const acknowledgements = acknowledgementsIn(synthesized.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    expect(acknowledgements.filter((acknowledgement) => !acknowledgement.onResource)).toEqual([]);
  });

  it("writes every acknowledgement, with its specific reason, into the template next to its resource", () => {
    const resources = synthesized.template.toJSON().Resources as Record<
      string,
      { Metadata?: { cdk_nag?: { rules_to_suppress: { id: string; reason: string }[] } } }
    >;
    const inTemplate = Object.entries(resources).flatMap(([logicalId, resource]) =>
      (resource.Metadata?.cdk_nag?.rules_to_suppress ?? []).map((rule) => ({ logicalId, ...rule })),
    );
    const recorded = acknowledgementsIn(synthesized.app).map((acknowledgement) => ({
      logicalId: synthesized.stack.getLogicalId(
        synthesized.app.node
          .findAll()
          .find((construct) => construct.node.path === acknowledgement.path) as CfnResource,
      ),
      id: acknowledgement.rule,
      reason: acknowledgement.reason,
    }));
    expect(inTemplate.sort((a, b) => a.logicalId.localeCompare(b.logicalId))).toEqual(
      recorded.sort((a, b) => a.logicalId.localeCompare(b.logicalId)),
    );
    for (const { reason } of inTemplate) expect(reason.length).toBeGreaterThan(80);
    expect(inTemplate.map(({ id }) => id).sort()).toEqual(
      [
        /* config-sync's BatchGetSecretValue, which supports no resource-level permissions: its own policy. */
        "AwsSolutions-IAM5[Resource::*]",
        /* One for the callback root secret: one secret for every client. */
        "AwsSolutions-SMG4",
        "AwsSolutions-SQS3",
        "AwsSolutions-SQS3",
        "Serverless-LambdaDLQ",
        "Serverless-LambdaDLQ",
        "Serverless-LambdaDLQ",
        "Serverless-LambdaEventSourceMappingDestination",
        "Serverless-LambdaTracing",
        "Serverless-LambdaTracing",
        "Serverless-LambdaTracing",
        "Serverless-SNSRedrivePolicy",
        "Serverless-SQSRedrivePolicy",
        "Serverless-SQSRedrivePolicy",
        "Serverless-SQSRedrivePolicy",
      ].sort(),
    );
  });

  it(
    "needs every acknowledgement: without them, the packs report exactly the acknowledged findings",
    () => {
      const acknowledged = acknowledgementsIn(synthesized.app)
        .map(({ rule, path }) => ({ rule, path }))
        .sort(byPath);

      expect(findingsWithoutAcknowledgements(context()).sort(byPath)).toEqual(acknowledged);
    },
    SYNTH_TIMEOUT_MS,
  );

  it(
    "fails the synth on a finding nobody acknowledged",
    () => {
      const { app, stack } = buildApp(unbundledApp(context()));
      stack.configSync.handler.function.addToRolePolicy(
        new iam.PolicyStatement({ actions: ["ssm:GetParametersByPath"], resources: ["*"] }),
      );
      expect(() => app.synth()).toThrow(
        /ConfigSync\/Handler\/Role\/DefaultPolicy\/Resource[\s\S]*AwsSolutions-IAM5\[Resource::\*\]/,
      );
    },
    SYNTH_TIMEOUT_MS,
  );

  it("refuses to acknowledge a finding on anything but a CloudFormation resource", () => {
    expect(() => acknowledgeFinding(synthesized.stack, "AwsSolutions-IAM5", "a reason")).toThrow(
      "FinapiTest is not a CloudFormation resource; acknowledge AwsSolutions-IAM5 on the resource it is about",
    );
  });
});
