import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Duration, RemovalPolicy, Stage, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { LogLevel, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../../functions/observability/metrics.ts";
import { acknowledgeFinding } from "../nag.ts";

/** The repository root: the esbuild project root and where package-lock.json lives. */
export const REPOSITORY_ROOT = join(import.meta.dirname, "..", "..");

/*
 * Some bundled dependencies are CommonJS and call require() (for Node built-ins among others); an ESM
 * bundle has no require of its own, so one is created from the bundle's URL.
 */
export const ESM_REQUIRE_BANNER =
  "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);";

/**
 * What the bundle takes in place of SDK modules a function never runs (see HouseFunction), each path
 * relative to the repository root (esbuild's working directory).
 */
export const BUNDLE_ALIASES = {
  "@aws-sdk/credential-provider-node": "./infra/constructs/environment-credentials.ts",
  "@smithy/core/event-streams": "./infra/constructs/no-event-streams.ts",
} as const;

export interface HouseFunctionProps {
  /** The handler's entry file (TypeScript or JavaScript), relative to the repository root; it exports `handler`. */
  readonly entry: string;
  readonly description: string;
  /** Powertools' service name: the `service` of every log line and metric. */
  readonly serviceName: string;
  /** Chosen per function: there is no house default for how long a function may run. */
  readonly timeout: Duration;
  /**
   * Memory in MB (CPU grows with it).
   * @default 256
   */
  readonly memorySize?: number;
  /** How many instances may run at once; chosen per function (1 serializes all runs). */
  readonly reservedConcurrentExecutions: number;
  /**
   * Function-specific environment variables, added to the house ones (service name, metrics
   * namespace, log level).
   * @default - only the house variables
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Files written beside the bundle's index.mjs, by file name: configuration too large for the
   * environment (Lambda caps it at 4 KB), such as the client registry. Their text must be final at
   * synth time: a CloudFormation token cannot be resolved inside a bundle.
   * @default - the bundle holds only index.mjs
   */
  readonly bundledFiles?: Readonly<Record<string, string>>;
  /**
   * How long the function's log group keeps its events.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Powertools' LOG_LEVEL.
   * @default "INFO"
   */
  readonly logLevel?: string;
  /**
   * Where Lambda sends an asynchronous invocation that failed all its attempts.
   * @default - no destination (a synchronously invoked function)
   */
  readonly onFailure?: lambda.IDestination;
  /**
   * Lambda's retries of a failed asynchronous invocation (0 to 2).
   * @default - Lambda's default, 2
   */
  readonly retryAttempts?: number;
  /**
   * The oldest asynchronous event Lambda still runs.
   * @default - Lambda's default, 6 hours
   */
  readonly maxEventAge?: Duration;
}

/**
 * Writes the files into the cloud assembly's directory (one folder per content, so the same content
 * always has the same path); returns their digest and the bundling hooks that copy them into the bundle.
 */
function bundledFilesHooks(scope: Construct, files: Readonly<Record<string, string>>) {
  for (const [name, content] of Object.entries(files)) {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`bundledFiles: "${name}" is not a plain file name`);
    if (Token.isUnresolved(content)) {
      throw new Error(`bundledFiles: ${name} holds a CloudFormation token, which a bundle cannot resolve`);
    }
  }
  const digest = createHash("sha256")
    .update(JSON.stringify(Object.entries(files).sort()))
    .digest("hex");
  const stage = Stage.of(scope);
  if (!stage)
    throw new Error("bundledFiles: the function must be in an App, whose cloud assembly holds the files");
  const folder = join(stage.outdir, `bundled-files.${digest.slice(0, 16)}`);
  mkdirSync(folder, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
  const quoted = (path: string) => `'${path.replaceAll("'", "'\\''")}'`;
  return {
    digest,
    commandHooks: {
      beforeBundling: () => [],
      beforeInstall: () => [],
      afterBundling: (_inputDir: string, outputDir: string) =>
        Object.keys(files).map((name) => `cp ${quoted(join(folder, name))} ${quoted(join(outputDir, name))}`),
    },
  };
}

/**
 * A Lambda function with the house defaults: Node.js 24 on arm64, an ESM bundle made by the local
 * esbuild (minified, no source map, AWS SDK included rather than taken from the runtime, credentials
 * from Lambda's environment variables only, no event-stream codec), X-Ray tracing, its own log group with retention, and a
 * role that may write only that log group and traces: every other permission is granted explicitly by
 * the caller.
 *
 * The bundle is all the asset holds besides `bundledFiles`, because its size and load time are the
 * function's cold start:
 * - No source map: a map weighs more than the code and `--enable-source-maps` adds to every cold start.
 *   Stack traces then point into the minified index.mjs; errors stay diagnosable from the name and
 *   message every error log line carries, and a frame's position can be looked up in the map of the
 *   same commit's `cdk synth` with `sourceMap: true` (esbuild's output is otherwise the same).
 * - The SDK is bundled, not the runtime's: a pinned, tested version, and loading the runtime's
 *   separate packages takes longer than the bundle does.
 * - The SDK clients' default credential chain is replaced by its environment-variable link
 *   (environment-credentials.ts): that is where Lambda puts the role's credentials, and the rest of the
 *   chain is code a function never runs.
 * - The SDK's event-stream codec is replaced by a module that fails loudly (no-event-streams.ts): the
 *   protocols load it only for operations that stream events, and the functions call none.
 * - Code bundled into a function validates with zod/mini (functions/validation/zod.ts), a third of
 *   classic zod's size in the bundle.
 */
export class HouseFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The X-Ray permissions, kept apart from the default policy (see below). */
  readonly tracingPolicy: iam.Policy;
  /** The files written beside the bundle's index.mjs, by file name. */
  readonly bundledFiles: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: HouseFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, "Logs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `${props.description} (execution role)`,
    });
    this.logGroup.grantWrite(this.role);

    this.bundledFiles = props.bundledFiles ?? {};
    const bundled = props.bundledFiles ? bundledFilesHooks(this, props.bundledFiles) : undefined;
    this.function = new NodejsFunction(this, "Function", {
      entry: join(REPOSITORY_ROOT, props.entry),
      handler: "handler",
      projectRoot: REPOSITORY_ROOT,
      depsLockFilePath: join(REPOSITORY_ROOT, "package-lock.json"),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        LOG_LEVEL: props.logLevel ?? "INFO",
        ...props.environment,
      },
      onFailure: props.onFailure,
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      bundling: {
        format: OutputFormat.ESM,
        target: "node24",
        mainFields: ["module", "main"],
        minify: true,
        sourceMap: false,
        bundleAwsSDK: true,
        externalModules: [],
        esbuildArgs: {
          "--alias": Object.entries(BUNDLE_ALIASES).map(
            ([module, replacement]) => `${module}=${replacement}`,
          ),
        },
        banner: ESM_REQUIRE_BANNER,
        logLevel: LogLevel.WARNING,
        forceDockerBundling: false,
        ...(bundled
          ? {
              commandHooks: bundled.commandHooks,
              /*
               * CDK reuses a bundle made for the same entry and bundling options within one app: the
               * files' digest among the options keeps two functions with different files apart.
               */
              environment: { BUNDLED_FILES_SHA256: bundled.digest },
            }
          : {}),
      },
    });

    /*
     * Tracing is switched on in the L1 function with its permissions in a policy of their own: the
     * L2 would add them to the default policy, where acknowledging their unavoidable `Resource::*`
     * would also wave through any later statement on "*".
     */
    this.tracingPolicy = new iam.Policy(this, "TracingPolicy", {
      roles: [this.role],
      statements: [
        new iam.PolicyStatement({
          actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
          resources: ["*"],
        }),
      ],
    });
    (this.function.node.defaultChild as lambda.CfnFunction).tracingConfig = { mode: lambda.Tracing.ACTIVE };
    this.function.node.addDependency(this.tracingPolicy);
    acknowledgeFinding(
      this.tracingPolicy,
      "AwsSolutions-IAM5[Resource::*]",
      "X-Ray tracing only: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions, so their resource can only be *.",
    );
  }
}
