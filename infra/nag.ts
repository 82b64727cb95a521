import { type App, CfnResource, Validations } from "aws-cdk-lib";
import { AwsSolutionsChecks, ServerlessChecks } from "cdk-nag";
import type { IConstruct } from "constructs";

/**
 * Runs cdk-nag's AwsSolutions and Serverless packs on every synth: a finding that is not acknowledged
 * fails the synth. Acknowledgements are copied into the template's Metadata (`cdk_nag`), so a reviewer
 * sees each one, with its reason, next to the resource it is about.
 */
export function addNagChecks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app, { verbose: true, writeSuppressionsToCloudFormation: true }),
    new ServerlessChecks(app, { verbose: true }),
  );
}

/**
 * Acknowledges one cdk-nag finding (a rule id, or `Rule[finding]` for one finding of a rule) on exactly
 * one CloudFormation resource: the construct itself or its default child. Never a stack or a subtree.
 */
export function acknowledgeFinding(construct: IConstruct, id: string, reason: string): void {
  const resource = CfnResource.isCfnResource(construct) ? construct : construct.node.defaultChild;
  if (!resource || !CfnResource.isCfnResource(resource)) {
    throw new Error(
      `${construct.node.path} is not a CloudFormation resource; acknowledge ${id} on the resource it is about`,
    );
  }
  Validations.of(resource).acknowledge({ id, reason });
}
