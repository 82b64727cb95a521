import { describe, expect, it } from "vitest";
import {
  isTransientFailure,
  logLevelForOutcome,
  metricForOutcome,
} from "../../functions/config-sync/outcome-metrics.ts";
import { SyncMetric } from "../../functions/contracts/metrics.ts";
import type { ReconcileOutcome } from "../../functions/finapi/reconcile.ts";

const outcomes: Record<string, ReconcileOutcome> = {
  inSync: { outcome: "in-sync", finapiRequestId: "r1" },
  applied: { outcome: "applied", changes: [], finapiRequestId: "r2" },
  drift: { outcome: "drift-reported", changes: [], dryRun: false, finapiRequestId: "r3" },
  dryRun: { outcome: "drift-reported", changes: [], dryRun: true, finapiRequestId: "r4" },
  invalid: { outcome: "invalid", violations: [] },
  rejected: { outcome: "rejected", message: "no", status: 400, finapiErrors: [], finapiRequestId: "r5" },
  transient: { outcome: "failed", message: "finAPI unavailable", retryable: true },
  permanent: { outcome: "failed", message: "parameter missing", retryable: false },
};

describe("metricForOutcome", () => {
  it("counts each outcome under its own metric", () => {
    expect(Object.values(outcomes).map(metricForOutcome)).toEqual([
      SyncMetric.InSync,
      SyncMetric.Applied,
      SyncMetric.DriftReported,
      SyncMetric.DriftReported,
      SyncMetric.Invalid,
      SyncMetric.Rejected,
      SyncMetric.Failed,
      SyncMetric.Failed,
    ]);
  });
});

describe("isTransientFailure", () => {
  it("holds only for a retryable failure: invalid and rejected would fail again", () => {
    const transient = Object.entries(outcomes)
      .filter(([, outcome]) => isTransientFailure(outcome))
      .map(([name]) => name);
    expect(transient).toEqual(["transient"]);
  });
});

describe("logLevelForOutcome", () => {
  it("logs what needs a person as warn or error, and a dry run's drift as info", () => {
    expect(Object.values(outcomes).map(logLevelForOutcome)).toEqual([
      "info",
      "info",
      "warn",
      "info",
      "error",
      "error",
      "error",
      "error",
    ]);
  });
});
