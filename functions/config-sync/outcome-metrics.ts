import { SyncMetric } from "../contracts/metrics.ts";
import type { OutcomeName, ReconcileOutcome } from "../finapi/reconcile.ts";

export type SyncMetricName = (typeof SyncMetric)[keyof typeof SyncMetric];

const METRIC_BY_OUTCOME: Readonly<Record<OutcomeName, SyncMetricName>> = {
  "in-sync": SyncMetric.InSync,
  applied: SyncMetric.Applied,
  "drift-reported": SyncMetric.DriftReported,
  invalid: SyncMetric.Invalid,
  rejected: SyncMetric.Rejected,
  failed: SyncMetric.Failed,
};

/** The one metric an outcome counts towards (with the client dimension); the stack alarms on them. */
export function metricForOutcome(outcome: ReconcileOutcome): SyncMetricName {
  return METRIC_BY_OUTCOME[outcome.outcome];
}

/**
 * Whether the invocation must fail so that Lambda's asynchronous retries (and then the dead-letter
 * path) take over. Invalid documents and finAPI's rejections would only fail again.
 */
export function isTransientFailure(outcome: ReconcileOutcome): boolean {
  return outcome.outcome === "failed" && outcome.retryable;
}

/** How loudly an outcome is logged: people act on warn and error, not on info. */
export function logLevelForOutcome(outcome: ReconcileOutcome): "info" | "warn" | "error" {
  switch (outcome.outcome) {
    case "in-sync":
    case "applied":
      return "info";
    case "drift-reported":
      return outcome.dryRun ? "info" : "warn";
    case "invalid":
    case "rejected":
    case "failed":
      return "error";
  }
}
