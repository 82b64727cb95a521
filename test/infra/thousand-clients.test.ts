import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS, type LimitExcess } from "../../infra/limits.ts";
import { THOUSAND_CLIENT_SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { manyClientsContext, type SynthesizedScale, synthesizeScale } from "./many-clients.ts";

const CLIENTS = 1000;

type Resource = { Type: string; Properties?: Record<string, unknown> };

/** The excess's kind: its `what` without a logical id's hash suffix. */
const kindOf = (excess: LimitExcess) => excess.what.replace(/[0-9A-F]{8}$/, "").replace(/\d+$/, "");

describe("a stack of 1,000 finAPI clients", { timeout: THOUSAND_CLIENT_SYNTH_TIMEOUT_MS }, () => {
  const outdir = mkdtempSync(join(tmpdir(), "finapi-thousand-clients-"));
  let scale: SynthesizedScale;
  let resources: [string, Resource][];

  beforeAll(() => {
    scale = synthesizeScale(manyClientsContext(CLIENTS), outdir);
    resources = Object.entries(scale.template.Resources ?? {}) as [string, Resource][];
  }, THOUSAND_CLIENT_SYNTH_TIMEOUT_MS);

  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it("keeps every function's environment within Lambda's 4 KB: the clients are in the bundled registries", () => {
    expect(scale.excesses.filter((excess) => excess.what.startsWith("Lambda environment"))).toEqual([]);
    /* About 250 bytes a client for config-sync: the 4 KB environment held 11. */
    expect(scale.registryBytes.configSync).toBeGreaterThan(200 * CLIENTS);
  });

  it("matches the parameter changes of all clients with an event pattern far within 2,048 characters", () => {
    expect(scale.excesses.filter((excess) => excess.what.startsWith("event pattern"))).toEqual([]);
    const [, rule] = resources.find(([, resource]) => {
      const pattern = resource.Properties?.EventPattern as { source?: unknown } | undefined;
      return JSON.stringify(pattern?.source) === '["aws.ssm"]';
    }) as [string, Resource];
    expect(JSON.stringify(rule.Properties?.EventPattern).length).toBeLessThan(LIMITS.eventPatternChars / 4);
  });

  it("grants the clients' parameters and credentials within IAM's policy limits", () => {
    expect(scale.excesses.filter((excess) => excess.what.startsWith("inline policies"))).toEqual([]);
    const perClientGrants = resources.filter(([, resource]) => {
      if (resource.Type !== "AWS::IAM::Policy" && resource.Type !== "AWS::IAM::ManagedPolicy") return false;
      const document = JSON.stringify(resource.Properties?.PolicyDocument);
      return document.includes("client-0500") || document.includes("client-0999");
    });
    expect(perClientGrants.map(([logicalId]) => logicalId)).toEqual([]);
  });

  it("exceeds no CloudFormation, Lambda, EventBridge or IAM limit the guard checks", () => {
    expect(scale.excesses.map(kindOf)).toEqual([]);
    expect(scale.reported).toEqual([]);
  });

  it("holds a number of resources and outputs that does not grow with the clients: alarms, dashboard and the callback root secret are one each per stack", () => {
    expect(scale.resourceCount).toBeLessThan(LIMITS.resources / 4);
    const ofType = (type: string) => resources.filter(([, resource]) => resource.Type === type).length;
    expect(ofType("AWS::SecretsManager::Secret")).toBe(1);
    expect(ofType("AWS::CloudWatch::Dashboard")).toBe(1);
    expect(ofType("AWS::CloudWatch::Alarm")).toBeLessThan(30);
    expect(Object.keys(scale.template.Outputs ?? {}).length).toBeLessThan(20);
    /* Nothing in the template names a client: the registries in the bundles do. */
    expect(JSON.stringify(scale.template)).not.toContain("client-0999");
    expect(scale.templateBytes).toBeLessThan(LIMITS.templateBytes / 4);
  });
});
