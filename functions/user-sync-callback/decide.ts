import {
  IdempotencyAlreadyInProgressError,
  IdempotencyRecordStatus,
  IdempotencyValidationError,
} from "@aws-lambda-powertools/idempotency";
import type { DedupedPublish } from "./forward-once.ts";

/** What the callback does after the deduplicated publish, and so what it logs, counts and answers. */
export type ForwardDecision =
  | { readonly outcome: "forwarded"; readonly eventId: string }
  /* Published, but the record could not be marked complete: a repeat after its in-progress expiry publishes again. */
  | { readonly outcome: "forwarded-unrecorded"; readonly eventId: string; readonly problem: string }
  | { readonly outcome: "duplicate" }
  /* `recordReleased`: no in-progress record of this delivery is left behind to hold up repeats. */
  | { readonly outcome: "dead-letter"; readonly reason: string; readonly recordReleased: boolean };

/** One look at the idempotency record that did not settle the deletion: look again. */
export type AttemptVerdict =
  | ForwardDecision
  /* This delivery's own in-progress record, written by a call whose answer was lost (the SDK retried it). */
  | { readonly outcome: "own-record" }
  /* Another delivery is publishing it; `staleAt` (epoch ms) is when its hold on the record runs out. */
  | { readonly outcome: "held-elsewhere"; readonly staleAt: number | undefined };

/** `Name: message (cause: Name: message)`, the form errors take in logs and dead letters. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = `${error.name}: ${error.message}`;
  return error.cause === undefined ? text : `${text} (cause: ${describeError(error.cause)})`;
}

function existingRecordVerdict(error: IdempotencyValidationError): AttemptVerdict | undefined {
  const record = error.existingRecord;
  if (record === undefined) return undefined;
  try {
    switch (record.getStatus()) {
      case IdempotencyRecordStatus.COMPLETED:
        return { outcome: "duplicate" };
      case IdempotencyRecordStatus.INPROGRESS:
        return { outcome: "held-elsewhere", staleAt: record.inProgressExpiryTimestamp };
      case IdempotencyRecordStatus.EXPIRED:
        return { outcome: "held-elsewhere", staleAt: 0 };
    }
  } catch {
    return undefined;
  }
}

/**
 * Reads one attempt. Each delivery stamps the record with its own delivery id (Powertools' payload
 * validation), so a record that fails validation is another delivery's, and one reported "already in
 * progress" is this delivery's own.
 */
export function decideForward({ attempt, thrown }: DedupedPublish): AttemptVerdict {
  switch (attempt.state) {
    case "published":
      return thrown === undefined
        ? { outcome: "forwarded", eventId: attempt.eventId }
        : { outcome: "forwarded-unrecorded", eventId: attempt.eventId, problem: describeError(thrown) };
    case "failed":
      /* Powertools rethrows the publish error itself only once it has deleted the record. */
      return {
        outcome: "dead-letter",
        reason: `forwarding failed: ${describeError(attempt.error)}`,
        recordReleased: thrown === attempt.error,
      };
    case "not-run": {
      if (thrown === undefined) return { outcome: "duplicate" };
      if (thrown instanceof IdempotencyAlreadyInProgressError) return { outcome: "own-record" };
      const verdict =
        thrown instanceof IdempotencyValidationError ? existingRecordVerdict(thrown) : undefined;
      /* Whether it is a duplicate is unknown; a dead letter may be redriven, a lost deletion cannot. */
      return (
        verdict ?? {
          outcome: "dead-letter",
          reason: `idempotency store failed: ${describeError(thrown)}`,
          recordReleased: true,
        }
      );
    }
  }
}
