import type { CallbackClient } from "../contracts/callback-environment.ts";
import {
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  MAX_ROTATION_OVERLAP_SECONDS,
} from "../contracts/callback-secret.ts";
import {
  CLIENT_REGISTRY_PATH_VARIABLE,
  callbackRegistrySchema,
  loadWithClientRegistry,
} from "../contracts/client-registry.ts";
import { DEFAULT_FAN_OUT_WINDOW_SECONDS, MIN_FAN_OUT_WINDOW_SECONDS } from "../contracts/user-deletion.ts";
import { type Environment, requiredVariable } from "../validation/environment.ts";
import * as z from "../validation/zod.ts";

export type { CallbackClient } from "../contracts/callback-environment.ts";

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
    CALLBACK_ROOT_SECRET_ID: requiredVariable(
      "must name the Secrets Manager secret the clients' path secrets are derived from (name or ARN)",
    ),
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
    rootSecretId: environment.CALLBACK_ROOT_SECRET_ID,
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
export function loadCallbackConfig(environment: Environment): CallbackConfig {
  return loadWithClientRegistry(
    "user-sync-callback",
    callbackEnvironmentSchema,
    callbackRegistrySchema,
    environment,
  );
}
