import { readFileSync } from "node:fs";
import { isAbsolute, relative, resolve } from "node:path";
import * as z from "zod";
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  MAX_ROTATION_OVERLAP_SECONDS,
} from "../functions/contracts/callback-secret.ts";
import { NAME_PATTERN, NAME_RULE } from "../functions/contracts/names.ts";
import {
  DEFAULT_FAN_OUT_WINDOW_SECONDS,
  MIN_FAN_OUT_WINDOW_SECONDS,
} from "../functions/contracts/user-deletion.ts";
import { DEPLOYED_BASE_URL_RULE, finapiBaseUrlProblem } from "../functions/finapi/base-url.ts";
import { FINAPI_BASE_URLS } from "../functions/finapi/client.ts";
import { nearestName } from "../functions/finapi/nearest-name.ts";
import {
  CALLBACK_URL_FIELDS,
  type ClientConfigurationParams,
  finapiEnvironmentSchema,
  formatViolations,
  parseDesiredDocument,
} from "../functions/finapi/schema.ts";
import { duplicates } from "./construct-props.ts";
import {
  CALLBACK_INGRESSES,
  CALLBACK_RATE_LIMIT_MAX,
  CALLBACK_RATE_LIMIT_MIN,
  DEFAULT_CALLBACK_RATE_LIMIT,
  isWafCidr,
} from "./constructs/callback-ingress.ts";
import { LOG_LEVELS } from "./constructs/observed-node-function.ts";

const CONTEXT_PREFIX = "finapi:";

/** The retention periods CloudWatch Logs accepts, in days. */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A problem with the CDK context or a repository-owned document; the message lists every problem. */
export class StackConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(
      `The CDK context is invalid (cdk.json "context", or -c key=value):\n${problems.map((problem) => `  - ${problem}`).join("\n")}`,
    );
    this.name = "StackConfigError";
    this.problems = problems;
  }
}

/*
 * `-c key=value` always hands the app a string, while cdk.json holds real JSON: values that are not
 * strings in cdk.json (arrays, booleans, numbers) are therefore also accepted as their JSON text.
 */
function fromCommandLine(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/* The name appears in the callback path, in metric dimensions and in resource names. */
export const clientNameSchema = z
  .string({ error: "must be a string" })
  .regex(
    NAME_PATTERN,
    "must be 1 to 64 characters of a-z A-Z 0-9 - _ (it appears in the callback URL path and in metric dimensions)",
  );

export const parameterNameSchema = z
  .string({ error: "must be a string" })
  .min(1, "must not be empty")
  .max(2048, "must be at most 2048 characters")
  .regex(/^[A-Za-z0-9_.\-/]+$/, "may contain only letters, digits and _ . - /")
  .refine((name) => !name.includes("/") || name.startsWith("/"), {
    message: 'must start with "/" when it is a path (e.g. /finapi/sandbox)',
  })
  .refine((name) => !/\/\/|\/$/.test(name), { message: 'must not contain "//" or end with "/"' })
  .refine((name) => !/^\/?(aws|ssm)/i.test(name), {
    message: 'must not begin with "aws" or "ssm" (reserved)',
  });

const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

export const secretIdSchema = z
  .string({ error: "must be a string" })
  .min(1, "must not be empty")
  .refine((id) => (id.startsWith("arn:") ? SECRET_ARN.test(id) : /^[A-Za-z0-9/_+=.@-]{1,512}$/.test(id)), {
    message:
      "must be a secret name (letters, digits and /_+=.@-) or a secret's complete ARN, including the six-character suffix Secrets Manager appends",
  });

const kmsKeyArnSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/,
    "must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key-id>); an alias cannot be granted kms:Decrypt",
  );

/** A finAPI environment, with the message the constructs' props checks give. */
export const environmentSchema = z.enum(finapiEnvironmentSchema.options, {
  error: `must be one of ${finapiEnvironmentSchema.options.join(", ")}`,
});

/* The label appears in the forwarded event's detail, the deletion identity and the FIFO message group. */
export const userBaseSchema = z
  .string({ error: "must be a string" })
  .regex(NAME_PATTERN, `must be ${NAME_RULE} (it names the user base in every forwarded deletion)`);

const clientFieldsSchema = z.strictObject({
  name: clientNameSchema,
  environment: finapiEnvironmentSchema,
  /** The finAPI user base the client's users live in: sandbox, live and each mandator are separate ones. */
  userBase: userBaseSchema.optional(),
  baseUrl: z
    .string({ error: "must be a string" })
    .superRefine((url, ctx) => {
      /* The same rule as the CLI's and the Lambda's, without their loopback exception: a stack runs in AWS. */
      const problem = finapiBaseUrlProblem(url, DEPLOYED_BASE_URL_RULE);
      if (problem) ctx.addIssue({ code: "custom", message: problem });
    })
    .transform((url) => url.replace(/\/+$/, ""))
    .optional(),
  parameterName: parameterNameSchema,
  document: z.string({ error: "must be a path in the repository" }).min(1, "must not be empty").optional(),
  credentialsSecretId: secretIdSchema,
  mode: z.enum(["apply", "report-only"]).default("apply"),
  parameterKeyArn: kmsKeyArnSchema.optional(),
  credentialsKeyArn: kmsKeyArnSchema.optional(),
  /* Bumped to revoke this client's callback URL alone: its path secret is derived from the root secret and it. */
  callbackSecretGeneration: z
    .number({ error: "must be a whole number" })
    .int("must be a whole number")
    .min(0, "must be at least 0")
    .max(Number.MAX_SAFE_INTEGER, "must be a safe integer")
    .default(0),
});

const clientSchema = clientFieldsSchema
  .superRefine((client, ctx) => {
    if (client.document !== undefined && client.parameterKeyArn !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["parameterKeyArn"],
        message:
          "cannot be combined with document: a parameter the stack writes is a String (CloudFormation cannot create SecureString parameters)",
      });
    }
  })
  .transform((client, ctx) => {
    const baseUrl =
      client.baseUrl ?? (client.environment === "alpha" ? undefined : FINAPI_BASE_URLS[client.environment]);
    if (baseUrl === undefined) {
      ctx.issues.push({
        code: "custom",
        path: ["baseUrl"],
        message: "is required for an alpha client: finAPI publishes no alpha URL",
        input: client,
      });
      return z.NEVER;
    }
    return { ...client, baseUrl, userBase: client.userBase ?? client.environment };
  });

const clientsSchema = z
  .array(clientSchema, { error: "must be a JSON array of clients" })
  .min(1, "must name at least one finAPI client")
  .superRefine((clients, ctx) => {
    for (const name of duplicates(clients.map((client) => client.name))) {
      ctx.addIssue({ code: "custom", message: `name "${name}" is used by more than one client` });
    }
    for (const name of duplicates(clients.map((client) => client.parameterName.replace(/^\//, "")))) {
      ctx.addIssue({
        code: "custom",
        message: `parameterName "${name}" is used by more than one client (one parameter per finAPI client; a leading slash does not tell parameters apart)`,
      });
    }
    for (const userBase of new Set(clients.map((client) => client.userBase))) {
      const members = clients.filter((client) => client.userBase === userBase);
      const environments = [...new Set(members.map((client) => client.environment))];
      if (environments.length > 1) {
        ctx.addIssue({
          code: "custom",
          message: `user base "${userBase}" has clients of ${environments.length} environments (${members
            .map((client) => `${client.name}: ${client.environment}`)
            .join(
              ", ",
            )}); a user base lives in one finAPI environment, so give these clients different userBase labels`,
        });
      }
    }
  })
  .readonly();

export const scheduleSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^(rate\((1 (minute|hour|day)|([2-9]|[1-9]\d+) (minutes|hours|days))\)|cron\(\S+( \S+){5}\))$/,
    'must be an EventBridge schedule expression such as "rate(15 minutes)" or "cron(0/15 * * * ? *)"',
  );

const stackNameSchema = z
  .string({ error: "must be a string" })
  .regex(
    /^[A-Za-z][A-Za-z0-9-]{0,127}$/,
    "must be a CloudFormation stack name: a letter, then letters, digits and hyphens",
  )
  .default("FinapiConfigSync");

/** How problems name a setting: its context key, or the construct's prop. */
type SettingLabel = (setting: string) => string;

/**
 * The settings of the whole product: the FinapiConfigSync construct's props, and the app's CDK context
 * (`finapi:<setting>`). settingsSchemaFor makes it the one schema that checks both, so a cdk.json app
 * and an app that embeds the construct obey the same rules and get the same defaults.
 */
const settingsShape = {
  clients: clientsSchema,
  reconcileSchedule: scheduleSchema.default("rate(15 minutes)"),
  hostCallback: z.boolean({ error: "must be true or false" }).default(true),
  alarmEmail: z.email({ error: "must be an e-mail address" }).optional(),
  callbackReservedConcurrency: z
    .int({ error: "must be a whole number" })
    .min(1, "must be at least 1")
    .max(1000, "must be at most 1000")
    .default(10),
  callbackSecretRotationOverlapHours: z
    .int({ error: "must be a whole number of hours" })
    .min(0, "must be at least 0")
    .max(
      MAX_ROTATION_OVERLAP_SECONDS / 3600,
      `must be at most ${MAX_ROTATION_OVERLAP_SECONDS / 3600} (a leaked URL must stop working within a week)`,
    )
    .default(DEFAULT_ROTATION_OVERLAP_SECONDS / 3600),
  callbackFanOutWindowSeconds: z
    .int({ error: "must be a whole number of seconds" })
    .min(
      MIN_FAN_OUT_WINDOW_SECONDS,
      `must be at least ${MIN_FAN_OUT_WINDOW_SECONDS} (finAPI's copies of one deletion to a user base's clients arrive within it)`,
    )
    .default(DEFAULT_FAN_OUT_WINDOW_SECONDS),
  callbackIngress: z
    .enum(CALLBACK_INGRESSES, { error: `must be one of ${CALLBACK_INGRESSES.join(", ")}` })
    .default("function-url"),
  callbackRateLimit: z
    .int({ error: "must be a whole number (requests per source address per 5 minutes)" })
    .min(CALLBACK_RATE_LIMIT_MIN, `must be at least ${CALLBACK_RATE_LIMIT_MIN} (AWS WAF's minimum)`)
    .max(CALLBACK_RATE_LIMIT_MAX, `must be at most ${CALLBACK_RATE_LIMIT_MAX} (AWS WAF's maximum)`)
    .optional(),
  callbackAllowedCidrs: z
    .array(
      z.string({ error: "must be a string" }).refine(isWafCidr, {
        message: "must be an IPv4 or IPv6 CIDR block with a prefix of /1 or longer, e.g. 203.0.113.0/24",
      }),
      { error: "must be a JSON array of CIDR blocks" },
    )
    .min(1, "must name at least one CIDR block (leave the setting out to allow any source)")
    .readonly()
    .optional(),
  unauthenticatedAlarmThreshold: z
    .int({ error: "must be a whole number" })
    .min(1, "must be at least 1")
    .default(10),
  logRetentionDays: z
    .literal(LOG_RETENTION_DAYS, {
      error: `must be one of CloudWatch Logs' retention periods: ${LOG_RETENTION_DAYS.join(", ")}`,
    })
    .default(30),
  logLevel: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(", ")}` }).default("INFO"),
};

/** The settings that only the api-gateway-waf ingress uses (a Function URL has no web ACL). */
const WEB_ACL_SETTINGS = ["callbackRateLimit", "callbackAllowedCidrs"] as const;

/** The settings' schema; rules across settings are checked beside it (webAclProblems). */
const settingsSchema = z.strictObject(settingsShape).transform((settings) => ({
  ...settings,
  // Every setting is a key of the result, also one left out (as the context's keys always were).
  alarmEmail: settings.alarmEmail,
  callbackAllowedCidrs: settings.callbackAllowedCidrs,
  callbackRateLimit:
    settings.callbackIngress === "api-gateway-waf"
      ? (settings.callbackRateLimit ?? DEFAULT_CALLBACK_RATE_LIMIT)
      : undefined,
}));

/*
 * Checked on the input, not inside the schema, so that it is reported together with any other
 * problem (zod skips an object's refinements once a field failed). An invalid ingress is the
 * schema's problem alone.
 */
function webAclProblems(input: Readonly<Record<string, unknown>>, label: SettingLabel): string[] {
  const ingress = input.callbackIngress ?? "function-url";
  if (ingress === "api-gateway-waf" || !(CALLBACK_INGRESSES as readonly unknown[]).includes(ingress))
    return [];
  return WEB_ACL_SETTINGS.filter((setting) => input[setting] !== undefined).map(
    (setting) =>
      `${label(setting)}: takes effect only with ${label("callbackIngress")} "api-gateway-waf" (a Function URL has no web ACL); set that too, or leave this out`,
  );
}

/** The settings' names, the construct's props (the context key of each is `finapi:<name>`). */
const SETTING_NAMES = Object.keys(settingsShape) as readonly (keyof typeof settingsShape)[];

/** Every CDK context key the app reads; cdk.json sets them, `-c key=value` overrides them. */
const CONTEXT_KEYS: readonly string[] = ["stackName", ...SETTING_NAMES].map(
  (name) => `${CONTEXT_PREFIX}${name}`,
);

/** A desired-state document kept in the repository, validated at synth time, written by the stack. */
export interface OwnedDocument {
  /** The path relative to the repository root. */
  readonly path: string;
  /** The validated document, serialized compactly: the parameter's value. */
  readonly value: string;
}

type ParsedSettings = z.output<typeof settingsSchema>;
/** What the settings schema accepts: the construct's props are checked against it by the compiler too. */
export type FinapiConfigSyncSettingsInput = z.input<typeof settingsSchema>;
/** A retention period CloudWatch Logs accepts, in days. */
export type LogRetentionDays = (typeof LOG_RETENTION_DAYS)[number];
export type ClientConfig = ParsedSettings["clients"][number] & { readonly ownedDocument?: OwnedDocument };
/** The checked settings, defaults applied and each client's document loaded. */
export type FinapiConfigSyncSettings = Omit<ParsedSettings, "clients"> & {
  readonly clients: readonly ClientConfig[];
};
export type StackConfig = FinapiConfigSyncSettings & { readonly stackName: string };
export type FinapiClientMode = ClientConfig["mode"];

function formatPath(path: readonly PropertyKey[], label: SettingLabel): string {
  const [key, ...rest] = path;
  return `${label(String(key))}${rest.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("")}`;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  return path.reduce<unknown>((value, key) => {
    const parsed = fromCommandLine(value);
    return typeof parsed === "object" && parsed !== null
      ? (parsed as Record<PropertyKey, unknown>)[key]
      : undefined;
  }, input);
}

function problemsOf(
  issues: readonly z.core.$ZodIssue[],
  input: Readonly<Record<string, unknown>>,
  label: SettingLabel,
): string[] {
  return issues.flatMap((issue) => {
    if (issue.code === "unrecognized_keys" && issue.path.length === 0) {
      return issue.keys.map((key) => {
        const suggestion = nearestName(key, SETTING_NAMES);
        const hint = suggestion
          ? `did you mean "${suggestion}"?`
          : `the props are ${SETTING_NAMES.join(", ")}`;
        return `${key}: is not a prop of FinapiConfigSync; ${hint}`;
      });
    }
    if (issue.code === "unrecognized_keys") {
      const fields = Object.keys(clientFieldsSchema.shape);
      return issue.keys.map((key) => {
        const suggestion = nearestName(key, fields);
        const hint = suggestion ? `did you mean "${suggestion}"?` : `the fields are ${fields.join(", ")}`;
        return `${formatPath([...issue.path, key], label)}: is not a client field; ${hint}`;
      });
    }
    if (issue.code === "invalid_value" && issue.path.at(-1) === "environment") {
      return [
        `${formatPath(issue.path, label)}: must be one of ${finapiEnvironmentSchema.options.join(", ")}`,
      ];
    }
    if (issue.code === "invalid_value" && issue.path.at(-1) === "mode") {
      return [`${formatPath(issue.path, label)}: must be "apply" or "report-only"`];
    }
    if (issue.code === "invalid_type" && valueAt(input, issue.path) === undefined) {
      return [`${formatPath(issue.path, label)}: is required`];
    }
    return [`${formatPath(issue.path, label)}: ${issue.message}`];
  });
}

function unknownContextKeys(context: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(context)
    .filter((key) => key.startsWith(CONTEXT_PREFIX) && !CONTEXT_KEYS.includes(key))
    .map((key) => {
      const suggestion = nearestName(key, CONTEXT_KEYS);
      return `${key}: is not a setting of this app${suggestion ? `; did you mean "${suggestion}"?` : ` (the settings are ${CONTEXT_KEYS.join(", ")})`}`;
    });
}

/*
 * A parameter the stack writes is a String whose value sits in the template (and the cloud assembly,
 * and CloudFormation's console) in clear: a URL that carries credentials (user info) or a query
 * string (often a token) does not belong there. Only the field is named, never the URL.
 */
function credentialBearingUrls(document: ClientConfigurationParams): string[] {
  return CALLBACK_URL_FIELDS.flatMap((field) => {
    const value = document[field];
    if (value === undefined || value === "") return [];
    const url = new URL(value);
    const carries = [
      ...(url.username !== "" || url.password !== "" ? ["user info (user:password@)"] : []),
      ...(url.search !== "" || value.includes("?") ? ["a query string"] : []),
    ];
    return carries.length === 0 ? [] : [`${field} carries ${carries.join(" and ")}`];
  });
}

function loadOwnedDocument(
  client: ParsedSettings["clients"][number],
  where: string,
  repoRoot: string,
): OwnedDocument | string[] {
  const document = client.document as string;
  const absolute = resolve(repoRoot, document);
  const path = relative(repoRoot, absolute);
  if (isAbsolute(path) || path.startsWith("..")) {
    return [`${where}: ${document} is outside the repository; documents live in the repository (GitOps)`];
  }
  let text: string;
  try {
    text = readFileSync(absolute, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "unreadable";
    return [`${where}: cannot read ${path} (${code})`];
  }
  const parsed = parseDesiredDocument(text, client.environment);
  if (!parsed.ok) {
    return [
      `${where}: ${path} is not a valid finAPI client configuration for ${client.environment}:\n${formatViolations(
        parsed.violations,
        path,
      )
        .split("\n")
        .map((line) => `      ${line}`)
        .join("\n")}`,
    ];
  }
  const exposed = credentialBearingUrls(parsed.value);
  if (exposed.length > 0) {
    return [
      `${where}: ${path}: ${exposed.join("; ")}, which the template would hold in clear; keep this client's document in a SecureString parameter the pipeline writes (leave "document" out and name that parameter, with parameterKeyArn if it uses a customer managed key)`,
    ];
  }
  return { path, value: JSON.stringify(parsed.value) };
}

/** The outcome of checking settings: every problem, or the settings. */
export type SettingsCheck =
  | { readonly ok: true; readonly settings: FinapiConfigSyncSettings }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Checks settings (the construct's props, or the context mapped onto them) with the one schema, then
 * loads and validates each client's document (a path relative to `documentsRoot`, which it must not
 * leave). Every problem is reported, each naming its setting through `label`.
 */
export function checkSettings(
  input: Readonly<Record<string, unknown>>,
  documentsRoot: string,
  label: SettingLabel = (setting) => setting,
): SettingsCheck {
  const parsed = settingsSchema.safeParse(input);
  const problems = parsed.success ? [] : problemsOf(parsed.error.issues, input, label);
  problems.push(...webAclProblems(input, label));

  /* A client that is valid on its own gets its document checked, whatever else is wrong. */
  const candidates = parsed.success
    ? parsed.data.clients
    : (Array.isArray(input.clients) ? input.clients : []).map(
        (client) => clientSchema.safeParse(client).data,
      );
  const ownedDocuments = new Map<number, OwnedDocument>();
  candidates.forEach((client, index) => {
    if (client?.document === undefined) return;
    const owned = loadOwnedDocument(client, `${label("clients")}[${index}].document`, documentsRoot);
    if (Array.isArray(owned)) problems.push(...owned);
    else ownedDocuments.set(index, owned);
  });

  if (!parsed.success || problems.length > 0) return { ok: false, problems };
  const clients = parsed.data.clients.map((client, index): ClientConfig => {
    const ownedDocument = ownedDocuments.get(index);
    return ownedDocument ? { ...client, ownedDocument } : client;
  });
  return { ok: true, settings: { ...parsed.data, clients } };
}

/**
 * Validates the app's CDK context and the repository-owned documents it points at. Throws a
 * StackConfigError that lists every problem, so that one `cdk synth` shows them all.
 */
export function parseStackConfig(context: Readonly<Record<string, unknown>>, repoRoot: string): StackConfig {
  const problems = unknownContextKeys(context);
  const contextKey = (setting: string) => `${CONTEXT_PREFIX}${setting}`;
  const stackName = stackNameSchema.safeParse(context[contextKey("stackName")]);
  if (!stackName.success) {
    problems.push(...problemsOf(stackName.error.issues, context, () => contextKey("stackName")));
  }
  const settings = checkSettings(
    Object.fromEntries(
      SETTING_NAMES.filter((name) => context[contextKey(name)] !== undefined).map((name) => [
        name,
        fromCommandLine(context[contextKey(name)]),
      ]),
    ),
    repoRoot,
    contextKey,
  );
  if (!settings.ok) problems.push(...settings.problems);
  if (problems.length > 0 || !settings.ok || !stackName.success) throw new StackConfigError(problems);
  return { stackName: stackName.data, ...settings.settings };
}
