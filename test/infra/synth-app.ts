import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type BuiltApp, buildApp } from "../../infra/build-app.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/house-function.ts";

/** cdk.json's context: the defaults `npx cdk synth` uses (feature flags included). */
export function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPOSITORY_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

export interface SynthOptions {
  /** Context on top of cdk.json's, as `-c` would give it. */
  readonly context?: Record<string, unknown>;
  /** Bundle the handlers with esbuild (only the bundle test needs the bundles). */
  readonly bundle?: boolean;
  readonly outdir?: string;
}

export interface SynthesizedApp extends BuiltApp {
  readonly template: Template;
}

/** Builds and synthesizes the app in-process, the cdk-nag checks included. */
export function synthApp(options: SynthOptions = {}): SynthesizedApp {
  const app = new App({
    outdir: options.outdir,
    context: {
      ...cdkJsonContext(),
      ...options.context,
      ...(options.bundle ? {} : { "aws:cdk:bundling-stacks": [] }),
    },
  });
  const built = buildApp(app);
  return { ...built, template: Template.fromStack(built.stack) };
}
