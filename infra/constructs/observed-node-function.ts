import { createHash } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { isAbsolute, join } from "node:path";
import { Duration, RemovalPolicy, Stack, Stage, Token } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import { LogLevel, NodejsFunction, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import * as z from "zod";
import { stackMetricsNamespace } from "../../functions/contracts/metrics.ts";
import { checkProps, durationBetween, schemaProblems, text, wholeNumber } from "../construct-props.ts";
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
 * What the bundle takes in place of SDK modules a function never runs (see ObservedNodeFunction), each path
 * relative to the repository root (esbuild's working directory).
 */
export const BUNDLE_ALIASES = {
  "@aws-sdk/credential-provider-node": "./infra/constructs/environment-credentials.ts",
  "@smithy/core/event-streams": "./infra/constructs/no-event-streams.ts",
} as const;

/** Powertools' log levels the functions are run with. */
export const LOG_LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** The variables every function gets, and where from; `environment` must not set them again. */
const COMMON_VARIABLES: Readonly<Record<string, string>> = {
  POWERTOOLS_SERVICE_NAME: "is set from serviceName",
  POWERTOOLS_METRICS_NAMESPACE: "is the stack's metrics namespace, which all its functions share",
  LOG_LEVEL: "is set from logLevel",
};

export interface ObservedNodeFunctionProps {
  /** The handler's entry file (TypeScript or JavaScript), relative to the repository root; it exports `handler`. */
  readonly entry: string;
  /** What the function does (at most 256 characters, Lambda's limit). */
  readonly description: string;
  /** Powertools' service name: the `service` of every log line and metric. */
  readonly serviceName: string;
  /** Chosen per function (1 second to 15 minutes): there is no common default for how long a function may run. */
  readonly timeout: Duration;
  /**
   * Memory in MB, 128 to 10240 (CPU grows with it).
   * @default 256
   */
  readonly memorySize?: number;
  /** How many instances may run at once, at least 1; chosen per function (1 serializes all runs). */
  readonly reservedConcurrentExecutions: number;
  /**
   * Function-specific environment variables, added to the common ones (service name, metrics
   * namespace, log level), which they must not set again.
   * @default - only the common variables
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Files written beside the bundle's index.mjs, by plain file name: configuration too large for the
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
  readonly logLevel?: LogLevelName;
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
   * The oldest asynchronous event Lambda still runs (1 minute to 6 hours).
   * @default - Lambda's default, 6 hours
   */
  readonly maxEventAge?: Duration;
}

/** A retention period of the function's log group. */
export const logRetentionSchema = z.enum(logs.RetentionDays, { error: "must be a logs.RetentionDays value" });

/** The rules of the log settings, which the constructs that build functions check in their own props. */
export const logSettingsShape = {
  logRetention: logRetentionSchema.optional(),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).optional(),
};

/** Lambda's bounds for a function's timeout. */
export const functionTimeoutSchema = durationBetween(
  Duration.seconds(1),
  Duration.minutes(15),
  "Lambda's bounds",
);

const VARIABLE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const ENTRY_EXTENSION = /\.(ts|mts|cts|js|mjs|cjs)$/;

const propsSchema = z.object({
  entry: z
    .string({ error: "must be a path relative to the repository root" })
    .refine((entry) => !isAbsolute(entry) && ENTRY_EXTENSION.test(entry), {
      message:
        "must be a TypeScript or JavaScript file (.ts .mts .cts .js .mjs .cjs) relative to the repository root",
    })
    .refine((entry) => existsSync(join(REPOSITORY_ROOT, entry)), {
      message: "must name a file that exists (relative to the repository root)",
    }),
  description: text(256),
  serviceName: z
    .string({ error: "must be a string" })
    .regex(/^[A-Za-z0-9._-]{1,64}$/, "must be 1 to 64 characters of a-z A-Z 0-9 . _ - (a metric dimension)"),
  timeout: functionTimeoutSchema,
  memorySize: wholeNumber(128, 10240, "MB, Lambda's bounds").optional(),
  reservedConcurrentExecutions: wholeNumber(1, Number.MAX_SAFE_INTEGER, "0 would never run the function"),
  environment: z
    .record(z.string(), z.string({ error: "must be a string" }), {
      error: "must be an object of variable names to strings",
    })
    .optional(),
  ...logSettingsShape,
  retryAttempts: wholeNumber(0, 2, "Lambda's bounds").optional(),
  maxEventAge: durationBetween(Duration.minutes(1), Duration.hours(6), "Lambda's bounds").optional(),
});

/* The variables' names, beside the schema, so that they are reported together with any other problem. */
function environmentProblems(environment: unknown): string[] {
  if (typeof environment !== "object" || environment === null) return [];
  return Object.keys(environment).flatMap((name) => {
    if (Object.hasOwn(COMMON_VARIABLES, name)) return [`environment.${name}: ${COMMON_VARIABLES[name]}`];
    return VARIABLE_NAME.test(name)
      ? []
      : [`environment.${name}: must be a variable name: a letter, then letters, digits and _`];
  });
}

function bundledFilesProblems(files: unknown): string[] {
  if (typeof files !== "object" || files === null) return [];
  return Object.entries(files).flatMap(([name, content]) => [
    ...(/^[A-Za-z0-9._-]+$/.test(name) ? [] : [`bundledFiles.${name}: must be a plain file name`]),
    ...(typeof content !== "string"
      ? [`bundledFiles.${name}: must be the file's text`]
      : Token.isUnresolved(content)
        ? [`bundledFiles.${name}: holds a CloudFormation token, which a bundle cannot resolve`]
        : []),
  ]);
}

/**
 * Writes the files into the cloud assembly's directory (one folder per content, so the same content
 * always has the same path); returns their digest and the bundling hooks that copy them into the bundle.
 */
function bundledFilesHooks(scope: Construct, files: Readonly<Record<string, string>>) {
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
 * A Node.js Lambda function observed through its own log group and Powertools (Logger and Metrics
 * configured by its environment): Node.js 24 on arm64, an ESM bundle made by the local esbuild
 * (minified, no source map, AWS SDK included rather than taken from the runtime, credentials from
 * Lambda's environment variables only, no event-stream codec), its own log group with retention, and a
 * role that may write only that log group: every other permission is granted explicitly by the caller.
 * No active tracing: no function code uses a tracer (the cold-import cost of Powertools Tracer is
 * written down in docs/internals.md), and an X-Ray grant would need a `*` resource.
 *
 * The bundle is all the asset holds besides `bundledFiles`, because its size and load time are the function's cold start:
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
 *
 * The props are checked before anything is created; a ConstructPropsError lists every problem.
 */
export class ObservedNodeFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  /** The files written beside the bundle's index.mjs, by file name. */
  readonly bundledFiles: Readonly<Record<string, string>>;

  constructor(scope: Construct, id: string, props: ObservedNodeFunctionProps) {
    checkProps("ObservedNodeFunction", scope, id, [
      ...schemaProblems(propsSchema, props),
      ...environmentProblems(props.environment),
      ...bundledFilesProblems(props.bundledFiles),
    ]);
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
        POWERTOOLS_METRICS_NAMESPACE: stackMetricsNamespace(Stack.of(this).stackName),
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
    acknowledgeFinding(
      this.function,
      "Serverless-LambdaTracing",
      "No active tracing: no function code records a trace (Powertools Tracer would add its cold import to every cold start, see docs/internals.md), and Lambda's own segments alone would need an X-Ray grant on *. Logs and metrics carry each run's outcome and the X-Request-Id of every finAPI call.",
    );
  }
}
