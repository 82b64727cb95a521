import { describe, expect, it } from "vitest";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import type { DeployedClient, DesiredDocument } from "./support/deployment.ts";
import { operation, type ProxiedRequest } from "./support/fault-proxy.ts";
import { FINAPI_ROUTES } from "./support/faults.ts";
import { useLocalDeployment } from "./support/suite.ts";

/*
 * An environment destroyed mid-run (killWhen): the handler gets no warning, so nothing after the
 * kill point happens, unlike middy's early timeout, which the fault campaign also exercises. The kill
 * comes when the armed fault holds the run at its point, not after a fixed time, so that a slow machine
 * cannot kill the run before it gets there.
 */
const SLOWER_THAN_THE_KILL_MS = 2_000;

describe("config-sync when its environment dies part-way through a run", () => {
  const suite = useLocalDeployment();
  let documentNumber = 0;

  const patchesOf = (since: number) =>
    suite.deployment.finapi.requests
      .slice(since)
      .filter((request) => request.method === "PATCH" && request.clientId === suite.client.clientId);

  it.each<[string, (request: ProxiedRequest) => boolean, "finapi" | "ssm" | "dynamodb", "delay" | "hang"]>([
    ["while reading its document from Parameter Store", operation("GetParameter"), "ssm", "delay"],
    ["while finAPI answers the GET", FINAPI_ROUTES.get, "finapi", "delay"],
    ["after finAPI applied the PATCH, before its answer arrived", FINAPI_ROUTES.patch, "finapi", "delay"],
    ["after the PATCH, while storing the status", operation("PutItem"), "dynamodb", "hang"],
  ])(
    "converges on Lambda's retry with one PATCH when killed %s",
    async (_where, matches, service, kind) => {
      documentNumber += 1;
      const document: DesiredDocument = { refreshTokensValidityPeriod: 3600 + documentNumber };
      const version = suite.deployment.ssm.putParameter(suite.client.parameterName, JSON.stringify(document));
      const change = suite.deployment.ssm.changes.at(-1);
      const requestsBefore = suite.deployment.finapi.requests.length;
      suite.deployment.faults[service].arm(
        "stalls past the kill",
        matches,
        kind === "hang" ? { kind } : { kind, ms: SLOWER_THAN_THE_KILL_MS },
      );

      /* Killed once the fault holds the run at its point, however long the run took to get there. */
      const killed = await suite.deployment.configSync.invoke(change, {
        killWhen: suite.deployment.faults[service].holding(),
      });
      expect(killed).toMatchObject({ ok: false, errorType: "Runtime.ExitError" });
      expect(suite.deployment.faults[service].pending()).toBe(0);

      const retried = await suite.deployment.configSync.invoke(change);
      expect(retried).toMatchObject({ ok: true, coldStart: true });
      expect(
        suite.deployment.converged(
          suite.client,
          suite.deployment.desiredConfiguration(suite.client, document),
        ),
      ).toBe(true);
      expect(patchesOf(requestsBefore)).toHaveLength(1);
      expect(await suite.deployment.statusOf(suite.client)).toMatchObject({
        parameterVersion: version,
        outcome: expect.stringMatching(/^(applied|in-sync)$/),
      });
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});

describe("user-sync-callback when a delivery dies after recording the deletion, before publishing it", () => {
  const suite = useLocalDeployment();

  /*
   * The dead delivery's in-progress record expires with that invocation's deadline (Powertools takes it
   * from the Lambda context), here 5 s after it started: long enough that publishing was under way.
   */
  const DEADLINE_MS = 5_000;

  it(
    "has a delivery inside the dead delivery's hold wait for the hold to run out and forward the deletion once; a later delivery is a duplicate",
    async () => {
      const [first, second, third] = suite.deployment.clients as [
        DeployedClient,
        DeployedClient,
        DeployedClient,
      ];
      const body = JSON.stringify({ userId: "user-crashed-delivery", event: "DELETED" });
      const forwarded = () =>
        suite.deployment.forwarded().filter((detail) => detail.userId === "user-crashed-delivery");
      suite.deployment.faults.eventBridge.arm("PutEvents hangs", operation("PutEvents"), { kind: "hang" });
      const startedAt = Date.now();

      const crashed = await suite.deployment.callback.invoke(suite.deployment.callbackEvent(first, body), {
        timeoutMs: DEADLINE_MS,
        killWhen: suite.deployment.faults.eventBridge.holding(),
      });
      expect(crashed).toMatchObject({ ok: false, errorType: "Runtime.ExitError" });

      const inside = await suite.deployment.callback.invoke(suite.deployment.callbackEvent(second, body));
      expect(inside).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(Date.now()).toBeGreaterThanOrEqual(startedAt + DEADLINE_MS);
      expect(forwarded()).toEqual([expect.objectContaining({ client: second.name })]);
      expect(suite.deployment.deadLetters()).toEqual([]);

      const after = await suite.deployment.callback.invoke(suite.deployment.callbackEvent(third, body));
      expect(after).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(forwarded()).toHaveLength(1);
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});
