import type { Result } from "../commons/result.ts";
import { PARAMETER_OPERATIONS } from "../contracts/config-sync.ts";
import { nearestName } from "../finapi/nearest-name.ts";
import { describeIssues } from "../validation/issues.ts";
import * as z from "../validation/zod.ts";

/** EventBridge's "Parameter Store Change": it only names the parameter; the value is read afresh. */
export const parameterStoreChangeEventSchema = z.pipe(
  z.object({
    source: z.literal("aws.ssm"),
    "detail-type": z.literal("Parameter Store Change"),
    detail: z.object({
      name: z.string().check(z.minLength(1, { error: "must name the parameter" })),
      type: z.enum(["String", "StringList", "SecureString"]),
      operation: z.enum(PARAMETER_OPERATIONS),
      description: z.optional(z.string()),
    }),
  }),
  z.transform((event) => ({
    kind: "parameter-change" as const,
    parameterName: event.detail.name,
    operation: event.detail.operation,
  })),
);

/** The reconcile schedule's EventBridge event: every configured client. */
export const scheduledEventSchema = z.pipe(
  z.object({ source: z.literal("aws.events"), "detail-type": z.literal("Scheduled Event") }),
  z.transform(() => ({ kind: "schedule" as const })),
);

const MANUAL_FIELDS = ["client", "dryRun", "document"] as const;

/**
 * `{"client"?: name, "dryRun"?: boolean, "document"?: {...}}`, e.g. `aws lambda invoke --payload
 * '{"client":"acme"}'`. A `document` asks how finAPI differs from that document instead of the stored
 * one (a pull request's plan): only for one client and only as a dry run, so it is never applied or stored.
 */
export const manualInvokeSchema = z.pipe(
  z
    .strictObject(
      {
        client: z.optional(z.string().check(z.minLength(1, { error: "must name a configured client" }))),
        dryRun: z.optional(z.boolean({ error: "must be true or false" })),
        document: z.optional(
          z.record(z.string(), z.unknown(), { error: "must be a JSON object (the desired-state document)" }),
        ),
      },
      { error: 'must be a JSON object {"client"?: string, "dryRun"?: boolean, "document"?: object}' },
    )
    .check(
      z.refine(
        (invoke) => invoke.document === undefined || (invoke.client !== undefined && invoke.dryRun === true),
        {
          error: 'a document is compared for one client in a dry run only: set "client" and "dryRun": true',
          path: ["document"],
        },
      ),
    ),
  z.transform((invoke) => ({
    kind: "manual" as const,
    ...(invoke.client === undefined ? {} : { client: invoke.client }),
    dryRun: invoke.dryRun ?? false,
    ...(invoke.document === undefined ? {} : { document: JSON.stringify(invoke.document) }),
  })),
);

export type Invocation =
  | z.output<typeof parameterStoreChangeEventSchema>
  | z.output<typeof scheduledEventSchema>
  | z.output<typeof manualInvokeSchema>;

export type ParsedInvocation = Result<Invocation, { reason: string }>;

function unknownManualField(key: string): string {
  const suggestion = nearestName(key, MANUAL_FIELDS);
  return `"${key}" is not a field${suggestion ? `; did you mean "${suggestion}"?` : ` (the fields are ${MANUAL_FIELDS.join(", ")})`}`;
}

function parseWith<T extends Invocation>(
  schema: z.ZodMiniType<T>,
  event: unknown,
  what: string,
): ParsedInvocation {
  const result = schema.safeParse(event);
  return result.success
    ? { ok: true, value: result.data }
    : {
        ok: false,
        reason: `${what}: ${describeIssues(result.error.issues, { unknownKey: unknownManualField }).join("; ")}`,
      };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Tells the three inputs apart and validates the one it is. An object with an EventBridge `source` or
 * `detail-type` is an event; any other object is a manual invoke. Everything else is rejected with a
 * reason that names the field and the rule (never a value).
 */
export function parseInvocation(event: unknown): ParsedInvocation {
  if (!isRecord(event)) {
    return parseWith(manualInvokeSchema, event, "not a config-sync input");
  }
  if (!("source" in event) && !("detail-type" in event)) {
    return parseWith(manualInvokeSchema, event, "not a valid manual invoke");
  }
  if (event.source === "aws.ssm") {
    return parseWith(parameterStoreChangeEventSchema, event, "not a valid Parameter Store Change event");
  }
  if (event.source === "aws.events") {
    return parseWith(scheduledEventSchema, event, "not a valid scheduled event");
  }
  return {
    ok: false,
    reason:
      'not a config-sync input: source must be "aws.ssm" (Parameter Store Change) or "aws.events" (Scheduled Event)',
  };
}
