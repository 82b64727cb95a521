import type { CallbackClient } from "../contracts/callback-environment.ts";
import {
  CLIENT_REGISTRY_PATH_VARIABLE,
  callbackRegistrySchema,
  clientRegistryPath,
  readClientRegistry,
} from "../contracts/client-registry.ts";
import {
  DEFAULT_FAN_OUT_WINDOW_SECONDS,
  MIN_FAN_OUT_WINDOW_SECONDS,
  NAME_PATTERN,
} from "../contracts/user-deletion.ts";
import { requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

export type { CallbackClient } from "../contracts/callback-environment.ts";

/** What a configured client's name must look like (it appears in the callback URL's path). */
export const CLIENT_NAME_PATTERN = NAME_PATTERN;

/** How long after a rotation the previous secret is still accepted: finAPI holds the old URL until config-sync registers the new one. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;
/* A leaked URL must stop working within a bounded time: a week at most. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 60 * 60;

const wholeSeconds = z.pipe(
  z.string().check(z.regex(/^\d+$/, { error: "must be a whole number of seconds" })),
  z.transform(Number),
);

/* SendMessage with a message group and a deduplication id is refused by a standard queue. */
const fifoQueueUrl = z.pipe(
  requiredVariable("must be an SQS FIFO queue URL"),
  z
    .url({ error: "must be an SQS FIFO queue URL" })
    .check(z.regex(/\.fifo$/, { error: "must be an SQS FIFO queue URL (the queue name ends in .fifo)" })),
);

/** The Lambda's environment, as the CDK stack sets it. */
export const callbackEnvironmentSchema = z.pipe(
  z.object({
    [CLIENT_REGISTRY_PATH_VARIABLE]: z.optional(z.string()),
    DELETIONS_TABLE_NAME: requiredVariable("must be a DynamoDB table name"),
    DELETION_QUEUE_URL: fifoQueueUrl,
    DEAD_LETTER_QUEUE_URL: fifoQueueUrl,
    FAN_OUT_WINDOW_SECONDS: z._default(
      z.pipe(
        wholeSeconds,
        z
          .int()
          .check(
            z.gte(MIN_FAN_OUT_WINDOW_SECONDS, { error: `must be at least ${MIN_FAN_OUT_WINDOW_SECONDS}` }),
          ),
      ),
      DEFAULT_FAN_OUT_WINDOW_SECONDS,
    ),
    SECRET_ROTATION_OVERLAP_SECONDS: z._default(
      z.pipe(
        wholeSeconds,
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
  }),
  z.transform((environment) => ({
    deletionsTableName: environment.DELETIONS_TABLE_NAME,
    deletionQueueUrl: environment.DELETION_QUEUE_URL,
    deadLetterQueueUrl: environment.DEAD_LETTER_QUEUE_URL,
    fanOutWindowSeconds: environment.FAN_OUT_WINDOW_SECONDS,
    secretRotationOverlapSeconds: environment.SECRET_ROTATION_OVERLAP_SECONDS,
    secretDigestKeyId: environment.SECRET_DIGEST_KEY_ID,
  })),
);
export type CallbackConfig = z.output<typeof callbackEnvironmentSchema> & {
  /** Every client whose callback the stack hosts, from the client registry. */
  readonly clients: CallbackClient[];
};

/**
 * Reads the configuration from the environment and the client registry, or fails with one message
 * that names every bad variable or registry field and its rule (never a value: the registry holds
 * only names, but habits matter).
 */
export function loadCallbackConfig(
  environment: Readonly<Record<string, string | undefined>>,
): CallbackConfig {
  const result = callbackEnvironmentSchema.safeParse(environment);
  const reading = readClientRegistry(callbackRegistrySchema, clientRegistryPath(environment));
  const problems = [
    ...(result.success
      ? []
      : result.error.issues.map((issue) => {
          const [variable, ...rest] = issue.path.map(String);
          const where = rest.length > 0 ? `${variable} [${rest.join(".")}]` : variable;
          return `${where}: ${issue.message}`;
        })),
    ...(reading.problems ?? []),
  ];
  if (!result.success || reading.registry === undefined || problems.length > 0) {
    throw new Error(`user-sync-callback configuration is invalid: ${problems.join("; ")}`);
  }
  return { ...result.data, clients: reading.registry.clients };
}
