import { jsonText, requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

export const CLIENT_NAME_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 7 * 24 * 60 * 60;
/** How long after a rotation the previous secret is still accepted: finAPI holds the old URL until config-sync registers the new one. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;
/* A leaked URL must stop working within a bounded time: a week at most. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 60 * 60;
/* A shorter window would let a fan-out delivery that was held up (a cold start, an outage) count as new. */
const MIN_IDEMPOTENCY_TTL_SECONDS = 60 * 60;

export const callbackClientNameSchema = z
  .string()
  .check(z.regex(CLIENT_NAME_PATTERN, { error: "a client name is 1..64 characters of a-z A-Z 0-9 - _" }));

export const callbackClientSchema = z.strictObject({
  name: callbackClientNameSchema,
  secretId: z
    .string()
    .check(z.minLength(1, { error: "secretId must name a Secrets Manager secret (name or ARN)" })),
});
export type CallbackClient = z.infer<typeof callbackClientSchema>;

/** The Lambda's environment, as the CDK stack sets it. */
export const callbackEnvironmentSchema = z.pipe(
  z.object({
    CALLBACK_CLIENTS: z.pipe(
      z.pipe(requiredVariable("must be a JSON array"), jsonText),
      z.array(callbackClientSchema, { error: 'must be a JSON array of {"name", "secretId"}' }).check(
        z.minLength(1, { error: "must name at least one client" }),
        z.refine((clients) => new Set(clients.map((client) => client.name)).size === clients.length, {
          error: "client names must be unique",
        }),
      ),
    ),
    IDEMPOTENCY_TABLE_NAME: requiredVariable("must be a DynamoDB table name"),
    IDEMPOTENCY_TTL_SECONDS: z._default(
      z.pipe(
        z.pipe(
          z.string().check(z.regex(/^\d+$/, { error: "must be a whole number of seconds" })),
          z.transform(Number),
        ),
        z
          .int()
          .check(
            z.gte(MIN_IDEMPOTENCY_TTL_SECONDS, { error: `must be at least ${MIN_IDEMPOTENCY_TTL_SECONDS}` }),
          ),
      ),
      DEFAULT_IDEMPOTENCY_TTL_SECONDS,
    ),
    SECRET_ROTATION_OVERLAP_SECONDS: z._default(
      z.pipe(
        z.pipe(
          z.string().check(z.regex(/^\d+$/, { error: "must be a whole number of seconds" })),
          z.transform(Number),
        ),
        z
          .int()
          .check(
            z.lte(MAX_ROTATION_OVERLAP_SECONDS, { error: `must be at most ${MAX_ROTATION_OVERLAP_SECONDS}` }),
          ),
      ),
      DEFAULT_ROTATION_OVERLAP_SECONDS,
    ),
    SECRET_DIGEST_KEY_ID: requiredVariable(
      "must name the KMS HMAC key of the kept secret digests (id or ARN)",
    ),
    EVENT_BUS_NAME: requiredVariable("must be an EventBridge bus name or ARN"),
    DEAD_LETTER_QUEUE_URL: z.pipe(
      requiredVariable("must be an SQS queue URL"),
      z.url({ error: "must be an SQS queue URL" }),
    ),
  }),
  z.transform((environment) => ({
    clients: environment.CALLBACK_CLIENTS,
    idempotencyTableName: environment.IDEMPOTENCY_TABLE_NAME,
    idempotencyTtlSeconds: environment.IDEMPOTENCY_TTL_SECONDS,
    secretRotationOverlapSeconds: environment.SECRET_ROTATION_OVERLAP_SECONDS,
    secretDigestKeyId: environment.SECRET_DIGEST_KEY_ID,
    eventBusName: environment.EVENT_BUS_NAME,
    deadLetterQueueUrl: environment.DEAD_LETTER_QUEUE_URL,
  })),
);
export type CallbackConfig = z.output<typeof callbackEnvironmentSchema>;

/**
 * Reads the configuration from the environment, or fails with one message that names every bad
 * variable and its rule (never a value: CALLBACK_CLIENTS holds only names, but habits matter).
 */
export function loadCallbackConfig(
  environment: Readonly<Record<string, string | undefined>>,
): CallbackConfig {
  const result = callbackEnvironmentSchema.safeParse(environment);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const [variable, ...rest] = issue.path.map(String);
    const where = rest.length > 0 ? `${variable} [${rest.join(".")}]` : variable;
    return `${where}: ${issue.message}`;
  });
  throw new Error(`user-sync-callback configuration is invalid: ${problems.join("; ")}`);
}
