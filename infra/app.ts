import { App } from "aws-cdk-lib";
import { buildApp } from "./build-app.ts";
import { StackConfigError } from "./config.ts";

/* The entry cdk.json runs: a bad context prints its problems, not a stack trace. */
try {
  buildApp(new App()).app.synth();
} catch (error) {
  if (!(error instanceof StackConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exitCode = 1;
}
