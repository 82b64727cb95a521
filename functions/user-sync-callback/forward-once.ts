import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { IdempotencyConfig, makeIdempotent } from "@aws-lambda-powertools/idempotency";
import type { BasePersistenceLayer } from "@aws-lambda-powertools/idempotency/persistence";
import type { Context } from "aws-lambda";
import { decideForward, describeError, type ForwardDecision } from "./decide.ts";
import type { DeliveryKey, UserDeletedDetail } from "./events.ts";
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

/**
 * Publishes a deletion unless the same (userId, event) was published within the window, and says what
 * came of it; never rejects. `signal` is the publish deadline: when it aborts, what is still unsettled
 * is left to the dead-letter queue.
 */
export type OnceForwarder = (
  detail: UserDeletedDetail,
  context: Context,
  signal?: AbortSignal,
) => Promise<ForwardDecision>;

export interface OnceForwarderOptions {
  readonly persistenceStore: BasePersistenceLayer;
  readonly ttlSeconds: number;
  readonly publish: DeletionPublisher;
  /**
   * How long a delivery waits for another delivery's in-progress record to settle when it has no
   * deadline of its own (no Lambda context).
   * @default 5000
   */
  readonly maxWaitMs?: number;
}

const DEFAULT_MAX_WAIT_MS = 5_000;
const FIRST_LOOK_AFTER_MS = 50;
const MAX_LOOK_INTERVAL_MS = 1_000;

/*
 * The key selection spells out (userId, event) so that the stored key is the same hash as that of the
 * payload `{userId, event}` itself: records written before deliveries carried an id still match.
 */
const idempotencyConfig = (ttlSeconds: number) =>
  new IdempotencyConfig({
    expiresAfterSeconds: ttlSeconds,
    eventKeyJmesPath: "{userId: userId, event: event}",
    payloadValidationJmesPath: "delivery",
    throwOnNoIdempotencyKey: true,
  });

/**
 * Powertools Idempotency around the publish step, keyed on (userId, event) only: the client and the
 * receive time differ between finAPI's deliveries of one deletion. A failed publish deletes the record,
 * so that a repeat delivery is published rather than swallowed.
 *
 * A record "in progress" is not taken as proof that the deletion was forwarded: finAPI never repeats a
 * delivery, so a delivery that finds one waits, looking again with consistent reads, until it is
 * completed (a duplicate), released or stale (this delivery publishes), or the deadline comes (the
 * deletion goes to the dead-letter queue). Finding its own record — written by a call whose answer was
 * lost and then retried by the SDK — it releases it and tries again.
 */
export function createOnceForwarder(options: OnceForwarderOptions): OnceForwarder {
  const config = idempotencyConfig(options.ttlSeconds);
  const publishOnce = makeIdempotent(
    async (
      _key: DeliveryKey,
      detail: UserDeletedDetail,
      report: (attempt: PublishAttempt) => void,
      signal: AbortSignal,
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

  const attemptOnce = async (
    key: DeliveryKey,
    detail: UserDeletedDetail,
    signal: AbortSignal,
  ): Promise<DedupedPublish> => {
    let attempt: PublishAttempt = { state: "not-run" };
    const report = (reported: PublishAttempt) => {
      attempt = reported;
    };
    try {
      await publishOnce(key, detail, report, signal);
      return { attempt };
    } catch (thrown) {
      return { attempt, thrown };
    }
  };

  return async (detail, context, signal) => {
    /* The in-progress record then expires with this invocation, so a crash cannot hold a deletion for the whole window. */
    config.registerLambdaContext(context);
    const deadline = signal ?? AbortSignal.timeout(options.maxWaitMs ?? DEFAULT_MAX_WAIT_MS);
    const key: DeliveryKey = { userId: detail.userId, event: detail.event, delivery: randomUUID() };
    for (let look = 0; ; look++) {
      const verdict = decideForward(await attemptOnce(key, detail, deadline));
      switch (verdict.outcome) {
        case "own-record":
          try {
            await options.persistenceStore.deleteRecord(key);
          } catch (error) {
            return {
              outcome: "dead-letter",
              reason: `idempotency store failed: ${describeError(error)}`,
              recordReleased: false,
            };
          }
          break;
        case "held-elsewhere": {
          const backoffMs = Math.min(FIRST_LOOK_AFTER_MS * 2 ** look, MAX_LOOK_INTERVAL_MS);
          const untilStaleMs = verdict.staleAt === undefined ? backoffMs : verdict.staleAt - Date.now() + 1;
          try {
            await sleep(Math.max(0, Math.min(backoffMs, untilStaleMs)), undefined, { signal: deadline });
          } catch {
            /* The deadline: the sleep rejects with it. */
          }
          break;
        }
        default:
          return verdict;
      }
      if (deadline.aborted) {
        return {
          outcome: "dead-letter",
          reason:
            verdict.outcome === "own-record"
              ? "no time left to publish after releasing this delivery's own record"
              : "another delivery holds the deletion and did not settle it before this delivery's deadline",
          recordReleased: true,
        };
      }
    }
  };
}
