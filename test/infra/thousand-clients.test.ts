import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LIMITS, type LimitExcess } from "../../infra/limits.ts";
import { THOUSAND_CLIENT_SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { manyClientsContext, type SynthesizedScale, synthesizeScale } from "./many-clients.ts";

const CLIENTS = 1000;

type Resource = { Type: string; Properties?: Record<string, unknown> };

/*
 * What is still per client until the alarms over the client dimension and the callback path secrets
 * derived from one stack secret are merged: each client's alarms and dashboard widgets, its path
 * secret, the secret's CallbackSecret-<client> output, and the secret's ARN in the two roles' policies. Once they are,
 * EXPECTED_EXCESSES becomes [] and the per-client filters below have nothing left to filter.
 */
const EXPECTED_EXCESSES = [
  "template size",
  "resources",
  "outputs",
  "managed policy ConfigSyncHandlerRoleOverflowPolicy",
  "managed policy UserSyncCallbackHandlerRoleOverflowPolicy",
];
const isPerClientAlarmOrSecret = (resource: Resource) =>
  resource.Type === "AWS::CloudWatch::Alarm" || resource.Type === "AWS::SecretsManager::Secret";
/* One resource, but its body holds widgets per client until the dashboard is O(1) too. */
const isDashboard = (resource: Resource) => resource.Type === "AWS::CloudWatch::Dashboard";

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

  it("reports every limit it still exceeds when synthesized, naming the number of clients and the limit", () => {
    expect(scale.excesses.map(kindOf).sort()).toEqual([...EXPECTED_EXCESSES].sort());
    expect(scale.reported).toHaveLength(scale.excesses.length);
    expect(scale.reported).toContain(
      `resources: ${scale.resourceCount.toLocaleString("en-US")} resources with 1,000 clients; the limit is 500`,
    );
    for (const line of scale.reported) expect(line).toMatch(/ with 1,000 clients; the limit is [\d,]+$/);
  });

  it("exceeds them only through the per-client alarms, dashboard widgets and callback secrets", () => {
    const others = resources.filter(([, resource]) => !isPerClientAlarmOrSecret(resource));
    expect(others.length).toBeLessThan(100);
    const outputs = Object.keys(scale.template.Outputs ?? {}).filter(
      (id) => !id.startsWith("CallbackSecret"),
    );
    expect(outputs.length).toBeLessThan(20);
    const secretIds = new Set(
      resources.filter(([, resource]) => resource.Type === "AWS::SecretsManager::Secret").map(([id]) => id),
    );
    /* Without the path secrets' ARNs, each policy is far within its limit. */
    const withoutSecrets = (value: unknown): unknown => {
      if (Array.isArray(value)) {
        return value
          .filter((item) => !secretIds.has(String((item as { Ref?: unknown } | null)?.Ref)))
          .map(withoutSecrets);
      }
      if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withoutSecrets(inner)]));
      }
      return value;
    };
    for (const [logicalId, resource] of resources) {
      if (resource.Type !== "AWS::IAM::ManagedPolicy" && resource.Type !== "AWS::IAM::Policy") continue;
      const document = JSON.stringify(withoutSecrets(resource.Properties?.PolicyDocument));
      expect(document.length, logicalId).toBeLessThan(LIMITS.managedPolicyChars / 2);
    }
    /* The template as cdk writes it, without them: far within 1 MB. */
    const rest = {
      Resources: withoutSecrets(Object.fromEntries(others.filter(([, resource]) => !isDashboard(resource)))),
      Outputs: Object.fromEntries(
        Object.entries(scale.template.Outputs ?? {}).filter(([id]) => !id.startsWith("CallbackSecret")),
      ),
    };
    expect(JSON.stringify(rest, undefined, 1).length).toBeLessThan(LIMITS.templateBytes / 4);
  });
});
