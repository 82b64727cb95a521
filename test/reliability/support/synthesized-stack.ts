import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPOSITORY_ROOT } from "../../../infra/constructs/house-function.ts";
import { type PhysicalValues, resolve } from "../../infra/render.ts";
import { synthApp } from "../../infra/synth-app.ts";

type Resource = { readonly Type: string; readonly Properties: Record<string, unknown> };

/** One Lambda function of the synthesized stack: its bundle and settings as the template has them. */
export interface SynthesizedFunction {
  /** The bundle's index.mjs in the cloud assembly. */
  readonly bundle: string;
  readonly timeoutMs: number;
  readonly reservedConcurrency: number;
  readonly memoryMb: number;
  /** The template's environment variables, before CloudFormation resolves them. */
  readonly environment: Readonly<Record<string, unknown>>;
}

export interface SynthesizedStack {
  readonly configSync: SynthesizedFunction;
  readonly callback: SynthesizedFunction;
  /** The stack's resources of `type`, as [logical id, resource] pairs. */
  resourcesOf(type: string): [string, Resource][];
  /** The function's environment as CloudFormation would give it, each Ref and GetAtt looked up. */
  environmentOf(fn: SynthesizedFunction, physical: PhysicalValues): Record<string, string>;
  /** Removes the cloud assembly. */
  remove(): void;
}

const RELIABILITY_CONTEXT = join(REPOSITORY_ROOT, "test/fixtures/reliability/context.json");

function readContext(path = RELIABILITY_CONTEXT): Record<string, unknown> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
}

/**
 * Synthesizes the CDK app with its bundles (esbuild, as `cdk synth` does) and finds each function's
 * index.mjs through the template and the asset manifest, the way test/infra/bundles.test.ts does.
 */
export function synthesizeStack(context: Record<string, unknown> = readContext()): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), "finapi-reliability-"));
  const { stack } = synthApp({ context, bundle: true, outdir });
  const template = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.template.json`), "utf8")) as {
    Resources: Record<string, Resource>;
  };
  const assets = JSON.parse(readFileSync(join(outdir, `${stack.artifactId}.assets.json`), "utf8")) as {
    files: Record<string, { source: { path: string } }>;
  };
  const resources = Object.entries(template.Resources);
  const resourcesOf = (type: string) => resources.filter(([, resource]) => resource.Type === type);

  const functionFor = (serviceName: string): SynthesizedFunction => {
    const found = resourcesOf("AWS::Lambda::Function").find(([, resource]) => {
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      return variables.POWERTOOLS_SERVICE_NAME === serviceName;
    });
    if (!found) throw new Error(`no ${serviceName} function in the template`);
    const [, resource] = found;
    const { S3Key } = resource.Properties.Code as { S3Key: string };
    const asset = assets.files[S3Key.replace(/\.zip$/, "")];
    if (!asset) throw new Error(`no bundle asset for ${serviceName}`);
    return {
      bundle: join(outdir, asset.source.path, "index.mjs"),
      timeoutMs: Number(resource.Properties.Timeout) * 1000,
      reservedConcurrency: Number(resource.Properties.ReservedConcurrentExecutions),
      memoryMb: Number(resource.Properties.MemorySize),
      environment: (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    };
  };

  return {
    configSync: functionFor("config-sync"),
    callback: functionFor("user-sync-callback"),
    resourcesOf,
    environmentOf: (fn, physical) =>
      Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => [name, String(resolve(value, physical))]),
      ),
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
