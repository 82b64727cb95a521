import { formatChanges } from "../functions/finapi/plan.ts";
import type { ReconcileOutcome } from "../functions/finapi/reconcile.ts";
import { redactSecrets, redactUrl } from "../functions/finapi/redact.ts";
import { formatViolations } from "../functions/finapi/schema.ts";
import type { Activity, CallbackOutcome } from "./activity.ts";

const CALLBACK_OUTCOMES: Readonly<Record<CallbackOutcome, string>> = {
  forwarded: "forwarded to EventBridge",
  duplicate: "duplicate, not forwarded again",
  unauthenticated: "refused: no such client and secret",
  invalid: "rejected: not a valid deletion callback",
  "ignored-event": "ignored: only DELETED is forwarded",
  "dead-lettered": "not forwarded: kept in the dead-letter queue",
  lost: "NOT forwarded and NOT kept: the dead-letter write failed",
  failed: "failed unexpectedly (see the function's log)",
};

const indent = (text: string, by = "      ") =>
  text
    .split("\n")
    .map((line) => `${by}${line.trimStart()}`)
    .join("\n");

function describeOutcome(outcome: ReconcileOutcome): { headline: string; details?: string } {
  switch (outcome.outcome) {
    case "in-sync":
      return { headline: "in sync, nothing to change" };
    case "applied":
      return {
        headline: `applied ${outcome.changes.length} change(s)`,
        details: formatChanges(outcome.changes),
      };
    case "drift-reported":
      return {
        headline: `drift reported, not patched (${outcome.dryRun ? "dry run" : "report-only"})`,
        details: formatChanges(outcome.changes),
      };
    case "invalid":
      return {
        headline: "invalid document refused; finAPI was not called",
        details: formatViolations(outcome.violations),
      };
    case "rejected":
      return {
        headline: `rejected by finAPI${outcome.status === undefined ? "" : ` (${outcome.status})`}: ${outcome.message}`,
        details: [
          ...outcome.finapiErrors.map((error) => `${error.code ?? "error"}: ${error.message}`),
          `finAPI request id ${outcome.finapiRequestId}`,
        ].join("\n"),
      };
    case "failed":
      return { headline: `failed${outcome.retryable ? " (retryable)" : ""}: ${outcome.message}` };
  }
}

function columns(source: string, client: string | undefined, text: string): string {
  return `${source.padEnd(9)} ${(client ?? "-").padEnd(10)} ${text}`;
}

function describe(activity: Activity): string {
  switch (activity.kind) {
    case "parameter-change":
      return columns(
        "params",
        activity.client,
        `Parameter Store Change: ${activity.operation} ${activity.parameterName} → config-sync`,
      );
    case "parameter-file-rejected":
      return columns("params", activity.client, `${activity.file} not put: ${activity.reason}`);
    case "schedule":
      return columns("schedule", undefined, "Scheduled Event → config-sync (every client)");
    case "sync": {
      const { client, ...outcome } = activity.result;
      const { headline, details } = describeOutcome(outcome);
      const line = columns("sync", client, `${headline} [${activity.trigger}]`);
      return details ? `${line}\n${indent(details)}` : line;
    }
    case "parameter-file-unknown":
      return columns(
        "params",
        activity.client,
        activity.example === undefined
          ? `${activity.file} is no client's parameter: a client is named after its file, and "${activity.client}" is not a client name (1..64 characters of a-z A-Z 0-9 - _)`
          : `${activity.file} is no client's parameter: to add client ${activity.client}, put its document into ${activity.example} and restart npm start`,
      );
    case "sync-skipped":
      return columns("sync", activity.client, `nothing reconciled: ${activity.reason} [${activity.trigger}]`);
    case "sync-failed":
      return columns(
        "sync",
        activity.client,
        `invocation failed: ${activity.error} [${activity.trigger}] (in AWS, Lambda retries an event twice; the schedule catches up)`,
      );
    case "finapi-callback": {
      const { delivery } = activity;
      const answer =
        delivery.status === undefined
          ? `failed: ${delivery.error ?? "no answer"} (not retried)`
          : `${delivery.status}`;
      return columns(
        "finAPI",
        activity.client,
        `user ${delivery.userId} of user base ${delivery.userBase} deleted → POST ${redactUrl(delivery.url)} → ${answer}`,
      );
    }
    case "callback":
      return columns(
        "callback",
        activity.client,
        `${activity.userId === undefined ? "" : `user ${activity.userId}: `}${CALLBACK_OUTCOMES[activity.outcome]} (${activity.status})`,
      );
    case "deletion-forwarded": {
      const { event } = activity;
      return columns(
        "event",
        typeof event.detail.client === "string" ? event.detail.client : undefined,
        `"${event.detailType}" on bus ${event.eventBusName}: ${JSON.stringify(event.detail)}`,
      );
    }
  }
}

const clock = (at: Date) => at.toTimeString().slice(0, 8);

/**
 * One activity as the live log shows it: a time, where it happened, the client, what happened, and
 * the details (diff, violations) indented below. Every secret the loop knows is masked, and so is
 * every secret-looking part of a URL.
 */
export function formatActivity(activity: Activity, secrets: readonly string[], at: Date): string {
  const text = describe(activity)
    .split("\n")
    .map((line, index) => (index === 0 ? `${clock(at)}  ${line}` : `${" ".repeat(10)}${line}`))
    .join("\n");
  return redactSecrets(text, secrets);
}
