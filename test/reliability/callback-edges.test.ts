import { describe, expect, it } from "vitest";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";
import { operation } from "./support/fault-proxy.ts";
import { awsError } from "./support/faults.ts";
import { useLocalDeployment } from "./support/suite.ts";

/*
 * The edges of the callback's promise ("a deletion is forwarded or kept in the dead-letter queue"): a
 * late DynamoDB answer and Secrets Manager failing on warm and cold environments. RELIABILITY.md tells
 * how each was closed.
 */
describe("user-sync-callback at the edges of its promise", () => {
  const suite = useLocalDeployment();

  const deliver = (userId: string) =>
    suite.deployment.callback.invoke(
      suite.deployment.callbackEvent(suite.client, JSON.stringify({ userId, event: "DELETED" })),
    );
  const forwardedCount = async (userId: string) =>
    (await suite.deployment.forwarded()).filter((detail) => detail.userId === userId).length;
  const deadLetteredCount = async (userId: string) =>
    (await suite.deployment.deadLetters()).filter((message) => message.userId === userId).length;

  it(
    "forwards a deletion once when DynamoDB wrote its deletion generation but answered after the 1 s timeout",
    async () => {
      /* The generation is written; its answer comes too late; the SDK's retry fails its condition and the delivery must know the write for its own. */
      suite.deployment.faults.dynamodb.arm("PutItem answered late", operation("PutItem"), {
        kind: "delay",
        ms: 1_500,
      });
      const result = await deliver("user-late-record");
      expect(result).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(await forwardedCount("user-late-record")).toBe(1);
      expect(await deadLetteredCount("user-late-record")).toBe(0);
    },
    WORKER_TIMEOUT_MS,
  );

  it(
    "keeps authenticating and forwarding on a warm environment while Secrets Manager fails",
    async () => {
      expect(await deliver("user-before-outage")).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      suite.deployment.faults.secretsManager.arm(
        "Secrets Manager failing",
        operation("GetSecretValue"),
        awsError(500, "InternalServiceError", "Internal failure"),
        100,
      );
      expect(await deliver("user-during-outage-warm")).toMatchObject({
        ok: true,
        payload: { statusCode: 202 },
      });
      expect(await forwardedCount("user-during-outage-warm")).toBe(1);
      suite.deployment.faults.secretsManager.clear();
    },
    WORKER_TIMEOUT_MS,
  );

  it(
    "authenticates and forwards from a cold environment while Secrets Manager fails, with the digests a warm one kept",
    async () => {
      await suite.deployment.callback.recycle();
      suite.deployment.faults.secretsManager.arm(
        "Secrets Manager failing",
        operation("GetSecretValue"),
        awsError(500, "InternalServiceError", "Internal failure"),
        100,
      );
      const result = await deliver("user-during-outage-cold");
      suite.deployment.faults.secretsManager.clear();
      expect(result).toMatchObject({ ok: true, coldStart: true, payload: { statusCode: 202 } });
      expect(await forwardedCount("user-during-outage-cold")).toBe(1);
    },
    WORKER_TIMEOUT_MS,
  );

  /*
   * Issue 12's case: EventBridge takes the entry and answers late. The deletion arrives through two
   * clients; both copies carry one deletion id and the queue keeps one message, so only the publisher's
   * own retries can repeat it.
   */
  const deliverThroughTwoClients = async (userId: string) => {
    const [first, second] = suite.deployment.clients;
    if (!first || !second) throw new Error("the stack configures fewer than two clients");
    const body = JSON.stringify({ userId, event: "DELETED" });
    return Promise.all(
      [first, second].map((client) =>
        suite.deployment.callback.invoke(suite.deployment.callbackEvent(client, body)),
      ),
    );
  };
  const firedCount = (label: string) =>
    suite.deployment.faults.eventBridge.fired.filter((fault) => fault.label === label).length;
  const deletionIdsOf = async (userId: string) =>
    new Set(
      [...(await suite.deployment.forwarded()), ...(await suite.deployment.deadLetters())]
        .filter((detail) => detail.userId === userId)
        .map((detail) => detail.deletionId),
    );

  it(
    "publishes a deletion once when EventBridge accepts its entry and answers within the publisher's 10 s attempt (issue 12's 1.5 s answer)",
    async () => {
      suite.deployment.faults.eventBridge.arm("PutEvents answered late", operation("PutEvents"), {
        kind: "delay",
        ms: 1_500,
      });
      const results = await deliverThroughTwoClients("user-late-put-events");
      expect(results).toMatchObject([
        { ok: true, payload: { statusCode: 202 } },
        { ok: true, payload: { statusCode: 202 } },
      ]);
      expect(await forwardedCount("user-late-put-events")).toBe(1);
      expect(await deadLetteredCount("user-late-put-events")).toBe(0);
      expect((await deletionIdsOf("user-late-put-events")).size).toBe(1);
      expect(firedCount("PutEvents answered late")).toBe(1);
    },
    WORKER_TIMEOUT_MS,
  );

  it(
    "puts a deletion on the bus exactly twice, never in the dead-letter queue, when EventBridge accepts its entry but answers after the publisher's 10 s attempt (residual: the SDK's retry of an accepted PutEvents)",
    async () => {
      suite.deployment.faults.eventBridge.arm(
        "PutEvents answered after the timeout",
        operation("PutEvents"),
        {
          kind: "delay",
          ms: 11_000,
        },
      );
      const results = await deliverThroughTwoClients("user-put-events-timed-out");
      expect(results).toMatchObject([
        { ok: true, payload: { statusCode: 202 } },
        { ok: true, payload: { statusCode: 202 } },
      ]);
      /* The accepted attempt and the SDK's retry; the published mark then keeps every later receive off the bus. */
      expect(await forwardedCount("user-put-events-timed-out")).toBe(2);
      await suite.deployment.settleQueues();
      expect(await forwardedCount("user-put-events-timed-out")).toBe(2);
      expect(await deadLetteredCount("user-put-events-timed-out")).toBe(0);
      expect((await deletionIdsOf("user-put-events-timed-out")).size).toBe(1);
      expect(firedCount("PutEvents answered after the timeout")).toBe(1);
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});
