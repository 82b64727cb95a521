import { readFileSync } from "node:fs";
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
} from "aws-cdk-lib";
/*
 * The limits of CloudFormation, Lambda, EventBridge and IAM a synthesized template must stay within,
 * checked by a CDK validation plugin on the written template, so that a configuration too large for
 * one stack fails at `cdk synth`, naming each limit, the measured size, the number of clients and the
 * limit, instead of failing at deploy.
 *
 * Values CloudFormation resolves at deploy time (a Ref, a GetAtt, a pseudo parameter) are counted at
 * an upper estimate of their length (RESOLVED_LENGTH), so a size that passes here passes in AWS for
 * names and ARNs of ordinary length.
 */

/** CloudFormation's, Lambda's, EventBridge's and IAM's limits, as AWS documents them. */
export const LIMITS = {
  /**
   * A template cdk deploy uploads through the bootstrap bucket (it sends any template over 50 KB by
   * S3): 1 MB, counted as CDK's own template size check counts it, on the file cdk writes.
   */
  templateBytes: 1_000_000,
  resources: 500,
  outputs: 200,
  parameters: 200,
  /** All of a function's environment variables, names and values. */
  lambdaEnvironmentBytes: 4096,
  eventPatternChars: 2048,
  /** All inline policies of one role together (whitespace not counted). */
  roleInlinePolicyChars: 10_240,
  managedPolicyChars: 6144,
} as const;

/*
 * The longest value each deploy-time reference may take: the longest region (ap-southeast-5),
 * partition (aws-us-gov) and URL suffix (amazonaws.com.cn), and 128 characters for a resource's
 * Ref or GetAtt (an ARN, a queue URL, a Function URL of this stack).
 */
const PSEUDO_PARAMETER_LENGTH: Readonly<Record<string, number>> = {
  "AWS::AccountId": 12,
  "AWS::Region": 14,
  "AWS::Partition": 10,
  "AWS::URLSuffix": 16,
  "AWS::StackName": 128,
  "AWS::StackId": 128,
  "AWS::NoValue": 0,
};
export const RESOLVED_LENGTH = 128;

/**
 * A CloudFormation value with each reference replaced by a placeholder of its longest length, and
 * Fn::Join and Fn::Sub evaluated: the value as long as CloudFormation could make it.
 */
function resolvedForSize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(resolvedForSize);
  if (value === null || typeof value !== "object") return value;
  const entries = Object.entries(value);
  const [only] = entries;
  if (entries.length === 1 && only) {
    const [key, argument] = only;
    if (key === "Ref") {
      return "x".repeat(PSEUDO_PARAMETER_LENGTH[String(argument)] ?? RESOLVED_LENGTH);
    }
    if (key === "Fn::GetAtt" || key === "Fn::ImportValue" || key === "Fn::GetAZs") {
      return "x".repeat(RESOLVED_LENGTH);
    }
    if (key === "Fn::Join" && Array.isArray(argument)) {
      const [separator, parts] = argument as [string, unknown[]];
      return (resolvedForSize(parts) as unknown[]).map(String).join(separator);
    }
    if (key === "Fn::Sub") {
      const template = Array.isArray(argument) ? String(argument[0]) : String(argument);
      return template.replace(/\$\{([^}!]+)\}/g, (_, name: string) =>
        "x".repeat(PSEUDO_PARAMETER_LENGTH[name] ?? RESOLVED_LENGTH),
      );
    }
  }
  return Object.fromEntries(entries.map(([key, inner]) => [key, resolvedForSize(inner)]));
}

const compactLength = (value: unknown) => JSON.stringify(resolvedForSize(value)).length;

/* EventBridge names the pattern's fields as events do; the L2 Rule renders its camelCase keys so. */
const EVENT_FIELD_NAMES: Readonly<Record<string, string>> = { detailType: "detail-type" };

/** An L2 EventPattern's length as EventBridge counts it (compact JSON of the rendered pattern). */
export function eventPatternChars(pattern: object): number {
  return compactLength(
    Object.fromEntries(Object.entries(pattern).map(([key, value]) => [EVENT_FIELD_NAMES[key] ?? key, value])),
  );
}

type Resource = { readonly Type: string; readonly Properties?: Record<string, unknown> };
export interface CloudFormationTemplate {
  readonly Resources?: Record<string, Resource>;
  readonly Outputs?: Record<string, unknown>;
  readonly Parameters?: Record<string, unknown>;
}

/** One limit a template exceeds. */
export interface LimitExcess {
  /** What is limited, and where: "resources", "Lambda environment of ConfigSyncHandler…". */
  readonly what: string;
  /** The resource that exceeds it, for a limit of one resource. */
  readonly logicalId?: string;
  readonly measured: number;
  readonly limit: number;
  readonly unit: string;
}

const logicalIdOf = (value: unknown): string | undefined => {
  const reference = value as { Ref?: unknown } | undefined;
  return typeof reference?.Ref === "string" ? reference.Ref : undefined;
};

/**
 * Every limit `template` exceeds. `templateBytes` is the template's size as cdk writes and uploads it
 * (the cloud assembly's file).
 */
export function templateLimitExcesses(
  template: CloudFormationTemplate,
  templateBytes: number,
): LimitExcess[] {
  const excesses: LimitExcess[] = [];
  const check = (what: string, measured: number, limit: number, unit: string, logicalId?: string) => {
    if (measured > limit) excesses.push({ what, measured, limit, unit, ...(logicalId ? { logicalId } : {}) });
  };
  const resources = Object.entries(template.Resources ?? {});
  check("template size", templateBytes, LIMITS.templateBytes, "bytes");
  check("resources", resources.length, LIMITS.resources, "resources");
  check("outputs", Object.keys(template.Outputs ?? {}).length, LIMITS.outputs, "outputs");
  check("parameters", Object.keys(template.Parameters ?? {}).length, LIMITS.parameters, "parameters");

  const inlinePolicyChars = new Map<string, number>();
  for (const [logicalId, resource] of resources) {
    const properties = resource.Properties ?? {};
    switch (resource.Type) {
      case "AWS::Lambda::Function": {
        const variables = (properties.Environment as { Variables?: unknown } | undefined)?.Variables;
        if (variables) {
          check(
            `Lambda environment of ${logicalId}`,
            Buffer.byteLength(JSON.stringify(resolvedForSize(variables))),
            LIMITS.lambdaEnvironmentBytes,
            "bytes",
            logicalId,
          );
        }
        break;
      }
      case "AWS::Events::Rule":
        if (properties.EventPattern !== undefined) {
          check(
            `event pattern of ${logicalId}`,
            compactLength(properties.EventPattern),
            LIMITS.eventPatternChars,
            "characters",
            logicalId,
          );
        }
        break;
      case "AWS::IAM::ManagedPolicy":
        check(
          `managed policy ${logicalId}`,
          compactLength(properties.PolicyDocument),
          LIMITS.managedPolicyChars,
          "characters",
          logicalId,
        );
        break;
      case "AWS::IAM::Policy":
        for (const role of (properties.Roles as unknown[] | undefined) ?? []) {
          const roleId = logicalIdOf(role) ?? JSON.stringify(role);
          inlinePolicyChars.set(
            roleId,
            (inlinePolicyChars.get(roleId) ?? 0) + compactLength(properties.PolicyDocument),
          );
        }
        break;
      case "AWS::IAM::Role":
        for (const policy of (properties.Policies as { PolicyDocument?: unknown }[] | undefined) ?? []) {
          inlinePolicyChars.set(
            logicalId,
            (inlinePolicyChars.get(logicalId) ?? 0) + compactLength(policy.PolicyDocument),
          );
        }
        break;
    }
  }
  for (const [roleId, chars] of inlinePolicyChars) {
    check(`inline policies of role ${roleId}`, chars, LIMITS.roleInlinePolicyChars, "characters", roleId);
  }
  return excesses;
}

/** One excess as a line: what, how much with how many clients, and the limit. */
export function describeExcess({ what, measured, limit, unit }: LimitExcess, clientCount: number): string {
  const number = (value: number) => value.toLocaleString("en-US");
  return `${what}: ${number(measured)} ${unit} with ${number(clientCount)} clients; the limit is ${number(limit)}`;
}

/**
 * A CDK validation plugin (Validations.of(app).addPlugins) that fails the synth when a stack's
 * written template exceeds any of LIMITS, with one violation per limit.
 */
export class StackLimitsChecks implements IPolicyValidationPlugin {
  readonly name = "finapi-config-sync stack limits";
  readonly ruleIds = [LIMIT_RULE];
  readonly #clientCount: number;

  /** @param clientCount how many finAPI clients the app's stack configures, for the messages */
  constructor(clientCount: number) {
    this.#clientCount = clientCount;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violations = context.stackTemplates.flatMap(({ templatePath }) => {
      const text = readFileSync(templatePath);
      const template = JSON.parse(text.toString("utf8")) as CloudFormationTemplate;
      return templateLimitExcesses(template, text.length).map((excess) => ({
        ruleName: LIMIT_RULE,
        description: describeExcess(excess, this.#clientCount),
        fix: "Fewer clients per stack, or parameters and credentials under fewer top-level paths (README: Limits)",
        violatingResources: [
          {
            ...(excess.logicalId ? { resourceLogicalId: excess.logicalId } : {}),
            templatePath,
            locations: [],
          },
        ],
      }));
    });
    return { success: violations.length === 0, violations };
  }
}

/** The rule name of every violation StackLimitsChecks reports. */
export const LIMIT_RULE = "FinapiConfigSync-AwsLimit";
