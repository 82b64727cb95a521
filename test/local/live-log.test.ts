import { describe, expect, it } from "vitest";
import type { ClientResult } from "../../functions/config-sync/app.ts";
import type { Activity } from "../../local/activity.ts";
import { formatActivity } from "../../local/live-log.ts";

const AT = new Date("2026-11-21T10:16:48.000Z");
const TIME = AT.toTimeString().slice(0, 8);
const SECRET = "Zq81nB2xLm4Kp0Vw7Yt3Rs6Ud9Fe5Hc1Ja8Gb2N";
const CALLBACK_URL = `http://127.0.0.1:4011/user-sync/sandbox/${SECRET}`;

const show = (activity: Activity, secrets: readonly string[] = [SECRET]) =>
  formatActivity(activity, secrets, AT);

describe("formatActivity", () => {
  it("shows an applied sync with its diff below, terraform-style", () => {
    const text = show({
      kind: "sync",
      trigger: "parameter-change",
      result: {
        client: "sandbox",
        outcome: "applied",
        changes: [
          { field: "userSynchronizationCallbackUrl", from: null, to: CALLBACK_URL },
          { field: "refreshTokensValidityPeriod", from: 3600, to: 2592000 },
        ],
        finapiRequestId: "f-1",
      },
    });
    expect(text).toBe(
      [
        `${TIME}  sync      sandbox    applied 2 change(s) [parameter-change]`,
        '                ~ userSynchronizationCallbackUrl: null -> "http://127.0.0.1:4011/user-sync/sandbox/***"',
        "                ~ refreshTokensValidityPeriod: 3600 -> 2592000",
      ].join("\n"),
    );
  });

  it("shows an invalid document with every violation, its path and rule", () => {
    const text = show({
      kind: "sync",
      trigger: "parameter-change",
      result: {
        client: "live",
        outcome: "invalid",
        violations: [
          {
            path: "refreshTokensValidityPeriod",
            rule: "range",
            message: "must be 0 or 60..2147483647 seconds",
          },
          { path: "clientAccesTokensValidityPeriod", rule: "unknown-key", message: "is not a field" },
        ],
      },
    });
    expect(text).toBe(
      [
        `${TIME}  sync      live       invalid document refused; finAPI was not called [parameter-change]`,
        "                refreshTokensValidityPeriod must be 0 or 60..2147483647 seconds [range]",
        "                clientAccesTokensValidityPeriod is not a field [unknown-key]",
      ].join("\n"),
    );
  });

  it("shows finAPI's rejection with its status, messages and request id", () => {
    const text = show({
      kind: "sync",
      trigger: "schedule",
      result: {
        client: "live",
        outcome: "rejected",
        status: 400,
        message: "finAPI rejected the PATCH",
        finapiErrors: [{ message: "userNotificationCallbackUrl: must be an https URL", code: "BAD_REQUEST" }],
        finapiRequestId: "f-9",
      },
    });
    expect(text).toContain("rejected by finAPI (400): finAPI rejected the PATCH [schedule]");
    expect(text).toContain("BAD_REQUEST: userNotificationCallbackUrl: must be an https URL");
    expect(text).toContain("finAPI request id f-9");
  });

  it.each([
    [{ client: "live", outcome: "in-sync", finapiRequestId: "f" }, "in sync, nothing to change [schedule]"],
    [
      { client: "live", outcome: "drift-reported", changes: [], dryRun: false, finapiRequestId: "f" },
      "drift reported, not patched (report-only) [schedule]",
    ],
    [
      { client: "live", outcome: "failed", message: "finAPI is unavailable", retryable: true },
      "failed (retryable): finAPI is unavailable [schedule]",
    ],
  ] satisfies [ClientResult, string][])("shows the outcome %o in one line", (result, expected) => {
    expect(show({ kind: "sync", trigger: "schedule", result })).toBe(
      `${TIME}  sync      live       ${expected}`,
    );
  });

  it("shows finAPI's callback with the path secret masked, and a failed one as not retried", () => {
    const delivery = {
      clientId: "local-sandbox",
      userBase: "sandbox",
      url: CALLBACK_URL,
      userId: "u-1",
      event: "DELETED" as const,
    };
    expect(show({ kind: "finapi-callback", client: "sandbox", delivery: { ...delivery, status: 202 } })).toBe(
      `${TIME}  finAPI    sandbox    user u-1 of user base sandbox deleted → POST http://127.0.0.1:4011/user-sync/sandbox/*** → 202`,
    );
    const failed = show(
      {
        kind: "finapi-callback",
        client: "sandbox",
        delivery: { ...delivery, error: "could not connect (ECONNREFUSED)" },
      },
      [],
    );
    expect(failed).toContain("→ failed: could not connect (ECONNREFUSED) (not retried)");
    expect(failed).not.toContain(SECRET);
  });

  it.each([
    ["forwarded", "user u-1: handed to the deletion queue (202)"],
    ["duplicate", "user u-1: duplicate, not forwarded again (202)"],
    ["dead-lettered", "user u-1: not forwarded: kept in the dead-letter queue (202)"],
    ["ignored-event", "user u-1: ignored: only DELETED is forwarded (202)"],
  ] as const)("shows a %s callback", (outcome, expected) => {
    expect(show({ kind: "callback", status: 202, outcome, client: "live", userId: "u-1" })).toBe(
      `${TIME}  callback  live       ${expected}`,
    );
  });

  it("shows a refused callback without a client, since its path is not trusted", () => {
    expect(show({ kind: "callback", status: 404, outcome: "unauthenticated" })).toBe(
      `${TIME}  callback  -          refused: no such client and secret (404)`,
    );
  });

  it("shows the forwarded event as consumers receive it", () => {
    const text = show({
      kind: "deletion-forwarded",
      event: {
        eventId: "e-1",
        eventBusName: "finapi-user-sync",
        source: "finapi.user-sync",
        detailType: "finAPI User Deleted",
        detail: { userId: "u-1", event: "DELETED", client: "live", receivedAt: "2026-11-21T10:16:48.000Z" },
        time: "2026-11-21T10:16:48.000Z",
      },
    });
    expect(text).toBe(
      `${TIME}  event     live       "finAPI User Deleted" on bus finapi-user-sync: {"userId":"u-1","event":"DELETED","client":"live","receivedAt":"2026-11-21T10:16:48.000Z"}`,
    );
  });

  it("shows Parameter Store changes, refused files, the schedule and runs that reconciled nothing", () => {
    expect(
      show({
        kind: "parameter-change",
        client: "live",
        parameterName: "/finapi-config-sync/live",
        operation: "Update",
      }),
    ).toBe(
      `${TIME}  params    live       Parameter Store Change: Update /finapi-config-sync/live → config-sync`,
    );
    expect(
      show({
        kind: "parameter-file-rejected",
        client: "live",
        file: ".local-state/parameters/live.json",
        reason: "Parameter Store refused it: Parameter value must be 1 to 4096 characters",
      }),
    ).toContain(".local-state/parameters/live.json not put: Parameter Store refused it");
    expect(show({ kind: "schedule" })).toBe(
      `${TIME}  schedule  -          Scheduled Event → config-sync (every client)`,
    );
    expect(
      show({
        kind: "sync-skipped",
        trigger: "parameter-change",
        reason: "the parameter was deleted",
        client: "sandbox",
      }),
    ).toBe(`${TIME}  sync      sandbox    nothing reconciled: the parameter was deleted [parameter-change]`);
    expect(show({ kind: "sync-skipped", trigger: "manual", reason: "client: no configured client" })).toBe(
      `${TIME}  sync      -          nothing reconciled: client: no configured client [manual]`,
    );
    expect(
      show({ kind: "sync-failed", trigger: "schedule", error: "Sandbox.Timedout: Task timed out" }),
    ).toContain("invocation failed: Sandbox.Timedout: Task timed out [schedule]");
  });

  it("says how to add the client a parameter file of no client is named after, or why it cannot be one", () => {
    expect(
      show({
        kind: "parameter-file-unknown",
        file: ".local-state/parameters/acme.json",
        client: "acme",
        example: "examples/acme.json",
      }),
    ).toBe(
      `${TIME}  params    acme       .local-state/parameters/acme.json is no client's parameter: to add client acme, put its document into examples/acme.json and restart npm start`,
    );
    expect(
      show({
        kind: "parameter-file-unknown",
        file: ".local-state/parameters/my team.json",
        client: "my team",
      }),
    ).toContain(
      `.local-state/parameters/my team.json is no client's parameter: a client is named after its file, and "my team" is not a client name (1..64 characters of a-z A-Z 0-9 - _)`,
    );
  });

  it("masks every secret it is given wherever it appears", () => {
    const text = show({ kind: "sync-failed", trigger: "schedule", error: `a message that quotes ${SECRET}` });
    expect(text).not.toContain(SECRET);
    expect(text).toContain("a message that quotes ***");
  });
});
