import { Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Monitoring } from "../../infra/constructs/monitoring.ts";
import { SYNTH_TIMEOUT_MS } from "../support/timeouts.ts";
import { render, renderDeep } from "./render.ts";
import { removeOutdirs, unbundledApp } from "./synth-app.ts";

afterAll(removeOutdirs);

type Mode = "apply" | "report-only";
type Resource = { Type: string; Properties: Record<string, unknown> };
type Widget = {
  type: string;
  properties: { title: string; metrics?: unknown[][]; query?: string; stacked?: boolean };
};

/** Client names that no widget title or alarm text of a fixed design would contain. */
const clientsOf = (
  count: number,
  mode: (index: number) => Mode = (index) => (index % 2 ? "report-only" : "apply"),
) => Array.from({ length: count }, (_, index) => ({ name: `tenant-${index}-zq`, mode: mode(index) }));

type Synthesized = ReturnType<typeof synthMonitoring>;

/** The Monitoring construct alone in a stack, over imported functions, queues and log group. */
function synthMonitoring(clients: readonly { name: string; mode: Mode }[]) {
  const stack = new Stack(unbundledApp(), "Watch", {
    env: { account: "111122223333", region: "eu-central-1" },
  });
  const fn = (name: string) =>
    lambda.Function.fromFunctionArn(stack, name, `arn:aws:lambda:eu-central-1:111122223333:function:${name}`);
  const queue = (name: string) =>
    sqs.Queue.fromQueueArn(stack, name, `arn:aws:sqs:eu-central-1:111122223333:${name}`);
  new Monitoring(stack, "Monitoring", {
    name: "Watch",
    clients,
    syncLogGroup: logs.LogGroup.fromLogGroupName(stack, "SyncLogs", "/watch/config-sync"),
    functions: [{ label: "config-sync", function: fn("config-sync") }],
    queues: [{ label: "failed", queue: queue("failed"), meaning: "what failed" }],
    callbackFunction: fn("callback"),
    deletionPipeline: { publisher: fn("publisher"), queue: queue("deletions") },
    unauthenticatedAlarmThreshold: 10,
  });
  const template = Template.fromStack(stack);
  const resources = Object.values(template.toJSON().Resources as Record<string, Resource>);
  const alarms = new Map(
    resources
      .filter((resource) => resource.Type === "AWS::CloudWatch::Alarm")
      .map((alarm) => [
        String(alarm.Properties.AlarmName),
        renderDeep(alarm.Properties) as Record<string, unknown>,
      ]),
  );
  const dashboard = resources.find((resource) => resource.Type === "AWS::CloudWatch::Dashboard");
  const body = render(dashboard?.Properties.DashboardBody);
  const widgets = (JSON.parse(body) as { widgets: Widget[] }).widgets;
  const countsByType: Record<string, number> = {};
  for (const resource of resources) countsByType[resource.Type] = (countsByType[resource.Type] ?? 0) + 1;
  return { alarms, body, widgets, countsByType };
}

const SCHEMA = `SCHEMA("FinapiConfigSync/Watch", client, service) WHERE service = 'config-sync'`;
const perClient = (metric: string) =>
  `SELECT SUM(${metric}) FROM ${SCHEMA} GROUP BY client ORDER BY SUM() DESC`;

const SYNC_ALARMS = [
  { name: "Watch-SyncInvalid", metric: "SyncInvalid", outcome: "invalid", says: "document is invalid" },
  { name: "Watch-SyncRejected", metric: "SyncRejected", outcome: "rejected", says: "finAPI rejected" },
  { name: "Watch-SyncFailed", metric: "SyncFailed", outcome: "failed", says: "failed" },
  {
    name: "Watch-Drift",
    metric: "SyncDriftReported",
    outcome: "drift-reported",
    says: "differs from its document",
  },
];

describe("Monitoring", () => {
  let few: Synthesized;
  let many: Synthesized;
  let applyOnly: Synthesized;

  beforeAll(() => {
    few = synthMonitoring(clientsOf(3));
    many = synthMonitoring(clientsOf(60));
    applyOnly = synthMonitoring(clientsOf(3, () => "apply"));
  }, 3 * SYNTH_TIMEOUT_MS);

  it("creates the same alarms and one dashboard of the same body for 3 and for 60 clients", () => {
    expect(few.countsByType).toEqual(many.countsByType);
    expect(few.countsByType["AWS::CloudWatch::Alarm"]).toBe(11);
    expect(few.countsByType["AWS::CloudWatch::Dashboard"]).toBe(1);
    expect([...few.alarms.keys()].sort()).toEqual([...many.alarms.keys()].sort());
    expect(few.body).toBe(many.body);
    expect(many.body).not.toContain("tenant-");
    for (const alarm of many.alarms.values()) expect(JSON.stringify(alarm)).not.toContain("tenant-");
  });

  it("alarms on each problem outcome of every client with one Metrics Insights query grouped by client", () => {
    const { alarms } = few;
    for (const { name, metric } of SYNC_ALARMS) {
      expect(alarms.get(name), name).toMatchObject({
        Metrics: [{ Expression: perClient(metric), Id: "expr_1", Period: 300, ReturnData: true }],
        Threshold: 1,
        ComparisonOperator: "GreaterThanOrEqualToThreshold",
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
        TreatMissingData: "notBreaching",
      });
      expect(alarms.get(name)?.Metrics as unknown[]).toHaveLength(1);
      expect(alarms.get(name)).not.toHaveProperty("MetricName");
    }
  });

  it("says in each sync alarm's description what happened, what to do, and where to see which clients", () => {
    const { alarms, widgets } = few;
    const titles = widgets.map((widget) => widget.properties.title);
    for (const { name, outcome, says } of SYNC_ALARMS) {
      const description = String(alarms.get(name)?.AlarmDescription);
      expect(description.length, name).toBeLessThanOrEqual(1024);
      expect(description).toContain(says);
      expect(description).toContain("each notification names it (contributor attribute client)");
      expect(description).toContain(`aws cloudwatch describe-alarm-contributors --alarm-name ${name};`);
      expect(description).toContain(`(outcome = ${outcome})`);
      const named = [...description.matchAll(/"([^"]+)"/g)].map((match) => match[1]);
      expect(named).toHaveLength(2);
      for (const title of named) expect(titles, `${name} names widget ${title}`).toContain(title);
    }
  });

  it("keeps the alarms that are not per client: one metric each, the threshold they had", () => {
    const { alarms } = few;
    expect(alarms.get("Watch-CallbackUnauthenticated")).toMatchObject({
      MetricName: "CallbackUnauthenticated",
      Dimensions: [{ Name: "service", Value: "user-sync-callback" }],
      Threshold: 10,
      Period: 300,
      Statistic: "Sum",
    });
    expect(alarms.get("Watch-Errors-config-sync")).toMatchObject({
      MetricName: "Errors",
      Dimensions: [{ Name: "FunctionName", Value: "config-sync" }],
      Threshold: 1,
    });
    expect(alarms.get("Watch-DeadLetters-failed")).toMatchObject({
      MetricName: "ApproximateNumberOfMessagesVisible",
      AlarmDescription: "A message is waiting in the failed dead-letter queue: what failed",
    });
  });

  it("watches drift only when a client is report-only, the one mode whose drift is not fixed", () => {
    const { alarms, widgets } = applyOnly;
    expect(
      [...alarms.keys()].filter((name) => name.includes("Sync") || name.includes("Drift")).sort(),
    ).toEqual(["Watch-SyncFailed", "Watch-SyncInvalid", "Watch-SyncRejected"]);
    expect(widgets.map((widget) => widget.properties.title)).not.toContain(
      "Drift reported, by client (report-only clients)",
    );
    expect(few.alarms.has("Watch-Drift")).toBe(true);
  });

  it("graphs every outcome over all clients, each problem outcome per client, and problem outcomes from the log", () => {
    const { widgets } = few;
    const widget = (title: string) => {
      const found = widgets.find((candidate) => candidate.properties.title === title);
      if (!found) throw new Error(`no widget ${title}`);
      return found;
    };
    expect(widgets.map((candidate) => candidate.properties.title).slice(0, 7)).toEqual([
      "Alarms",
      "Sync outcomes, all clients",
      "config-sync: clients with problem outcomes (Logs Insights)",
      "Sync invalid, by client",
      "Sync rejected, by client",
      "Sync failed, by client",
      "Drift reported, by client (report-only clients)",
    ]);
    const outcomes = widget("Sync outcomes, all clients");
    expect(outcomes.properties.stacked).toBe(true);
    expect(outcomes.properties.metrics).toEqual(
      ["InSync", "Applied", "DriftReported", "Invalid", "Rejected", "Failed", "ParameterDeleted"].map(
        (outcome) => [{ expression: `SELECT SUM(Sync${outcome}) FROM ${SCHEMA}`, label: outcome }],
      ),
    );
    for (const [title, metric] of [
      ["Sync invalid, by client", "SyncInvalid"],
      ["Sync rejected, by client", "SyncRejected"],
      ["Sync failed, by client", "SyncFailed"],
      ["Drift reported, by client (report-only clients)", "SyncDriftReported"],
    ] as const) {
      /* No label: CloudWatch labels each series with its client. */
      expect(widget(title).properties.metrics, title).toEqual([
        [{ expression: `${perClient(metric)} LIMIT 20` }],
      ]);
    }
    const log = widget("config-sync: clients with problem outcomes (Logs Insights)");
    expect(log.type).toBe("log");
    expect(log.properties.query).toBe(
      [
        `SOURCE '/watch/config-sync' | filter message = "reconcile outcome" and level in ["WARN", "ERROR"]`,
        "stats count(*) as runs, latest(reason) as lastReason, max(@timestamp) as last by client, mode, outcome",
        "sort last desc",
        "limit 1000",
      ].join("\n| "),
    );
  });
});
