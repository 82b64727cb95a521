import { CfnResource, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { vi } from "vitest";
import { parseStackConfig } from "../../infra/config.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { FinapiConfigSyncStack } from "../../infra/stack.ts";
import { unbundledApp } from "./synth-app.ts";

/** A cdk-nag rule's finding on one construct. */
export interface Finding {
  readonly rule: string;
  readonly path: string;
}

/** Every acknowledgement recorded at or below `root`, with where it was recorded. */
export function acknowledgementsIn(
  root: IConstruct,
): (Finding & { readonly reason: string; readonly onResource: boolean })[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          rule: id.replace(/^annotation::/i, ""),
          path: construct.node.path,
          reason,
          onResource: CfnResource.isCfnResource(construct),
        })),
      ),
  );
}

/**
 * What the AwsSolutions and Serverless packs find in the stack of `context` when no acknowledgement is
 * recorded: the findings the acknowledgements must answer, no more and no fewer.
 */
export function findingsWithoutAcknowledgements(context: Record<string, unknown>): Finding[] {
  const ignoreAcknowledgements = vi.spyOn(Validations.prototype, "acknowledge").mockImplementation(() => {});
  try {
    const app = unbundledApp(context);
    const config = parseStackConfig(app.node.getAllContext(), REPOSITORY_ROOT);
    new FinapiConfigSyncStack(app, config.stackName, { config });
    app.synth();
    return [new AwsSolutionsChecks(), new ServerlessChecks()]
      .flatMap((pack) => pack.validateScope(app).violations)
      .flatMap((violation) =>
        violation.violatingResources.map((resource) => ({
          rule: violation.ruleName,
          path: resource.constructPath as string,
        })),
      );
  } finally {
    ignoreAcknowledgements.mockRestore();
  }
}
