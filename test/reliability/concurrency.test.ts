import { afterAll, describe, expect, it } from "vitest";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import { SCHEDULED_EVENT } from "./support/campaign.ts";
import type { DeployedClient, DesiredDocument } from "./support/deployment.ts";
import { recordSection } from "./support/report.ts";
import { useLocalDeployment } from "./support/suite.ts";

/* 50 callback environments starting at once on 2 cores: 180 s was the bound on an idle machine; a loaded one needs more. */
const CONCURRENT_CALLBACKS_TIMEOUT_MS = 600_000;

const SIMULTANEOUS_CALLBACKS = 50;

describe("the deployed bundles under simultaneous invocations", () => {
  const suite = useLocalDeployment({ callbackConcurrency: SIMULTANEOUS_CALLBACKS });

  it(
    `forwards ${SIMULTANEOUS_CALLBACKS} simultaneous identical callbacks, each in its own warm environment, exactly once`,
    async () => {
      const body = JSON.stringify({ userId: "user-concurrent-50", event: "DELETED" });
      const events = Array.from({ length: SIMULTANEOUS_CALLBACKS }, (_, index) =>
        suite.deployment.callbackEvent(
          suite.deployment.clients[index % suite.deployment.clients.length] as DeployedClient,
          body,
        ),
      );
      const [client] = suite.deployment.clients;
      if (!client) throw new Error("the stack configures no client");
      await suite.deployment.callback.prewarm(SIMULTANEOUS_CALLBACKS, (index) =>
        suite.deployment.callbackEvent(
          client,
          JSON.stringify({ userId: `user-warm-up-${index}`, event: "DELETED" }),
        ),
      );
      const results = await Promise.all(events.map((event) => suite.deployment.callback.invoke(event)));

      const statuses = results.map((result) =>
        result.ok ? (result.payload as { statusCode: number }).statusCode : 0,
      );
      expect(statuses).toEqual(Array(SIMULTANEOUS_CALLBACKS).fill(202));
      expect(suite.deployment.callback.coldStarts).toBe(SIMULTANEOUS_CALLBACKS);
      const forwarded = suite.deployment
        .forwarded()
        .filter((detail) => detail.userId === "user-concurrent-50");
      expect(forwarded).toHaveLength(1);
      expect(suite.deployment.deadLetters()).toEqual([]);
      recordSection("simultaneous-callbacks", {
        kind: "table",
        header: [`${SIMULTANEOUS_CALLBACKS} simultaneous identical callbacks`, "Count"],
        rows: [
          ["Execution environments (one per request)", String(suite.deployment.callback.coldStarts)],
          ["Answered 202", String(statuses.filter((status) => status === 202).length)],
          ["Forwarded to the bus", String(forwarded.length)],
          ["Dead-lettered", String(suite.deployment.deadLetters().length)],
        ],
      });
    },
    CONCURRENT_CALLBACKS_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(suite.deployment.lines.length).toBeGreaterThan(SIMULTANEOUS_CALLBACKS);
    expect(leaked).toEqual([]);
  });

  describe("a scheduled reconcile and a Parameter Store Change event for the same client at once", () => {
    const outcomes: [string, string][] = [];
    afterAll(() => {
      recordSection("schedule-and-change-event", {
        kind: "table",
        header: ["Schedule and change event at once (reserved concurrency 1)", "PATCHes (stale ones)"],
        rows: outcomes,
      });
    });

    const v1: DesiredDocument = { refreshTokensValidityPeriod: 3600, userAccessTokensValidityPeriod: 600 };
    const v2: DesiredDocument = { refreshTokensValidityPeriod: 7200, userAccessTokensValidityPeriod: 900 };
    type Order = "schedule-first" | "change-first";

    /*
     * v1 applied through its change events, so the one warm environment (reserved concurrency 1) holds v1
     * in its parameter cache, as after any run in the last minute; then v2 is written and its change event
     * and the schedule are invoked together. Lambda runs them one after the other, in either order.
     */
    async function race(order: Order, drift: boolean) {
      const [client] = suite.deployment.clients;
      if (!client) throw new Error("the stack configures no client");
      for (const each of suite.deployment.clients) {
        suite.deployment.ssm.putParameter(each.parameterName, JSON.stringify(v1));
        expect(await suite.deployment.configSync.invoke(suite.deployment.ssm.changes.at(-1))).toMatchObject({
          ok: true,
        });
      }
      expect(suite.deployment.converged(client, suite.deployment.desiredConfiguration(client, v1))).toBe(
        true,
      );

      const version = suite.deployment.ssm.putParameter(client.parameterName, JSON.stringify(v2));
      const change = suite.deployment.ssm.changes.at(-1);
      if (drift) suite.deployment.finapi.drift(client.clientId, { refreshTokensValidityPeriod: 86_400 });
      const requestsBefore = suite.deployment.finapi.requests.length;
      const events = order === "schedule-first" ? [SCHEDULED_EVENT, change] : [change, SCHEDULED_EVENT];
      const results = await Promise.all(events.map((event) => suite.deployment.configSync.invoke(event)));

      expect(results.map((result) => result.ok)).toEqual([true, true]);
      const patches = suite.deployment.finapi.requests
        .slice(requestsBefore)
        .filter((request) => request.method === "PATCH" && request.clientId === client.clientId)
        .map((request) => JSON.parse(request.body) as DesiredDocument);
      const stale = patches.flatMap((patch) =>
        Object.entries(patch).filter(([field, value]) => value !== v2[field as keyof DesiredDocument]),
      );
      outcomes.push([
        `${order === "schedule-first" ? "schedule queued first" : "change event queued first"}${drift ? ", finAPI drifted" : ""}`,
        `${patches.length} (${stale.length})`,
      ]);
      return {
        patches,
        stale,
        converged: suite.deployment.converged(client, suite.deployment.desiredConfiguration(client, v2)),
        status: await suite.deployment.statusOf(client),
        version,
      };
    }

    it.each([
      ["the schedule queued first", "schedule-first", false],
      ["the change event queued first", "change-first", false],
      ["the change event queued first, finAPI drifted", "change-first", true],
      ["the schedule queued first, finAPI drifted", "schedule-first", true],
    ] as const)(
      "ends on the new document with one PATCH of its values (%s)",
      async (_name, order, drift) => {
        const outcome = await race(order, drift);
        expect(outcome.patches).toHaveLength(1);
        expect(outcome.stale).toEqual([]);
        expect(outcome.converged).toBe(true);
        expect(outcome.status).toMatchObject({ parameterVersion: outcome.version });
      },
      WORKER_TIMEOUT_MS,
    );
  });
});
