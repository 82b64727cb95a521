import { App } from "aws-cdk-lib";
import { buildApp } from "./build-app.ts";
import { StackConfigError } from "./config.ts";

/*
 * The entry cdk.json runs. A bad context prints its problems, not a stack trace, and leaves no cloud
 * assembly behind (hence no synth at exit: only an app that was built is synthesized).
 */
try {
  buildApp(new App({ autoSynth: false })).app.synth();
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
