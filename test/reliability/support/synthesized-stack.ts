import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { CLIENT_REGISTRY_FILE } from "../../../functions/contracts/client-registry.ts";
import { REPOSITORY_ROOT } from "../../../infra/constructs/observed-node-function.ts";
import type { DynamoDbStandIn } from "../../../local/aws/dynamodb.ts";
import type { SqsStandIn } from "../../../local/aws/sqs.ts";
import {
  type MappedFunction,
  type SqsEventSourceMapping,
  startSqsEventSourceMapping,
} from "../../../local/aws/sqs-event-source-mapping.ts";
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

const ACCOUNT = "000000000000";

/** The logical id a Ref or a GetAtt points at (a property naming another resource of the template). */
function referencedLogicalId(value: unknown, what: string): string {
  const intrinsic = (value ?? {}) as { Ref?: unknown; "Fn::GetAtt"?: unknown };
  if (typeof intrinsic.Ref === "string") return intrinsic.Ref;
  const getAtt = intrinsic["Fn::GetAtt"];
  if (Array.isArray(getAtt) && typeof getAtt[0] === "string") return getAtt[0];
  throw new Error(`${what} is ${JSON.stringify(value)}, not a reference to a resource of the template`);
}

/* CloudFormation names a queue without QueueName after the stack; a FIFO queue's name ends with .fifo. */
function queueNameOf(logicalId: string, queue: Resource): string {
  if (typeof queue.Properties.QueueName === "string") return queue.Properties.QueueName;
  return queue.Properties.FifoQueue === true ? `${logicalId}.fifo` : logicalId;
}

/**
 * The queue attributes CreateQueue gets for an AWS::SQS::Queue: FifoQueue, ContentBasedDeduplication,
 * VisibilityTimeout and a RedrivePolicy to a queue of the template. Encryption and retention settings
 * have no effect on the stand-in and are left out.
 */
function queueAttributesOf(
  queue: Resource,
  queueNames: ReadonlyMap<string, string>,
  sqs: SqsStandIn,
): Record<string, string> {
  const { FifoQueue, ContentBasedDeduplication, VisibilityTimeout, RedrivePolicy } = queue.Properties;
  const attributes: Record<string, string> = {};
  if (FifoQueue !== undefined) attributes.FifoQueue = String(FifoQueue);
  if (ContentBasedDeduplication !== undefined)
    attributes.ContentBasedDeduplication = String(ContentBasedDeduplication);
  if (VisibilityTimeout !== undefined) attributes.VisibilityTimeout = String(VisibilityTimeout);
  if (RedrivePolicy !== undefined) {
    const { deadLetterTargetArn, maxReceiveCount } = RedrivePolicy as Record<string, unknown>;
    const target = queueNames.get(
      referencedLogicalId(deadLetterTargetArn, "RedrivePolicy.deadLetterTargetArn"),
    );
    if (target === undefined)
      throw new Error("a RedrivePolicy names a dead-letter queue the template does not declare");
    attributes.RedrivePolicy = JSON.stringify({ deadLetterTargetArn: sqs.queueArn(target), maxReceiveCount });
  }
  return attributes;
}

/** The logical ids of the template's queues, each dead-letter queue before the queues that redrive to it. */
function queuesInCreationOrder(queues: readonly [string, Resource][]): [string, Resource][] {
  const byId = new Map(queues);
  const ordered: [string, Resource][] = [];
  const visit = (logicalId: string, path: readonly string[]) => {
    if (ordered.some(([id]) => id === logicalId)) return;
    if (path.includes(logicalId))
      throw new Error(`the queues' redrive policies form a cycle: ${[...path, logicalId].join(" → ")}`);
    const queue = byId.get(logicalId);
    if (!queue) return;
    const redrive = queue.Properties.RedrivePolicy as { deadLetterTargetArn?: unknown } | undefined;
    if (redrive)
      visit(referencedLogicalId(redrive.deadLetterTargetArn, "RedrivePolicy.deadLetterTargetArn"), [
        ...path,
        logicalId,
      ]);
    ordered.push([logicalId, queue]);
  };
  for (const [logicalId] of queues) visit(logicalId, []);
  return ordered;
}

/**
 * What CloudFormation would create for the stack's tables, event buses and queues (FIFO queues,
 * visibility timeouts and redrive policies included), created in the stand-ins, each one's physical
 * values recorded in `physical`: a Ref under the logical id, a GetAtt under `LogicalId.Attribute`.
 * Functions get their physical name and ARN too (an event-source mapping names one). An
 * AWS::Events::EventBusPolicy has no stand-in: the local EventBridge does not check who puts events.
 */
export async function createStandInResources(
  assembly: Pick<CloudAssembly, "resourcesOf">,
  standIns: { readonly dynamo: DynamoDbStandIn; readonly sqs: SqsStandIn },
  physical: Map<string, string>,
  region = "eu-central-1",
): Promise<void> {
  for (const [logicalId, table] of assembly.resourcesOf("AWS::DynamoDB::Table")) {
    const [key] = table.Properties.KeySchema as { AttributeName: string }[];
    await standIns.dynamo.createTable(logicalId, key?.AttributeName);
    physical.set(logicalId, logicalId);
  }
  for (const [logicalId, bus] of assembly.resourcesOf("AWS::Events::EventBus"))
    physical.set(logicalId, String(bus.Properties.Name));
  const queueNames = new Map<string, string>();
  for (const [logicalId, queue] of queuesInCreationOrder(assembly.resourcesOf("AWS::SQS::Queue"))) {
    const name = queueNameOf(logicalId, queue);
    const url = standIns.sqs.createQueue(name, queueAttributesOf(queue, queueNames, standIns.sqs));
    queueNames.set(logicalId, name);
    physical.set(logicalId, url);
    physical.set(`${logicalId}.QueueUrl`, url);
    physical.set(`${logicalId}.QueueName`, name);
    physical.set(`${logicalId}.Arn`, standIns.sqs.queueArn(name));
  }
  for (const [logicalId] of assembly.resourcesOf("AWS::Lambda::Function")) {
    physical.set(logicalId, logicalId);
    physical.set(`${logicalId}.Arn`, `arn:aws:lambda:${region}:${ACCOUNT}:function:${logicalId}`);
  }
}

/** An AWS::Lambda::EventSourceMapping from a queue of the template to a function of the template. */
export interface QueueEventSource {
  readonly logicalId: string;
  /** The logical id of the function it invokes. */
  readonly functionLogicalId: string;
  readonly queueUrl: string;
  readonly queueArn: string;
  /** @default 10 (Lambda's default for SQS) */
  readonly batchSize: number;
  /** `FunctionResponseTypes` holds `ReportBatchItemFailures`. */
  readonly reportBatchItemFailures: boolean;
}

/**
 * The template's event-source mappings, each read against the queues `createStandInResources` made.
 * Only SQS sources exist in this stack; a disabled mapping is left out, as it polls nothing.
 */
export function queueEventSourcesOf(
  assembly: Pick<CloudAssembly, "resourcesOf">,
  physical: ReadonlyMap<string, string>,
): QueueEventSource[] {
  return assembly.resourcesOf("AWS::Lambda::EventSourceMapping").flatMap(([logicalId, mapping]) => {
    const { EventSourceArn, FunctionName, BatchSize, FunctionResponseTypes, Enabled } = mapping.Properties;
    if (Enabled === false) return [];
    const queueLogicalId = referencedLogicalId(EventSourceArn, `${logicalId}.EventSourceArn`);
    const queueUrl = physical.get(queueLogicalId);
    const queueArn = physical.get(`${queueLogicalId}.Arn`);
    if (queueUrl === undefined || queueArn === undefined) {
      throw new Error(`${logicalId}: its event source ${queueLogicalId} is not a queue of the template`);
    }
    const functionLogicalId = referencedLogicalId(FunctionName, `${logicalId}.FunctionName`);
    if (!assembly.resourcesOf("AWS::Lambda::Function").some(([id]) => id === functionLogicalId)) {
      throw new Error(`${logicalId}: ${functionLogicalId} is not a function of the template`);
    }
    return [
      {
        logicalId,
        functionLogicalId,
        queueUrl,
        queueArn,
        batchSize: BatchSize === undefined ? 10 : Number(BatchSize),
        reportBatchItemFailures:
          Array.isArray(FunctionResponseTypes) && FunctionResponseTypes.includes("ReportBatchItemFailures"),
      },
    ];
  });
}

export interface QueueEventSourceOptions {
  /** The SQS stand-in's endpoint. */
  readonly endpoint: string;
  readonly region: string;
  /** The function a mapping invokes, by its logical id (hosted on first ask). */
  readonly functionOf: (functionLogicalId: string) => MappedFunction;
  /** 0 leaves the polling to `drain()`. */
  readonly pollIntervalMs: number;
  readonly onPollError?: (source: QueueEventSource, error: unknown) => void;
}

/** Starts a poller for each event-source mapping, as Lambda runs them; by the mapping's logical id. */
export function startQueueEventSources(
  sources: readonly QueueEventSource[],
  options: QueueEventSourceOptions,
): Map<string, SqsEventSourceMapping> {
  return new Map(
    sources.map((source) => [
      source.logicalId,
      startSqsEventSourceMapping({
        endpoint: options.endpoint,
        queueUrl: source.queueUrl,
        queueArn: source.queueArn,
        target: options.functionOf(source.functionLogicalId),
        batchSize: source.batchSize,
        reportBatchItemFailures: source.reportBatchItemFailures,
        pollIntervalMs: options.pollIntervalMs,
        region: options.region,
        ...(options.onPollError
          ? { onPollError: (error: unknown) => options.onPollError?.(source, error) }
          : {}),
      }),
    ]),
  );
}

/**
 * Each Ref and GetAtt as the local deployment answers it: the region, the Function URL, `physical`
 * (a Ref under the logical id, a GetAtt under `<logical id>.<attribute>`).
 */
export function physicalValues(
  physical: ReadonlyMap<string, string>,
  region: string,
  functionUrl: string,
): PhysicalValues {
  return (logicalId, attribute) => {
    if (logicalId === "AWS::Region") return region;
    if (attribute === "FunctionUrl") return functionUrl;
    const value = physical.get(attribute === undefined ? logicalId : `${logicalId}.${attribute}`);
    if (value === undefined) throw new Error(`no stand-in for ${logicalId}.${attribute}`);
    return value;
  };
}

/** One Lambda function of the synthesized stack: its bundle and settings as the template has them. */
export interface SynthesizedFunction {
  readonly logicalId: string;
  /** The bundle's index.mjs in the cloud assembly. */
  readonly bundle: string;
  readonly timeoutMs: number;
  readonly reservedConcurrency: number;
  readonly memoryMb: number;
  /** The template's environment variables, before CloudFormation resolves them. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** The client registry beside the bundle (the function reads it there by default), if the function has one. */
  readonly registry: string | undefined;
}

export interface SynthesizedStack extends Pick<CloudAssembly, "resourcesOf"> {
  readonly configSync: SynthesizedFunction;
  readonly callback: SynthesizedFunction;
  /** Any function of the template, by logical id (an event-source mapping's target, say). */
  functionOf(logicalId: string): SynthesizedFunction;
  readonly deletionPublisher: SynthesizedFunction;
  /** The parsed client registry the function's asset holds. */
  registryOf(fn: SynthesizedFunction): { readonly clients: readonly Record<string, unknown>[] };
  /** The function's environment as CloudFormation would give it, each Ref and GetAtt looked up. */
  environmentOf(fn: SynthesizedFunction, physical: PhysicalValues): Record<string, string>;
  /** Removes the cloud assembly. */
  remove(): void;
}

const variablesOf = (fn: Resource): Record<string, unknown> =>
  (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables ?? {};

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

  const described = ([logicalId, resource]: [string, Resource]): SynthesizedFunction => {
    const bundle = bundleOf(resource);
    const registry = join(dirname(bundle), CLIENT_REGISTRY_FILE);
    return {
      logicalId,
      bundle,
      registry: existsSync(registry) ? registry : undefined,
      timeoutMs: Number(resource.Properties.Timeout) * 1000,
      /* Without reserved concurrency a function may scale to the account's limit: ten is plenty here. */
      reservedConcurrency: Number(resource.Properties.ReservedConcurrentExecutions ?? 10),
      memoryMb: Number(resource.Properties.MemorySize),
      environment: variablesOf(resource),
    };
  };
  const functionFor = (serviceName: string): SynthesizedFunction => {
    const found = resourcesOf("AWS::Lambda::Function").find(([, resource]) => {
      return variablesOf(resource).POWERTOOLS_SERVICE_NAME === serviceName;
    });
    if (!found) throw new Error(`no ${serviceName} function in the template`);
    return described(found);
  };
  const functionOf = (logicalId: string): SynthesizedFunction => {
    const found = resourcesOf("AWS::Lambda::Function").find(([id]) => id === logicalId);
    if (!found) throw new Error(`no function ${logicalId} in the template`);
    return described(found);
  };

  return {
    configSync: functionFor("config-sync"),
    callback: functionFor("user-sync-callback"),
    functionOf,
    deletionPublisher: functionFor("deletion-publisher"),
    resourcesOf,
    registryOf(fn) {
      if (fn.registry === undefined)
        throw new Error(`${fn.logicalId}'s asset holds no ${CLIENT_REGISTRY_FILE}`);
      return JSON.parse(readFileSync(fn.registry, "utf8")) as { clients: Record<string, unknown>[] };
    },
    environmentOf: (fn, physical) =>
      Object.fromEntries(
        Object.entries(fn.environment).map(([name, value]) => [name, String(resolve(value, physical))]),
      ),
    remove: () => rmSync(outdir, { recursive: true, force: true }),
  };
}
