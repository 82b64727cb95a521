/*
 * The client registry: the configured finAPI clients as the stack writes them into a JSON file beside
 * each function's bundle and the function reads them when its module loads. A file rather than an
 * environment variable because Lambda caps a function's environment at 4 KB (about 11 clients); the
 * file grows with the clients (about 250 bytes each) inside the bundle. One schema per function, used
 * by the construct that writes the file and the function that reads it.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { finapiBaseUrlProblem, LOCAL_BASE_URL_RULE } from "../finapi/base-url.ts";
import { syncModeSchema } from "../finapi/reconcile.ts";
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import { type Environment, loadEnvironment } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";
import { callbackClientsSchema } from "./callback-environment.ts";
import { callbackSecretGenerationSchema } from "./callback-path-secret.ts";
import { NAME_PATTERN, NAME_RULE } from "./names.ts";

/** The registry's file name, beside the bundle's index.mjs. */
export const CLIENT_REGISTRY_FILE = "client-registry.json";
/** The variable that points a function at another registry file (tests, the local loop). */
export const CLIENT_REGISTRY_PATH_VARIABLE = "CLIENT_REGISTRY_PATH";

/*
 * Parameter Store Change events may name a parameter without the leading slash the configuration
 * has, or the reverse; the two spellings name the same client.
 */
export function parameterKey(name: string): string {
  return name.replace(/^\/+/, "");
}

const text = () =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") });

/* The client secret travels to this URL: https, or http to an emulator on this machine (the local loop). */
const finapiBaseUrl = text().check((ctx) => {
  const problem = finapiBaseUrlProblem(ctx.value, LOCAL_BASE_URL_RULE);
  if (problem) ctx.issues.push({ code: "custom", message: problem, input: ctx.value });
});

export const configuredClientSchema = z.strictObject({
  name: text().check(z.regex(NAME_PATTERN, { error: `must be ${NAME_RULE}` })),
  environment: finapiEnvironmentSchema,
  baseUrl: z.pipe(
    finapiBaseUrl,
    z.transform((url: string) => url.replace(/\/+$/, "")),
  ),
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

const configuredClientsSchema = z
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

/** config-sync's registry: every client it reconciles. */
export const configSyncRegistrySchema = z.strictObject({ clients: configuredClientsSchema });
/** user-sync-callback's registry: every client whose callback the stack hosts. */
export const callbackRegistrySchema = z.strictObject({ clients: callbackClientsSchema });

type RegistrySchema = typeof configSyncRegistrySchema | typeof callbackRegistrySchema;

/** The registry file a function reads: the variable's path, or the file beside the bundle. */
export function clientRegistryPath(environment: Readonly<Record<string, string | undefined>>): string {
  const configured = environment[CLIENT_REGISTRY_PATH_VARIABLE];
  /* Bundled, this module is the function's index.mjs, so its directory is the bundle's. */
  return configured ? configured : join(import.meta.dirname, CLIENT_REGISTRY_FILE);
}

/** Each problem of a registry: its file, the place inside it and the rule, never a value. */
function problemsOf(path: string, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const where = issue.path.length > 0 ? ` [${issue.path.map(String).join(".")}]` : "";
    return `client registry ${path}${where}: ${issue.message}`;
  });
}

export type RegistryReading<S extends RegistrySchema> =
  | { readonly registry: z.output<S>; readonly problems?: undefined }
  | { readonly registry?: undefined; readonly problems: readonly string[] };

/** Reads and validates the registry file at `path`. */
export function readClientRegistry<S extends RegistrySchema>(schema: S, path: string): RegistryReading<S> {
  let content: string;
  try {
    content = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return {
      problems: [
        `client registry ${path}: cannot be read (${code}); the stack writes it beside the bundle, ${CLIENT_REGISTRY_PATH_VARIABLE} names another`,
      ],
    };
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    /* JSON.parse's message repeats part of the text: not quoted. */
    return { problems: [`client registry ${path}: is not valid JSON`] };
  }
  const result = schema.safeParse(json);
  if (result.success) return { registry: result.data as z.output<S> };
  return { problems: problemsOf(path, result.error.issues) };
}

/**
 * The registry file's text for what the stack configures: validated against the function's schema
 * first, so that a stack that synthesizes writes a registry its function accepts.
 */
export function clientRegistryText<S extends RegistrySchema>(schema: S, registry: z.input<S>): string {
  const result = schema.safeParse(registry);
  if (!result.success) throw new Error(problemsOf(CLIENT_REGISTRY_FILE, result.error.issues).join("; "));
  return `${JSON.stringify(registry)}\n`;
}

/**
 * A function's configuration: its environment and its client registry, read and checked together when
 * the module loads; one error names every bad variable or registry field and its rule, never a value.
 */
export function loadWithClientRegistry<
  E extends z.ZodMiniType<Record<string, unknown>>,
  S extends RegistrySchema,
>(
  functionName: string,
  environmentSchema: E,
  registrySchema: S,
  environment: Environment,
): z.output<E> & { readonly clients: z.output<S>["clients"] } {
  const reading = readClientRegistry(registrySchema, clientRegistryPath(environment));
  const loaded = loadEnvironment(functionName, environmentSchema, environment, reading.problems);
  /* loadEnvironment threw when the registry had problems, so it was read. */
  return { ...loaded, clients: reading.registry?.clients ?? [] };
}
