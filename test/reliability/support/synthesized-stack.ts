import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPOSITORY_ROOT } from "../../../infra/constructs/house-function.ts";
import type { DynamoDbStandIn } from "../../../local/aws/dynamodb.ts";
import type { SqsStandIn } from "../../../local/aws/sqs.ts";
import { type PhysicalValues, resolve } from "../../infra/render.ts";
import { synthApp } from "../../infra/synth-app.ts";

export type Resource = { readonly Type: string; readonly Properties: Record<string, unknown> };

/** A synthesized stack's template resources and its functions' bundles, read from the cloud assembly. */
export interface CloudAssembly {
  /** The stack's resources of `type`, as [logical id, resource] pairs. */
  resourcesOf(type: string): [string, Resource][];
  /** The index.mjs of a Lambda function resource's bundle asset. */
  bundleOf(fn: Resource): string;
}

export function readAssembly(outdir: string, artifactId: string): CloudAssembly {
  const template = JSON.parse(readFileSync(join(outdir, `${artifactId}.template.json`), "utf8")) as {
    Resources: Record<string, Resource>;
  };
  const assets = JSON.parse(readFileSync(join(outdir, `${artifactId}.assets.json`), "utf8")) as {
    files: Record<string, { source: { path: string } }>;
  };
  const resources = Object.entries(template.Resources);
  return {
    resourcesOf: (type) => resources.filter(([, resource]) => resource.Type === type),
    bundleOf(fn) {
      const { S3Key } = fn.Properties.Code as { S3Key: string };
      const asset = assets.files[S3Key.replace(/\.zip$/, "")];
      /* index.mjs is the function's code only when Lambda is told to run its `handler`. */
      if (!asset || fn.Properties.Handler !== "index.handler") throw new Error(`no bundle for ${S3Key}`);
      return join(outdir, asset.source.path, "index.mjs");
    },
  };
}

/**
 * What CloudFormation would create for the stack's tables, event buses and queues, created in the
 * stand-ins, each one's physical value (what a Ref to it gives) recorded in `physical`.
 */
export async function createStandInResources(
  assembly: Pick<CloudAssembly, "resourcesOf">,
  standIns: { readonly dynamo: DynamoDbStandIn; readonly sqs: SqsStandIn },
  physical: Map<string, string>,
): Promise<void> {
  for (const [logicalId, table] of assembly.resourcesOf("AWS::DynamoDB::Table")) {
    const [key] = table.Properties.KeySchema as { AttributeName: string }[];
    await standIns.dynamo.createTable(logicalId, key?.AttributeName);
    physical.set(logicalId, logicalId);
  }
  for (const [logicalId, bus] of assembly.resourcesOf("AWS::Events::EventBus"))
    physical.set(logicalId, String(bus.Properties.Name));
  for (const [logicalId] of assembly.resourcesOf("AWS::SQS::Queue"))
    physical.set(logicalId, standIns.sqs.queueUrl(logicalId));
}

/** Each Ref and GetAtt as the local deployment answers it: the region, the Function URL, `physical`. */
export function physicalValues(
  physical: ReadonlyMap<string, string>,
  region: string,
  functionUrl: string,
): PhysicalValues {
  return (logicalId, attribute) => {
    if (logicalId === "AWS::Region") return region;
    if (attribute === "FunctionUrl") return functionUrl;
    const value = physical.get(logicalId);
    if (value === undefined || attribute !== undefined)
      throw new Error(`no stand-in for ${logicalId}.${attribute}`);
    return value;
  };
}

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

export interface SynthesizedStack extends Pick<CloudAssembly, "resourcesOf"> {
  readonly configSync: SynthesizedFunction;
  readonly callback: SynthesizedFunction;
  readonly deletionPublisher: SynthesizedFunction;
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
 * index.mjs through the template and the asset manifest.
 */
export function synthesizeStack(context: Record<string, unknown> = readContext()): SynthesizedStack {
  const outdir = mkdtempSync(join(tmpdir(), "finapi-reliability-"));
  const { stack } = synthApp({ context, bundle: true, outdir });
  const { resourcesOf, bundleOf } = readAssembly(outdir, stack.artifactId);

  const functionFor = (serviceName: string): SynthesizedFunction => {
    const found = resourcesOf("AWS::Lambda::Function").find(([, resource]) => {
      const variables = (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      return variables.POWERTOOLS_SERVICE_NAME === serviceName;
    });
    if (!found) throw new Error(`no ${serviceName} function in the template`);
    const [, resource] = found;
    return {
      bundle: bundleOf(resource),
      timeoutMs: Number(resource.Properties.Timeout) * 1000,
      reservedConcurrency: Number(resource.Properties.ReservedConcurrentExecutions),
      memoryMb: Number(resource.Properties.MemorySize),
      environment: (resource.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    };
  };

  return {
    configSync: functionFor("config-sync"),
    callback: functionFor("user-sync-callback"),
    deletionPublisher: functionFor("deletion-publisher"),
    resourcesOf,
    environmentOf: (fn, physical) =>
      Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => [name, String(resolve(value, physical))]),
      ),
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
