import type { Result } from "../commons/result.ts";
import * as z from "../validation/zod.ts";
import { positionFinder, scanJsonKeys } from "./json-keys.ts";
import { nearestName } from "./nearest-name.ts";

/** finAPI's environments. Only `live` insists on https callback URLs. */
export const finapiEnvironmentSchema = z.enum(["sandbox", "live", "alpha"]);
export type FinapiEnvironment = z.infer<typeof finapiEnvironmentSchema>;

export const CALLBACK_URL_FIELDS = ["userNotificationCallbackUrl", "userSynchronizationCallbackUrl"] as const;
export const VALIDITY_PERIOD_FIELDS = [
  "refreshTokensValidityPeriod",
  "userAccessTokensValidityPeriod",
  "clientAccessTokensValidityPeriod",
] as const;
/** The five fields of `ClientConfigurationParams`: the only ones this tool manages. */
export const MANAGED_FIELDS = [...CALLBACK_URL_FIELDS, ...VALIDITY_PERIOD_FIELDS] as const;
export type ManagedField = (typeof MANAGED_FIELDS)[number];

export const CALLBACK_URL_MAX_LENGTH = 512;
export const VALIDITY_PERIOD_MIN_SECONDS = 60;
export const VALIDITY_PERIOD_MAX_SECONDS = 2_147_483_647;

/** A machine-readable name for each rule, so that callers and tests can tell violations apart. */
export const RULES = [
  "json",
  "object",
  "duplicate-key",
  "unknown-key",
  "not-null",
  "type",
  "url",
  "https-on-live",
  "max-length",
  "integer",
  "range",
] as const;
export type Rule = (typeof RULES)[number];

export const violationSchema = z.object({
  /** The field path, `$` for the document itself. */
  path: z.string(),
  rule: z.enum(RULES),
  message: z.string(),
  /** Where the field's key (or the document, for `$`) stands in the text, 1-based; absent when not from a text. */
  line: z.optional(z.number()),
  column: z.optional(z.number()),
});
export type Violation = z.infer<typeof violationSchema>;

/* URL.parse would silently trim or percent-encode these; a document that has them holds a typo. */
function hasSpaceOrControlCharacter(text: string): boolean {
  return (
    /\s/.test(text) ||
    [...text].some((character) => {
      const code = character.charCodeAt(0);
      return code < 0x20 || code === 0x7f;
    })
  );
}

const ruleIssue = (rule: Rule, message: string) => ({ code: "custom" as const, message, params: { rule } });

/*
 * Messages never repeat the offending value: a callback URL may carry a secret in its path, and
 * validation errors end up in logs and CI output.
 */
function callbackUrl(environment: FinapiEnvironment) {
  return z
    .string({
      error: (issue) =>
        issue.input === null
          ? 'must not be null: use "" to clear it, or leave the field out to keep finAPI\'s value'
          : 'must be a string: an absolute http(s) URL, or "" to clear it',
    })
    .check((ctx) => {
      const url = ctx.value;
      if (url === "") return;
      if (url.length > CALLBACK_URL_MAX_LENGTH) {
        ctx.issues.push({
          ...ruleIssue(
            "max-length",
            `must be at most ${CALLBACK_URL_MAX_LENGTH} characters (it has ${url.length})`,
          ),
          input: url,
        });
      }
      const parsed = hasSpaceOrControlCharacter(url) ? undefined : URL.parse(url);
      if (
        !parsed ||
        (parsed.protocol !== "http:" && parsed.protocol !== "https:") ||
        parsed.hostname === ""
      ) {
        ctx.issues.push({
          ...ruleIssue("url", 'must be an absolute http:// or https:// URL, or "" to clear it'),
          input: url,
        });
        return;
      }
      if (environment === "live" && parsed.protocol !== "https:") {
        ctx.issues.push({
          ...ruleIssue(
            "https-on-live",
            "must use https on finAPI's live environment (http is allowed on sandbox and alpha only)",
          ),
          input: url,
        });
      }
    });
}

const validityPeriod = z
  .number({
    error: (issue) =>
      issue.input === null
        ? "must not be null: leave the field out to keep finAPI's value, or use 0 for tokens that never expire"
        : "must be a JSON number of seconds (not a string)",
  })
  .check((ctx) => {
    const seconds = ctx.value;
    if (!Number.isInteger(seconds)) {
      ctx.issues.push({ ...ruleIssue("integer", "must be a whole number of seconds"), input: seconds });
      return;
    }
    if (seconds !== 0 && (seconds < VALIDITY_PERIOD_MIN_SECONDS || seconds > VALIDITY_PERIOD_MAX_SECONDS)) {
      ctx.issues.push({
        ...ruleIssue(
          "range",
          `must be 0 (never expires) or ${VALIDITY_PERIOD_MIN_SECONDS}..${VALIDITY_PERIOD_MAX_SECONDS} seconds (it is ${seconds})`,
        ),
        input: seconds,
      });
    }
  });

function buildClientConfigurationParamsSchema(environment: FinapiEnvironment) {
  const url = callbackUrl(environment);
  return z.strictObject({
    userNotificationCallbackUrl: z.optional(url),
    userSynchronizationCallbackUrl: z.optional(url),
    refreshTokensValidityPeriod: z.optional(validityPeriod),
    userAccessTokensValidityPeriod: z.optional(validityPeriod),
    clientAccessTokensValidityPeriod: z.optional(validityPeriod),
  });
}

/*
 * One schema per environment, built on first use and kept: zod compiles an object schema's parser the
 * first time the schema parses, which takes milliseconds, so a schema built per validation paid that
 * for every document (several times per client in a reconcile run).
 */
const schemasByEnvironment = new Map<
  FinapiEnvironment,
  ReturnType<typeof buildClientConfigurationParamsSchema>
>();

/**
 * finAPI's `ClientConfigurationParams` as the seeds define it. A field left out is unmanaged: finAPI's
 * value stays. Validation depends on the environment because live accepts only https callback URLs.
 */
export function clientConfigurationParamsSchema(environment: FinapiEnvironment) {
  let schema = schemasByEnvironment.get(environment);
  if (!schema) {
    schema = buildClientConfigurationParamsSchema(environment);
    schemasByEnvironment.set(environment, schema);
  }
  return schema;
}

export type ClientConfigurationParams = z.infer<ReturnType<typeof clientConfigurationParamsSchema>>;

declare const validated: unique symbol;

/**
 * A desired-state document that passed validation for its finAPI environment (parseDesiredDocument or
 * validateDesiredState): what `reconcile` takes, so that a document is parsed and checked once.
 */
export type DesiredDocument = ClientConfigurationParams & { readonly [validated]: true };

export type ParseResult = Result<DesiredDocument, { violations: readonly Violation[] }>;

function formatPath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? "$" : path.map(String).join(".");
}

function violationsOf(issues: readonly z.core.$ZodIssue[], document: Record<string, unknown>): Violation[] {
  return issues.flatMap((issue): Violation[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => {
        const suggestion = nearestName(key, MANAGED_FIELDS);
        return {
          path: formatPath([...issue.path, key]),
          rule: "unknown-key",
          message: suggestion
            ? `is not a field of ClientConfigurationParams; did you mean "${suggestion}"?`
            : `is not a field of ClientConfigurationParams (the fields are ${MANAGED_FIELDS.join(", ")})`,
        };
      });
    }
    const path = formatPath(issue.path);
    if (issue.code === "custom") {
      return [{ path, rule: (issue.params?.rule as Rule | undefined) ?? "type", message: issue.message }];
    }
    if (issue.code === "invalid_type") {
      const isNull = issue.path.length === 1 && document[String(issue.path[0])] === null;
      return [{ path, rule: isNull ? "not-null" : "type", message: issue.message }];
    }
    return [{ path, rule: "type", message: issue.message }];
  });
}

/** Validates a value that is already parsed JSON. */
export function validateDesiredState(value: unknown, environment: FinapiEnvironment): ParseResult {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`;
    return {
      ok: false,
      violations: [
        {
          path: "$",
          rule: "object",
          message: `must be a JSON object with some of the fields ${MANAGED_FIELDS.join(", ")} (it is ${kind})`,
        },
      ],
    };
  }
  const result = clientConfigurationParamsSchema(environment).safeParse(value);
  return result.success
    ? { ok: true, value: result.data as DesiredDocument }
    : { ok: false, violations: violationsOf(result.error.issues, value as Record<string, unknown>) };
}

/*
 * JSON.parse's own messages quote a slice of the input, which could be a secret; only the position is
 * taken from them.
 */
function jsonViolation(text: string, error: unknown): Violation {
  const message = error instanceof Error ? error.message : "";
  const offset = /at position (\d+)/.exec(message)?.[1];
  const position = offset === undefined ? undefined : positionFinder(text)(Number(offset));
  const where = position ? ` at line ${position.line}, column ${position.column}` : "";
  const at = position ? { line: position.line, column: position.column } : {};
  if (message.includes("non-whitespace character after JSON")) {
    return { path: "$", rule: "json", message: `has unexpected text after the JSON object${where}`, ...at };
  }
  const endsEarly =
    message.includes("Unexpected end of JSON input") ||
    (offset !== undefined && Number(offset) >= text.trimEnd().length);
  if (endsEarly)
    return { path: "$", rule: "json", message: "is not valid JSON: it ends before the JSON object does" };
  return { path: "$", rule: "json", message: `is not valid JSON${where}`, ...at };
}

/**
 * Parses and validates a desired-state document (the text of an SSM parameter or a file). Every
 * violation carries the line and column of its field's key (of the document for `$`), and a key an
 * object repeats is a `duplicate-key` violation: JSON.parse would keep its last value silently.
 */
export function parseDesiredDocument(text: string, environment: FinapiEnvironment): ParseResult {
  const json = text.startsWith("\uFEFF") ? text.slice(1) : text;
  if (json.trim() === "") {
    return {
      ok: false,
      violations: [{ path: "$", rule: "json", message: "is empty: expected a JSON object such as {}" }],
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    return { ok: false, violations: [jsonViolation(json, error)] };
  }
  const { positions, repeated } = scanJsonKeys(json);
  const duplicates = repeated.map(
    ({ path, position, first }): Violation => ({
      path,
      rule: "duplicate-key",
      message: `appears more than once in its object (first at line ${first.line}, column ${first.column}); JSON keeps only the last value, so remove the others`,
      line: position.line,
      column: position.column,
    }),
  );
  const validated = validateDesiredState(value, environment);
  if (validated.ok && duplicates.length === 0) return validated;
  const located = (validated.ok ? [] : validated.violations).map((violation) => {
    const position = positions.get(violation.path);
    return position ? { ...violation, line: position.line, column: position.column } : violation;
  });
  return { ok: false, violations: [...duplicates, ...located] };
}

/**
 * One line per violation, `source:line:column: path message [rule]` (the position left out when the
 * violation has none, `source: ` too when there is no source), for logs and CLI output: the
 * `file:line:column:` prefix is what editors and CI annotations (problem matchers) read.
 */
export function formatViolations(violations: readonly Violation[], source?: string): string {
  return violations
    .map((violation) => {
      const at = !source
        ? ""
        : violation.line === undefined
          ? `${source}: `
          : `${source}:${violation.line}:${violation.column}: `;
      return `${at}${violation.path} ${violation.message} [${violation.rule}]`;
    })
    .join("\n");
}
