import {
  IdempotencyAlreadyInProgressError,
  IdempotencyPersistenceLayerError,
} from "@aws-lambda-powertools/idempotency";
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
    expect(decideForward({ attempt: { state: "not-run" } })).toEqual({
      outcome: "duplicate",
      of: "completed",
    });
  });

  it("treats a record in progress as a duplicate of a forward under way", () => {
    const thrown = new IdempotencyAlreadyInProgressError("in progress");
    expect(decideForward({ attempt: { state: "not-run" }, thrown })).toEqual({
      outcome: "duplicate",
      of: "in-progress",
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
