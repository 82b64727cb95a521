import type { App } from "aws-cdk-lib";
import { parseStackConfig, type StackConfig } from "./config.ts";
import { REPOSITORY_ROOT } from "./constructs/observed-node-function.ts";
import { addNagChecks } from "./nag.ts";
import { FinapiConfigSyncStack } from "./stack.ts";

export interface BuiltApp {
  readonly app: App;
  readonly config: StackConfig;
  readonly stack: FinapiConfigSyncStack;
}

/**
 * Validates the app's context, adds the stack and the cdk-nag checks. Throws StackConfigError on a bad
 * context or an invalid repository-owned document, before anything is bundled.
 */
export function buildApp(app: App): BuiltApp {
  const config = parseStackConfig(app.node.getAllContext(), REPOSITORY_ROOT);
  const stack = new FinapiConfigSyncStack(app, config.stackName, {
    config,
    description:
      "finAPI client configuration kept in sync from Parameter Store, and the hosted user-sync callback",
  });
  addNagChecks(app);
  return { app, config, stack };
}
