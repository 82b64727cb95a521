import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Context } from "aws-lambda";
import type { DeletionKey, UserDeletedDetail } from "./events.ts";
import type { DeletionPublisher } from "./forward.ts";

/*
 * Fixed rather than Powertools' default (the Lambda function's name), so that redeploying under a new
 * function name keeps recognising deletions already forwarded.
 */
export const IDEMPOTENCY_KEY_PREFIX = "finapi-user-deleted";

/** What the publish step itself did, whatever the idempotency layer around it then returned or threw. */
export type PublishAttempt =
  | { readonly state: "not-run" }
  | { readonly state: "published"; readonly eventId: string }
  | { readonly state: "failed"; readonly error: unknown };

/** The publish attempt, and what the idempotency-wrapped call threw (nothing on success or a duplicate). */
export interface DedupedPublish {
  readonly attempt: PublishAttempt;
  readonly thrown?: unknown;
}

/** Publishes a deletion unless the same (userId, event) was published within the window; never rejects. */
export type OnceForwarder = (
  detail: UserDeletedDetail,
  context: Context,
  signal?: AbortSignal,
) => Promise<DedupedPublish>;

export interface OnceForwarderOptions {
  readonly persistenceStore: BasePersistenceLayer;
  readonly ttlSeconds: number;
  readonly publish: DeletionPublisher;
}

/**
 * Powertools Idempotency around the publish step, keyed on (userId, event) only: the client and the
 * receive time differ between finAPI's deliveries of one deletion. A concurrent duplicate finds the
 * in-progress record (DynamoDB conditional put) and is not published; a failed publish deletes the
 * record, so that a repeat delivery is published rather than swallowed.
 */
export function createOnceForwarder(options: OnceForwarderOptions): OnceForwarder {
  const config = new IdempotencyConfig({ expiresAfterSeconds: options.ttlSeconds });
  const publishOnce = makeIdempotent(
    async (
      _key: DeletionKey,
      detail: UserDeletedDetail,
      report: (attempt: PublishAttempt) => void,
      signal: AbortSignal | undefined,
    ) => {
      try {
        const eventId = await options.publish(detail, signal);
        report({ state: "published", eventId });
        return { eventId };
      } catch (error) {
        report({ state: "failed", error });
        throw error;
      }
    },
    {
      persistenceStore: options.persistenceStore,
      config,
      keyPrefix: IDEMPOTENCY_KEY_PREFIX,
      dataIndexArgument: 0,
    },
  );

  return async (detail, context, signal) => {
    /* The in-progress record then expires with this invocation, so a crash cannot hold a deletion for the whole window. */
    config.registerLambdaContext(context);
    let attempt: PublishAttempt = { state: "not-run" };
    const report = (reported: PublishAttempt) => {
      attempt = reported;
    };
    try {
      await publishOnce({ userId: detail.userId, event: detail.event }, detail, report, signal);
      return { attempt };
    } catch (thrown) {
      return { attempt, thrown };
    }
  };
}
