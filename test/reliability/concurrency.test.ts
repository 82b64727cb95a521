import { afterAll, describe, expect, it } from "vitest";
import type { InvokeResult } from "../../local/lambda-runtime.ts";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import { SCHEDULED_EVENT } from "./support/campaign.ts";
import { saturateCpu } from "./support/cpu-saturation.ts";
import type { DeployedClient, DesiredDocument } from "./support/deployment.ts";
import { recordSection } from "./support/report.ts";
import { useLocalDeployment } from "./support/suite.ts";

/* One user base with twelve clients, and a live client: test/fixtures/reliability/fan-out-context.json. */
const CONTEXT_FILE = "test/fixtures/reliability/fan-out-context.json";
/* Fan-outs run one after the other, each with every core busy, so that one lucky schedule proves nothing. */
const FAN_OUT_ROUNDS = 3;
/* Three fan-outs with the CPU saturated on purpose: slow by design, bounded generously. */
const CONCURRENT_CALLBACKS_TIMEOUT_MS = 600_000;

const deletion = (userId: string) => JSON.stringify({ userId, event: "DELETED" });
const statusOf = (result: InvokeResult) =>
  result.ok ? (result.payload as { statusCode: number }).statusCode : 0;

describe("the deployed bundles under simultaneous invocations", () => {
  const suite = useLocalDeployment({ contextFile: CONTEXT_FILE });
  const sandbox = () => suite.deployment.clients.filter((client) => client.userBase === "sandbox");
  const forwardedOf = async (userId: string) =>
    (await suite.deployment.forwarded()).filter((detail) => detail.userId === userId);
  const deadLettersOf = async (userId: string) =>
    (await suite.deployment.deadLetters()).filter((message) => message.userId === userId);
  const deliver = (client: DeployedClient, userId: string) =>
    suite.deployment.callback.invoke(suite.deployment.callbackEvent(client, deletion(userId)));
  const deliverInTurn = async (clients: readonly DeployedClient[], userId: string) => {
    const results: InvokeResult[] = [];
    for (const client of clients) results.push(await deliver(client, userId));
    return results;
  };

  it(
    `forwards one deletion fanned out to every client of a user base at once, each delivery in its own warm environment with every core busy, as one event with one deletion id (${FAN_OUT_ROUNDS} rounds)`,
    async () => {
      const clients = sandbox();
      expect(clients.length).toBeGreaterThanOrEqual(12);
      const [first] = clients as [DeployedClient];
      await suite.deployment.callback.prewarm(clients.length, (index) =>
        suite.deployment.callbackEvent(first, deletion(`user-warm-up-${index}`)),
      );
      const rows: [string, string][] = [];
      for (let round = 1; round <= FAN_OUT_ROUNDS; round++) {
        const userId = `user-fan-out-${round}`;
        const saturation = await saturateCpu();
        let results: InvokeResult[];
        try {
          results = await Promise.all(clients.map((client) => deliver(client, userId)));
        } finally {
          await saturation.stop();
        }
        const statuses = results.map(statusOf);
        const forwarded = await forwardedOf(userId);
        const deadLettered = await deadLettersOf(userId);
        expect(statuses).toEqual(Array(clients.length).fill(202));
        expect(forwarded).toHaveLength(1);
        expect(forwarded[0]).toMatchObject({ userBase: "sandbox", environment: "sandbox" });
        expect(new Set([...forwarded, ...deadLettered].map((detail) => detail.deletionId)).size).toBe(1);
        expect(deadLettered).toEqual([]);
        rows.push([
          `Round ${round}: ${clients.length} simultaneous deliveries, ${saturation.threads} busy threads (one per core)`,
          `${statuses.filter((status) => status === 202).length} × 202, ${forwarded.length} event, ${deadLettered.length} dead-lettered`,
        ]);
      }
      /* Every delivery ran in its own environment: none waited for another to finish. */
      expect(suite.deployment.callback.coldStarts).toBe(clients.length);
      recordSection("simultaneous-callbacks", {
        kind: "table",
        header: ["One deletion fanned out to every client of a user base at once, CPU saturated", "Outcome"],
        rows: [
          ...rows,
          ["Execution environments (one per delivery)", String(suite.deployment.callback.coldStarts)],
        ],
      });
    },
    CONCURRENT_CALLBACKS_TIMEOUT_MS,
  );

  it(
    "forwards a user deleted, re-created and deleted again seconds later twice, under two deletion ids",
    async () => {
      const clients = sandbox();
      const first = await deliverInTurn(clients, "user-re-created");
      const second = await deliverInTurn(clients, "user-re-created");
      expect([...first, ...second].map(statusOf)).toEqual(Array(clients.length * 2).fill(202));
      const forwarded = await forwardedOf("user-re-created");
      expect(forwarded).toHaveLength(2);
      expect(new Set(forwarded.map((detail) => detail.deletionId)).size).toBe(2);
      expect(await deadLettersOf("user-re-created")).toEqual([]);
    },
    WORKER_TIMEOUT_MS,
  );

  it(
    "forwards the same user id deleted in two user bases twice, each event naming its user base and environment",
    async () => {
      const live = suite.deployment.clients.filter((client) => client.userBase === "live");
      expect(live).toHaveLength(1);
      const results = await Promise.all(
        [...sandbox(), ...live].map((client) => deliver(client, "customer-4711")),
      );
      expect(results.map(statusOf)).toEqual(Array(results.length).fill(202));
      const forwarded = await forwardedOf("customer-4711");
      expect(forwarded).toHaveLength(2);
      expect(forwarded).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ userBase: "sandbox", environment: "sandbox" }),
          expect.objectContaining({ userBase: "live", environment: "live", client: live[0]?.name }),
        ]),
      );
      expect(new Set(forwarded.map((detail) => detail.deletionId)).size).toBe(2);
    },
    WORKER_TIMEOUT_MS,
  );

  it(
    "forwards both deletions when the late copies of one deletion interleave with a new deletion of the same user, plus one event for the crossed copies (the case the rules cannot tell apart)",
    async () => {
      const clients = sandbox();
      const half = Math.floor(clients.length / 2);
      const early = clients.slice(0, half);
      const late = clients.slice(half);
      const [reDeleter] = early as [DeployedClient];
      const results = [
        /* The first deletion reaches half of the clients… */
        ...(await deliverInTurn(early, "user-interleaved")),
        /* …the user is re-created and deleted again: its first copy through a client that delivered the first… */
        await deliver(reDeleter, "user-interleaved"),
        /* …then the first deletion's late copies, indistinguishable from copies of the second… */
        ...(await deliverInTurn(late, "user-interleaved")),
        /* …and the second deletion's remaining copies. */
        ...(await deliverInTurn(clients.slice(1), "user-interleaved")),
      ];
      expect(results.map(statusOf)).toEqual(Array(results.length).fill(202));
      const forwarded = await forwardedOf("user-interleaved");
      /*
       * The first deletion; the second (through a client that delivered the first); the late copies count
       * towards the second, so the second's own copies through those clients complete the fan-out and the
       * next one starts a third: one extra event, as RELIABILITY.md ("The deletion pipeline") documents. None is swallowed.
       */
      expect(forwarded).toHaveLength(3);
      expect(new Set(forwarded.map((detail) => detail.deletionId)).size).toBe(3);
      expect(await deadLettersOf("user-interleaved")).toEqual([]);
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(suite.deployment.lines.length).toBeGreaterThan(sandbox().length);
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
