import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { App } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import { type BuiltApp, buildApp } from "../../infra/build-app.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";

/** cdk.json's context: the defaults `npx cdk synth` uses (feature flags included). */
function cdkJsonContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(REPOSITORY_ROOT, "cdk.json"), "utf8")) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

const apps: App[] = [];

/**
 * An app with cdk.json's context plus `context`, whose handlers are not bundled (CDK's own
 * `aws:cdk:bundling-stacks` switch): for tests of the template, which need no bundles.
 */
export function unbundledApp(context: Record<string, unknown> = {}): App {
  const app = new App({ context: { ...cdkJsonContext(), ...context, "aws:cdk:bundling-stacks": [] } });
  apps.push(app);
  return app;
}

/** Removes the cloud assemblies the apps made here wrote to the temporary directory (for afterAll). */
export function removeOutdirs(): void {
  for (const app of apps.splice(0)) rmSync(app.outdir, { recursive: true, force: true });
}

export interface SynthOptions {
  /** Context on top of cdk.json's, as `-c` would give it. */
  readonly context?: Record<string, unknown>;
  /** Bundle the handlers with esbuild (only the bundle test needs the bundles). */
  readonly bundle?: boolean;
  /** Where a bundling synth writes the cloud assembly (the caller removes it). */
  readonly outdir?: string;
}

export interface SynthesizedApp extends BuiltApp {
  readonly template: Template;
}

/** Builds and synthesizes the app in-process, the cdk-nag checks included. */
export function synthApp(options: SynthOptions = {}): SynthesizedApp {
  const app = options.bundle
    ? new App({ outdir: options.outdir, context: { ...cdkJsonContext(), ...options.context } })
    : unbundledApp(options.context);
  const built = buildApp(app);
  return { ...built, template: Template.fromStack(built.stack) };
}
