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
  const forwardedCount = (userId: string) =>
    suite.deployment.forwarded().filter((detail) => detail.userId === userId).length;
  const deadLetteredCount = (userId: string) =>
    suite.deployment.deadLetters().filter((message) => message.userId === userId).length;

  it(
    "forwards a deletion once when DynamoDB wrote its in-progress record but answered after the 1 s timeout",
    async () => {
      /* The record is written; its answer comes too late; the SDK's retry then finds it and must know it for this delivery's own. */
      suite.deployment.faults.dynamodb.arm("PutItem answered late", operation("PutItem"), {
        kind: "delay",
        ms: 1_500,
      });
      const result = await deliver("user-late-record");
      expect(result).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(forwardedCount("user-late-record")).toBe(1);
      expect(deadLetteredCount("user-late-record")).toBe(0);
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
      expect(forwardedCount("user-during-outage-warm")).toBe(1);
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
      expect(forwardedCount("user-during-outage-cold")).toBe(1);
    },
    WORKER_TIMEOUT_MS,
  );

  it("writes no secret to any log line", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});
