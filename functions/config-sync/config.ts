import {
  CLIENT_REGISTRY_PATH_VARIABLE,
  type ConfiguredClient,
  configSyncRegistrySchema,
  loadWithClientRegistry,
} from "../contracts/client-registry.ts";
import { type Environment, requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

export { type ConfiguredClient, configuredClientSchema, parameterKey } from "../contracts/client-registry.ts";

/** How long a credentials or callback secret is served from the container's cache. */
export const DEFAULT_SECRETS_CACHE_TTL_SECONDS = 300;
/** How long a scheduled run may reuse a parameter value read by an earlier run of the same container. */
export const DEFAULT_PARAMETER_CACHE_TTL_SECONDS = 60;

const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });

const httpUrl = (what: string) =>
  text().check(
    z.refine(
      (text) => {
        const url = URL.parse(text);
        return url !== null && (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
      },
      { error: `must be an absolute http:// or https:// URL (${what})` },
    ),
  );

const seconds = (fallback: number) =>
  z._default(
    z.pipe(
      z
        .string()
        .check(z.regex(/^\d+$/, { error: "must be a whole number of seconds (0 turns the cache off)" })),
      z.transform(Number),
    ),
    fallback,
  );

/** The config-sync Lambda's environment, as the CDK stack sets it. */
export const configSyncEnvironmentSchema = z.pipe(
  z.object({
    [CLIENT_REGISTRY_PATH_VARIABLE]: z.optional(z.string()),
    CALLBACK_BASE_URL: z.optional(
      z.pipe(
        httpUrl("where the stack hosts the user-sync callback").check(
          z.refine((url) => !url.includes("?") && !url.includes("#"), {
            error: "must not have a query or fragment: the callback path is appended to it",
          }),
        ),
        z.transform((url: string) => url.replace(/\/+$/, "")),
      ),
    ),
    CALLBACK_ROOT_SECRET_ID: z.optional(
      text().check(
        z.minLength(1, {
          error: "must name the Secrets Manager secret the callback path secrets derive from",
        }),
      ),
    ),
    STATUS_TABLE_NAME: requiredVariable("must be a DynamoDB table name").check(
      z.regex(/^[A-Za-z0-9_.-]{3,255}$/, {
        error: "must be a DynamoDB table name (3..255 characters of a-z A-Z 0-9 _ . -)",
      }),
    ),
    SECRETS_CACHE_TTL_SECONDS: seconds(DEFAULT_SECRETS_CACHE_TTL_SECONDS),
    PARAMETER_CACHE_TTL_SECONDS: seconds(DEFAULT_PARAMETER_CACHE_TTL_SECONDS),
    LOG_LEVEL: z.optional(
      z.string().check(
        z.regex(/^(trace|debug|info|warn|error|critical|silent)$/i, {
          error: "must be one of TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT",
        }),
      ),
    ),
  }),
  z.transform((environment, ctx) => {
    /* A URL without the root secret could not carry a path secret, a root secret without a URL is unused. */
    if (
      (environment.CALLBACK_BASE_URL === undefined) !==
      (environment.CALLBACK_ROOT_SECRET_ID === undefined)
    ) {
      ctx.issues.push({
        code: "custom",
        path: [environment.CALLBACK_BASE_URL === undefined ? "CALLBACK_BASE_URL" : "CALLBACK_ROOT_SECRET_ID"],
        message: "CALLBACK_BASE_URL and CALLBACK_ROOT_SECRET_ID are set together or not at all",
        input: environment,
      });
      return z.NEVER;
    }
    return {
      callbackBaseUrl: environment.CALLBACK_BASE_URL,
      ...(environment.CALLBACK_ROOT_SECRET_ID === undefined
        ? {}
        : { callbackRootSecretId: environment.CALLBACK_ROOT_SECRET_ID }),
      statusTableName: environment.STATUS_TABLE_NAME,
      secretsCacheTtlSeconds: environment.SECRETS_CACHE_TTL_SECONDS,
      parameterCacheTtlSeconds: environment.PARAMETER_CACHE_TTL_SECONDS,
    };
  }),
);
export type ConfigSyncConfig = z.output<typeof configSyncEnvironmentSchema> & {
  /** Every client config-sync reconciles, from the client registry. */
  readonly clients: ConfiguredClient[];
};

/**
 * Reads the configuration from the environment and the client registry, or fails with one message
 * that names every bad variable or registry field, the place inside it and the rule, never a value.
 */
export function loadConfigSyncConfig(environment: Environment): ConfigSyncConfig {
  return loadWithClientRegistry(
    "config-sync",
    configSyncEnvironmentSchema,
    configSyncRegistrySchema,
    environment,
  );
}
