import { describe, expect, it } from "vitest";
import { SQS_DEDUPLICATION_INTERVAL_MS } from "../../functions/contracts/user-deletion.ts";
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

  it.each<
    [
      string,
      (request: ProxiedRequest) => boolean,
      "finapi" | "ssm" | "secretsManager" | "dynamodb",
      "delay" | "hang",
    ]
  >([
    ["while reading its document from Parameter Store", operation("GetParameters"), "ssm", "delay"],
    [
      "while reading its secrets from Secrets Manager",
      operation("BatchGetSecretValue"),
      "secretsManager",
      "delay",
    ],
    ["while finAPI answers the GET", FINAPI_ROUTES.get, "finapi", "delay"],
    ["after finAPI applied the PATCH, before its answer arrived", FINAPI_ROUTES.patch, "finapi", "delay"],
    ["after the PATCH, while storing the status", operation("BatchWriteItem"), "dynamodb", "hang"],
  ])(
    "converges on Lambda's retry with one PATCH when killed %s",
    async (_where, matches, service, kind) => {
      documentNumber += 1;
      const document: DesiredDocument = { refreshTokensValidityPeriod: 3600 + documentNumber };
      const version = suite.deployment.ssm.putParameter(suite.client.parameterName, JSON.stringify(document));
      const change = suite.deployment.ssm.changes.at(-1);
      const requestsBefore = suite.deployment.finapi.requests.length;
      /* A warm environment has the secrets cached: a cold one reads them. */
      if (service === "secretsManager") await suite.deployment.configSync.recycle();
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

describe("user-sync-callback when a delivery dies part-way through handing a deletion to the queue", () => {
  const suite = useLocalDeployment();

  const body = (userId: string) => JSON.stringify({ userId, event: "DELETED" });
  const forwardedOf = async (userId: string) =>
    (await suite.deployment.forwarded()).filter((detail) => detail.userId === userId);
  const deadLettersOf = async (userId: string) =>
    (await suite.deployment.deadLetters()).filter((message) => message.userId === userId);
  const clients = () =>
    suite.deployment.clients as readonly DeployedClient[] as [DeployedClient, DeployedClient, DeployedClient];
  /*
   * A delivery through each client first, so that the warm environment has read and kept every callback
   * secret: the armed DynamoDB fault then meets the deletion's write, not a digest being kept.
   */
  const warmUp = async (userId: string) => {
    for (const client of clients()) {
      const result = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(client, body(userId)),
      );
      expect(result).toMatchObject({ ok: true, payload: { statusCode: 202 } });
    }
  };

  it(
    "has a later copy through another client send the dead delivery's deletion id when the delivery died after writing the generation, before SendMessage; a further copy is a duplicate",
    async () => {
      const [first, second, third] = clients();
      await warmUp("user-warm-up-before-send");
      /* The generation's PutItem reaches the table; its answer is held past the kill, so SendMessage never runs. */
      suite.deployment.faults.dynamodb.arm("generation written, answer held", operation("PutItem"), {
        kind: "delay",
        ms: SLOWER_THAN_THE_KILL_MS,
      });
      const crashed = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(first, body("user-died-before-send")),
        { killWhen: suite.deployment.faults.dynamodb.holding() },
      );
      expect(crashed).toMatchObject({ ok: false, errorType: "Runtime.ExitError" });
      expect(await forwardedOf("user-died-before-send")).toEqual([]);

      const copy = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(second, body("user-died-before-send")),
      );
      expect(copy).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      const forwarded = await forwardedOf("user-died-before-send");
      /* The deletion the dead delivery recorded, first delivered through its client, sent by the copy. */
      expect(forwarded).toEqual([expect.objectContaining({ client: first.name })]);

      const further = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(third, body("user-died-before-send")),
      );
      expect(further).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(await forwardedOf("user-died-before-send")).toEqual(forwarded);
      expect(await deadLettersOf("user-died-before-send")).toEqual([]);
    },
    WORKER_TIMEOUT_MS,
  );

  it.each([
    ["within SQS's deduplication interval: the FIFO queue drops the second send", "within", 0, false],
    [
      "after it: the queue takes it again and the publisher's published mark skips it",
      "after",
      SQS_DEDUPLICATION_INTERVAL_MS + 1_000,
      true,
    ],
  ] as const)(
    "forwards one deletion when the delivery died after SendMessage, before marking it enqueued, and a copy sends it again %s",
    async (_when, label, queueTimePassedMs, skippedByMark) => {
      const [first, second, third] = clients();
      const userId = `user-died-after-send-${label}`;
      await warmUp(`user-warm-up-after-send-${label}`);
      /* The creator's UpdateItem is its enqueued mark: SendMessage already succeeded. */
      suite.deployment.faults.dynamodb.arm(
        "enqueued mark hangs",
        operation("UpdateItem"),
        { kind: "hang" },
        1,
      );
      const crashed = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(first, body(userId)),
        { killWhen: suite.deployment.faults.dynamodb.holding() },
      );
      expect(crashed).toMatchObject({ ok: false, errorType: "Runtime.ExitError" });
      const forwarded = await forwardedOf(userId);
      expect(forwarded).toEqual([expect.objectContaining({ client: first.name })]);
      const deletionId = String(forwarded[0]?.deletionId);

      /* Not marked enqueued, so this copy sends the same deletion id again. */
      suite.deployment.advanceQueueClock(queueTimePassedMs);
      const copy = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(second, body(userId)),
      );
      expect(copy).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(await forwardedOf(userId)).toEqual(forwarded);
      const skipped = suite.deployment.lines.some(
        (line) => line.includes("deletion already published") && line.includes(deletionId),
      );
      expect(skipped).toBe(skippedByMark);

      const further = await suite.deployment.callback.invoke(
        suite.deployment.callbackEvent(third, body(userId)),
      );
      expect(further).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(await forwardedOf(userId)).toEqual(forwarded);
      expect(await deadLettersOf(userId)).toEqual([]);
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});
