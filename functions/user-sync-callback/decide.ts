import { IdempotencyAlreadyInProgressError } from "@aws-lambda-powertools/idempotency";
import type { DedupedPublish } from "./forward-once.ts";

/** What the callback does after the deduplicated publish, and so what it logs, counts and answers. */
export type ForwardDecision =
  | { readonly outcome: "forwarded"; readonly eventId: string }
  /* Published, but the record could not be marked complete: a repeat after its in-progress expiry publishes again. */
  | { readonly outcome: "forwarded-unrecorded"; readonly eventId: string; readonly problem: string }
  | { readonly outcome: "duplicate"; readonly of: "completed" | "in-progress" }
  | { readonly outcome: "dead-letter"; readonly reason: string; readonly recordReleased: boolean };

/** `Name: message (cause: Name: message)`, the form errors take in logs and dead letters. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const text = `${error.name}: ${error.message}`;
  return error.cause === undefined ? text : `${text} (cause: ${describeError(error.cause)})`;
}

export function decideForward({ attempt, thrown }: DedupedPublish): ForwardDecision {
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
    case "not-run":
      if (thrown === undefined) return { outcome: "duplicate", of: "completed" };
      if (thrown instanceof IdempotencyAlreadyInProgressError)
        return { outcome: "duplicate", of: "in-progress" };
      /* Whether it is a duplicate is unknown; a dead letter may be redriven, a lost deletion cannot. */
      return {
        outcome: "dead-letter",
        reason: `idempotency store failed: ${describeError(thrown)}`,
        recordReleased: true,
      };
  }
}
