import { type App, Validations } from "aws-cdk-lib";
import { parseStackConfig, type StackConfig } from "./config.ts";
import { REPOSITORY_ROOT } from "./constructs/observed-node-function.ts";
import { StackLimitsChecks } from "./limits.ts";
import { addNagChecks } from "./nag.ts";
import { FinapiConfigSyncStack } from "./stack.ts";

/** CDK's context key for the most resources a stack may have (0: CDK does not check). */
const STACK_RESOURCE_LIMIT_CONTEXT = "@aws-cdk/core:stackResourceLimit";

export interface BuiltApp {
  readonly app: App;
  readonly config: StackConfig;
  readonly stack: FinapiConfigSyncStack;
}

/**
 * Validates the app's context, adds the stack, the cdk-nag checks and the AWS limits checks. Throws StackConfigError on a bad
 * context or an invalid repository-owned document, before anything is bundled.
 */
export function buildApp(app: App): BuiltApp {
  /*
   * CDK's own resource count check throws before the validation plugins run: the limits plugin
   * (limits.ts) reports the count, with the number of clients, beside every other limit instead.
   */
  if (app.node.tryGetContext(STACK_RESOURCE_LIMIT_CONTEXT) === undefined) {
    app.node.setContext(STACK_RESOURCE_LIMIT_CONTEXT, 0);
  }
  const config = parseStackConfig(app.node.getAllContext(), REPOSITORY_ROOT);
  const stack = new FinapiConfigSyncStack(app, config.stackName, {
    config,
    description:
      "finAPI client configuration kept in sync from Parameter Store, and the hosted user-sync callback",
  });
  addNagChecks(app);
  Validations.of(app).addPlugins(new StackLimitsChecks(config.clients.length));
  return { app, config, stack };
}
