import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Validations } from "aws-cdk-lib";
import { CLIENT_REGISTRY_FILE } from "../../functions/contracts/client-registry.ts";
import { parseStackConfig } from "../../infra/config.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import {
  type CloudFormationTemplate,
  LIMIT_RULE,
  type LimitExcess,
  StackLimitsChecks,
  templateLimitExcesses,
} from "../../infra/limits.ts";
import { FinapiConfigSyncStack } from "../../infra/stack.ts";

/** The descriptions of the limits plugin's violations in the validation report CDK wrote. */
function reportedViolations(outdir: string): string[] {
  let report: string;
  try {
    report = readFileSync(join(outdir, "validation-report.json"), "utf8");
  } catch {
    return [];
  }
  const violations: string[] = [];
  JSON.parse(report, (_key, value) => {
    if (value && typeof value === "object" && value.ruleName === LIMIT_RULE)
      violations.push(String(value.description));
    return value;
  });
  return violations;
}

/** The name of the `index`th (from 0) generated client: client-0001, client-0002, … */
export const generatedClientName = (index: number) => `client-${String(index + 1).padStart(4, "0")}`;

/**
 * A CDK context with `count` clients, as a platform with a client per product and environment would
 * write it: each under /finapi/<client> with its credentials under finapi/<client>/credentials, and
 * `settings` on top (e.g. "finapi:hostCallback").
 */
export function manyClientsContext(
  count: number,
  settings: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    "finapi:stackName": "FinapiScale",
    "finapi:clients": Array.from({ length: count }, (_, index) => {
      const name = generatedClientName(index);
      return {
        name,
        environment: index % 2 === 0 ? "sandbox" : "live",
        parameterName: `/finapi/${name}`,
        credentialsSecretId: `finapi/${name}/credentials`,
        mode: "apply",
      };
    }),
    ...settings,
  };
}

export interface SynthesizedScale {
  readonly template: CloudFormationTemplate;
  /** The template file's size as cdk writes (and deploys) it. */
  readonly templateBytes: number;
  readonly resourceCount: number;
  /** Every limit the template exceeds. */
  readonly excesses: readonly LimitExcess[];
  /** What the limits plugin reported: the synth fails with these descriptions. */
  readonly reported: readonly string[];
  /** The functions' client registries' sizes in bytes. */
  readonly registryBytes: { readonly configSync: number; readonly callback: number | undefined };
}

/**
 * Synthesizes the stack of cdk.json's context plus `context` into `outdir` (handlers not bundled)
 * with the limits plugin as buildApp adds it, and measures its template. The cdk-nag packs are left
 * out: they check each resource, which at 1,000 clients takes minutes, and limits are not theirs.
 */
export function synthesizeScale(context: Record<string, unknown>, outdir: string): SynthesizedScale {
  const cdkJson = JSON.parse(readFileSync(join(REPOSITORY_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  const app = new App({
    outdir,
    context: {
      ...cdkJson.context,
      ...context,
      "aws:cdk:bundling-stacks": [],
      /* As buildApp sets it: the limits plugin, not CDK's first-limit exception, reports the count. */
      "@aws-cdk/core:stackResourceLimit": 0,
    },
  });
  const config = parseStackConfig(app.node.getAllContext(), REPOSITORY_ROOT);
  const stack = new FinapiConfigSyncStack(app, config.stackName, { config });
  Validations.of(app).addPlugins(new StackLimitsChecks(config.clients.length));
  let reported: string[] = [];
  try {
    app.synth();
  } catch (error) {
    reported = reportedViolations(outdir);
    if (reported.length === 0) throw error;
  }
  const templateText = readFileSync(join(outdir, `${stack.artifactId}.template.json`));
  const template = JSON.parse(templateText.toString("utf8")) as CloudFormationTemplate;
  const registryOf = (files: Readonly<Record<string, string>> | undefined) => {
    const registry = files?.[CLIENT_REGISTRY_FILE];
    return registry === undefined ? undefined : Buffer.byteLength(registry);
  };
  return {
    template,
    templateBytes: templateText.length,
    resourceCount: Object.keys(template.Resources ?? {}).length,
    excesses: templateLimitExcesses(template, templateText.length),
    reported,
    registryBytes: {
      configSync: registryOf(stack.configSync.handler.bundledFiles) ?? 0,
      callback: registryOf(stack.callback?.handler.bundledFiles),
    },
  };
}
