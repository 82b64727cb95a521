import { Duration, Stack } from "aws-cdk-lib";
import { afterAll, describe, expect, it } from "vitest";
import { DeletionPipeline } from "../../infra/constructs/deletion-pipeline.ts";
import { UserSyncCallback } from "../../infra/constructs/user-sync-callback.ts";
import { removeOutdirs, unbundledApp } from "./synth-app.ts";

afterAll(removeOutdirs);

const stack = () => new Stack(unbundledApp(), "Checks");

describe("DeletionPipeline's props", () => {
  it.each([
    [{ maxReceiveCount: 0 }, "DeletionPipeline maxReceiveCount must be a whole number 1..1000, not 0"],
    [
      { publisherConcurrency: 1 },
      "DeletionPipeline publisherConcurrency must be a whole number 2..1000, not 1",
    ],
    [
      { publisherTimeout: Duration.hours(3) },
      "DeletionPipeline publisherTimeout must be at most 2 hours (SQS allows a 12-hour visibility timeout), not 3 hours",
    ],
  ])("refuses %o before creating anything", (props, message) => {
    const scope = stack();
    expect(() => new DeletionPipeline(scope, "Deletions", props)).toThrow(message);
    expect(scope.node.tryFindChild("Deletions")?.node.children ?? []).toEqual([]);
  });
});

describe("UserSyncCallback's props", () => {
  const live = { name: "live", userBase: "acme", environment: "live" } as const;

  it.each([
    [{ clients: [] }, "UserSyncCallback: clients must name at least one client"],
    [{ clients: [live, live] }, "UserSyncCallback: clients must have unique names"],
    [
      { clients: [live, { name: "sandbox", userBase: "acme", environment: "sandbox" } as const] },
      "UserSyncCallback: user base acme has clients of more than one environment",
    ],
    [
      { clients: [live], fanOutWindowSeconds: 59 },
      "UserSyncCallback: fanOutWindowSeconds must be a whole number of at least 60, not 59",
    ],
  ])("refuses %o before creating anything", (props, message) => {
    const scope = stack();
    expect(() => new UserSyncCallback(scope, "Callback", { reservedConcurrency: 1, ...props })).toThrow(
      message,
    );
    expect(scope.node.tryFindChild("Callback")?.node.children ?? []).toEqual([]);
  });
});
