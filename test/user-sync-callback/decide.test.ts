import {
  IdempotencyAlreadyInProgressError,
  IdempotencyPersistenceLayerError,
  IdempotencyRecordStatus,
  IdempotencyValidationError,
} from "@aws-lambda-powertools/idempotency";
import { IdempotencyRecord } from "@aws-lambda-powertools/idempotency/persistence";
import type { IdempotencyRecordOptions } from "@aws-lambda-powertools/idempotency/types";
import { describe, expect, it } from "vitest";
import { decideForward, describeError } from "../../functions/user-sync-callback/decide.ts";

describe("decideForward", () => {
  const publishError = new Error("EventBridge down");

  it("counts a publish that went through as forwarded", () => {
    expect(decideForward({ attempt: { state: "published", eventId: "e-1" } })).toEqual({
      outcome: "forwarded",
      eventId: "e-1",
    });
  });

  it("still counts it forwarded when only completing the record failed, and says so", () => {
    const thrown = new IdempotencyPersistenceLayerError("Failed to update success record", {
      cause: new Error("throttled"),
    });
    expect(decideForward({ attempt: { state: "published", eventId: "e-1" }, thrown })).toEqual({
      outcome: "forwarded-unrecorded",
      eventId: "e-1",
      problem: "IdempotencyPersistenceLayerError: Failed to update success record (cause: Error: throttled)",
    });
  });

  it("dead-letters a failed publish, the record released when Powertools rethrew the publish error", () => {
    expect(
      decideForward({ attempt: { state: "failed", error: publishError }, thrown: publishError }),
    ).toEqual({
      outcome: "dead-letter",
      reason: "forwarding failed: Error: EventBridge down",
      recordReleased: true,
    });
  });

  it("dead-letters a failed publish whose record could not be released, and says so", () => {
    const thrown = new IdempotencyPersistenceLayerError("Failed to delete record", { cause: new Error("x") });
    expect(decideForward({ attempt: { state: "failed", error: publishError }, thrown })).toMatchObject({
      outcome: "dead-letter",
      recordReleased: false,
    });
  });

  it("treats a call that did not publish and threw nothing as a duplicate of a completed forward", () => {
    expect(decideForward({ attempt: { state: "not-run" } })).toEqual({ outcome: "duplicate" });
  });

  it("reads a record in progress with this delivery's own id as its own, written by a call whose answer was lost", () => {
    const thrown = new IdempotencyAlreadyInProgressError("in progress");
    expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({ outcome: "own-record" });
  });

  describe("on a record with another delivery's id", () => {
    const otherDelivery = (
      status: IdempotencyRecordOptions["status"],
      extra: Partial<IdempotencyRecordOptions> = {},
    ) =>
      new IdempotencyValidationError(
        "Payload does not match stored record for this event key",
        new IdempotencyRecord({
          idempotencyKey: "finapi-user-deleted#key",
          status,
          expiryTimestamp: Date.now() / 1000 + 3600,
          payloadHash: "another delivery",
          ...extra,
        }),
      );

    it("treats a completed one as a duplicate", () => {
      const thrown = otherDelivery(IdempotencyRecordStatus.COMPLETED);
      expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({ outcome: "duplicate" });
    });

    it("waits on one in progress until its hold runs out at the latest", () => {
      const thrown = otherDelivery(IdempotencyRecordStatus.INPROGRESS, { inProgressExpiryTimestamp: 1_234 });
      expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({
        outcome: "held-elsewhere",
        staleAt: 1_234,
      });
    });

    it("looks again at once at an expired one", () => {
      const thrown = otherDelivery(IdempotencyRecordStatus.COMPLETED, { expiryTimestamp: 1 });
      expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({
        outcome: "held-elsewhere",
        staleAt: 0,
      });
    });

    it("dead-letters a deletion whose record has an unknown status, since it may be new", () => {
      /* A status written by a newer Powertools than this one. */
      const thrown = otherDelivery("PAUSED" as IdempotencyRecordOptions["status"]);
      expect(decideForward({ attempt: { state: "not-run" }, thrown })).toMatchObject({
        outcome: "dead-letter",
        recordReleased: true,
      });
    });
  });

  it("dead-letters a deletion whose duplicate check failed, since it may be new", () => {
    const thrown = new IdempotencyPersistenceLayerError("Failed to save in progress record", {
      cause: new Error("no such table"),
    });
    expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({
      outcome: "dead-letter",
      reason:
        "idempotency store failed: IdempotencyPersistenceLayerError: Failed to save in progress record (cause: Error: no such table)",
      recordReleased: true,
    });
  });
});

describe("describeError", () => {
  it("describes non-errors as text", () => {
    expect(describeError("plain")).toBe("plain");
  });
});
