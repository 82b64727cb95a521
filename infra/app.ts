import { readFileSync } from "node:fs";
import { App } from "aws-cdk-lib";
import { buildApp } from "./build-app.ts";
import { StackConfigError } from "./config.ts";
import { checkTemplateLimits, StackLimitsError } from "./limits.ts";

/*
 * The entry cdk.json runs. A bad context prints its problems, not a stack trace, and leaves no cloud
 * assembly behind (hence no synth at exit: only an app that was built is synthesized). A stack that
 * exceeds an AWS limit prints each limit and fails the synth, rather than the deploy.
 */
try {
  const { app, config, stack } = buildApp(new App({ autoSynth: false }));
  const artifact = app.synth().getStackArtifact(stack.artifactId);
  checkTemplateLimits(
    stack.stackName,
    artifact.template,
    readFileSync(artifact.templateFullPath).length,
    config.clients.length,
  );
} catch (error) {
  if (!(error instanceof StackConfigError) && !(error instanceof StackLimitsError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
