import { callbackSecretGenerationSchema } from "../contracts/callback-path-secret.ts";
import { NAME_PATTERN } from "../contracts/names.ts";
import { finapiBaseUrlProblem, LOCAL_BASE_URL_RULE } from "../finapi/base-url.ts";
import { syncModeSchema } from "../finapi/reconcile.ts";
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import { type Environment, jsonText, loadEnvironment, requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

/** How long a credentials or callback secret is served from the container's cache. */
export const DEFAULT_SECRETS_CACHE_TTL_SECONDS = 300;
/** How long a scheduled run may reuse a parameter value read by an earlier run of the same container. */
export const DEFAULT_PARAMETER_CACHE_TTL_SECONDS = 60;

/*
 * Parameter Store Change events may name a parameter without the leading slash the configuration
 * has, or the reverse; the two spellings name the same client.
 */
export function parameterKey(name: string): string {
  return name.replace(/^\/+/, "");
}

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

const withoutTrailingSlashes = z.transform((url: string) => url.replace(/\/+$/, ""));

/* The client secret travels to this URL: https, or http to an emulator on this machine (the local loop). */
const finapiBaseUrl = text().check((ctx) => {
  const problem = finapiBaseUrlProblem(ctx.value, LOCAL_BASE_URL_RULE);
  if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
});

export const configuredClientSchema = z.strictObject({
  name: text().check(z.regex(NAME_PATTERN, { error: "must be 1..64 characters of a-z A-Z 0-9 - _" })),
  environment: finapiEnvironmentSchema,
  baseUrl: z.pipe(finapiBaseUrl, withoutTrailingSlashes),
  parameterName: text().check(
    z.minLength(1, { error: "must name the SSM parameter that holds the document" }),
  ),
  credentialsSecretId: text().check(
    z.minLength(1, { error: "must name the Secrets Manager secret that holds the client credentials" }),
  ),
  mode: syncModeSchema,
  /* Which of the client's callback path secrets (derived from the root secret) config-sync registers; 0 when left out. */
  callbackSecretGeneration: z.optional(callbackSecretGenerationSchema),
});
export type ConfiguredClient = z.infer<typeof configuredClientSchema>;

const duplicatesOf = (values: readonly string[]) => [
  ...new Set(values.filter((value, index) => values.indexOf(value) !== index)),
];

const clientsSchema = z
  .array(configuredClientSchema, { error: "must be a JSON array of clients" })
  .check(z.minLength(1, { error: "must name at least one finAPI client" }), (ctx) => {
    const clients = ctx.value;
    for (const name of duplicatesOf(clients.map((client) => client.name))) {
      ctx.issues.push({
        code: "custom",
        message: `name "${name}" is used by more than one client`,
        input: clients,
      });
    }
    for (const key of duplicatesOf(clients.map((client) => parameterKey(client.parameterName)))) {
      ctx.issues.push({
        code: "custom",
        message: `parameter "${key}" is used by more than one client (a leading slash does not tell parameters apart)`,
        input: clients,
      });
    }
  });

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
    FINAPI_CLIENTS: z.pipe(z.pipe(requiredVariable("must be a JSON array"), jsonText), clientsSchema),
    CALLBACK_BASE_URL: z.optional(
      z.pipe(
        httpUrl("where the stack hosts the user-sync callback").check(
          z.refine((url) => !url.includes("?") && !url.includes("#"), {
            error: "must not have a query or fragment: the callback path is appended to it",
          }),
        ),
        withoutTrailingSlashes,
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
      clients: environment.FINAPI_CLIENTS,
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
export type ConfigSyncConfig = z.output<typeof configSyncEnvironmentSchema>;

/** Reads the configuration from the environment, or fails naming every bad variable and its rule. */
export function loadConfigSyncConfig(environment: Environment): ConfigSyncConfig {
  return loadEnvironment("config-sync", configSyncEnvironmentSchema, environment);
}
