import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { CallbackOutcome } from "../../local/activity.ts";
import type { InvokeResult } from "../../local/lambda-runtime.ts";
import { callbackActivity, callbackOutcomeOf, syncActivities } from "../../local/observations.ts";

/* Each outcome's log lines, in the shape Powertools Logger and Metrics write them in Lambda. */
const invocations = JSON.parse(
  readFileSync(new URL("../fixtures/local/callback-invocations.json", import.meta.url), "utf8"),
) as Record<CallbackOutcome, string[]>;

const invoked = (payload: unknown): InvokeResult => ({
  ok: true,
  requestId: "r-1",
  payload,
  logLines: [],
  durationMs: 1,
  coldStart: false,
});

describe("callbackOutcomeOf", () => {
  it.each([
    ["forwarded", "live"],
    ["duplicate", "sandbox"],
    ["invalid", "live"],
    ["ignored-event", "live"],
    ["dead-lettered", "live"],
  ] as const)("reads %s and the client from the metric the request counted", (outcome, client) => {
    expect(callbackOutcomeOf(invocations[outcome])).toEqual({ outcome, client });
  });

  it("reads an unauthenticated request, which names no client", () => {
    expect(callbackOutcomeOf(invocations.unauthenticated)).toEqual({ outcome: "unauthenticated" });
  });

  it("takes the failed dead letter, counted after the failed forward, as the outcome", () => {
    expect(callbackOutcomeOf(invocations.lost)).toEqual({ outcome: "lost", client: "live" });
  });

  it("calls a request that counted no outcome failed", () => {
    expect(callbackOutcomeOf(invocations.failed)).toEqual({ outcome: "failed" });
    expect(callbackOutcomeOf([])).toEqual({ outcome: "failed" });
  });
});

describe("callbackActivity", () => {
  const exchange = (body: string, logLines: string[]) => ({
    method: "POST",
    rawPath: "/user-sync/live/secret",
    body,
    status: 202,
    result: {
      ok: true as const,
      requestId: "r-1",
      payload: { statusCode: 202 },
      logLines,
      durationMs: 1,
      coldStart: false,
    },
  });

  it("names the status, the outcome, the client and the deleted user", () => {
    expect(callbackActivity(exchange('{"userId":"u-1","event":"DELETED"}', invocations.forwarded))).toEqual({
      kind: "callback",
      status: 202,
      outcome: "forwarded",
      client: "live",
      userId: "u-1",
    });
  });

  it("leaves out a user id that is not a valid finAPI user id, since the body is untrusted", () => {
    const activity = callbackActivity(
      exchange('{"userId":"<script>","event":"DELETED"}', invocations.invalid),
    );
    expect(activity).not.toHaveProperty("userId");
  });

  it("reports a request the Function URL refused before the function ran as invalid", () => {
    expect(
      callbackActivity({ method: "POST", rawPath: "/x", body: "", status: 413, result: undefined }),
    ).toEqual({ kind: "callback", status: 413, outcome: "invalid" });
  });
});

describe("syncActivities", () => {
  it("gives one sync activity per reconciled client, with the trigger", () => {
    const results = [
      { client: "live", outcome: "in-sync", finapiRequestId: "f-1" },
      {
        client: "sandbox",
        outcome: "applied",
        changes: [{ field: "clientAccessTokensValidityPeriod", from: 7200, to: 3600 }],
        finapiRequestId: "f-2",
      },
    ];
    expect(syncActivities("schedule", invoked({ results }))).toEqual(
      results.map((result) => ({ kind: "sync", trigger: "schedule", result })),
    );
  });

  it("reports a run that reconciled nothing with its reason", () => {
    expect(
      syncActivities("parameter-change", invoked({ results: [], ignored: "the parameter was deleted" })),
    ).toEqual([{ kind: "sync-skipped", trigger: "parameter-change", reason: "the parameter was deleted" }]);
    expect(
      syncActivities("manual", invoked({ results: [], rejected: "client: no configured client" })),
    ).toEqual([{ kind: "sync-skipped", trigger: "manual", reason: "client: no configured client" }]);
  });

  it("names the client a parameter change was for, also when nothing was reconciled or the run failed", () => {
    expect(
      syncActivities(
        "parameter-change",
        invoked({ results: [], ignored: "the parameter was deleted" }),
        "sandbox",
      ),
    ).toEqual([
      {
        kind: "sync-skipped",
        trigger: "parameter-change",
        reason: "the parameter was deleted",
        client: "sandbox",
      },
    ]);
    expect(syncActivities("parameter-change", invoked("ok"), "live")).toEqual([
      {
        kind: "sync-failed",
        trigger: "parameter-change",
        error: "config-sync answered with something that is not its response",
        client: "live",
      },
    ]);
  });

  it("reports a failed invocation with Lambda's error type and message", () => {
    const failed: InvokeResult = {
      ok: false,
      requestId: "r-1",
      errorType: "TransientSyncFailure",
      errorMessage: "1 of 2 client(s) failed transiently (live)",
      logLines: [],
      durationMs: 1,
      coldStart: false,
    };
    expect(syncActivities("schedule", failed)).toEqual([
      {
        kind: "sync-failed",
        trigger: "schedule",
        error: "TransientSyncFailure: 1 of 2 client(s) failed transiently (live)",
      },
    ]);
  });

  it("reports an answer that is not config-sync's response as a failure", () => {
    expect(syncActivities("schedule", invoked("ok"))).toEqual([
      {
        kind: "sync-failed",
        trigger: "schedule",
        error: "config-sync answered with something that is not its response",
      },
    ]);
  });
});
