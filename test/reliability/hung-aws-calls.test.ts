import { describe, expect, it } from "vitest";
import type { DesiredDocument } from "./support/deployment.ts";
import { operation } from "./support/fault-proxy.ts";
import { useLocalDeployment } from "./support/suite.ts";

const deletion = (userId: string) => JSON.stringify({ userId, event: "DELETED" });

describe("the callback bundle when an AWS call is never answered", () => {
  const suite = useLocalDeployment();

  const deliver = (userId: string) =>
    suite.deployment.callback.invoke(suite.deployment.callbackEvent(suite.client, deletion(userId)));

  it.each([
    ["DynamoDB PutItem (the callback's deletion generation)", "1 s", "dynamodb", "PutItem", "user-hung-put"],
    ["EventBridge PutEvents (the publisher's)", "10 s", "eventBridge", "PutEvents", "user-hung-publish"],
  ] as const)(
    "gives up on a hung %s after its %s attempt, retries, and forwards the deletion once",
    async (_what, _attempt, service, name, userId) => {
      suite.deployment.faults[service].arm(`${name} hangs`, operation(name), { kind: "hang" }, 1);
      const result = await deliver(userId);
      expect(result).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      const forwarded = (await suite.deployment.forwarded()).filter((detail) => detail.userId === userId);
      expect(suite.deployment.faults[service].fired.map((fault) => fault.label)).toEqual([`${name} hangs`]);
      expect(suite.deployment.faults.dynamodb.pending() + suite.deployment.faults.eventBridge.pending()).toBe(
        0,
      );
      expect(forwarded).toHaveLength(1);
      expect((await suite.deployment.deadLetters()).filter((message) => message.userId === userId)).toEqual(
        [],
      );
    },
    60_000,
  );

  it("writes no secret to its logs", () => {
    const leaked = suite.leakedSecrets();
    expect(suite.deployment.lines.length).toBeGreaterThan(0);
    expect(leaked).toEqual([]);
  });
});

describe("the config-sync bundle when an AWS call is never answered", () => {
  const suite = useLocalDeployment();
  let documentNumber = 0;

  it.each([
    ["SSM GetParameters (its document)", "ssm", "GetParameters"],
    ["Secrets Manager BatchGetSecretValue (its secrets)", "secretsManager", "BatchGetSecretValue"],
    ["DynamoDB BatchGetItem (its status's version check)", "dynamodb", "BatchGetItem"],
    ["DynamoDB BatchWriteItem (its status)", "dynamodb", "BatchWriteItem"],
  ] as const)(
    "gives up on a hung %s after its 1 s attempt, retries, and applies the document in the same run",
    async (_what, service, name) => {
      documentNumber += 1;
      const document: DesiredDocument = { refreshTokensValidityPeriod: 7200 + documentNumber };
      const version = suite.deployment.ssm.putParameter(suite.client.parameterName, JSON.stringify(document));
      /* A warm environment has the secrets cached: a cold one reads them. */
      if (service === "secretsManager") await suite.deployment.configSync.recycle();
      suite.deployment.faults[service].arm(`${name} hangs`, operation(name), { kind: "hang" }, 1);
      const result = await suite.deployment.configSync.invoke(suite.deployment.ssm.changes.at(-1));
      expect(result).toMatchObject({ ok: true });
      expect(result.ok && result.durationMs).toBeLessThan(10_000);
      expect(suite.deployment.faults[service].pending()).toBe(0);
      expect(
        suite.deployment.converged(
          suite.client,
          suite.deployment.desiredConfiguration(suite.client, document),
        ),
      ).toBe(true);
      expect(await suite.deployment.statusOf(suite.client)).toMatchObject({ parameterVersion: version });
    },
    20_000,
  );

  it("writes no secret to its logs", () => {
    const leaked = suite.leakedSecrets();
    expect(leaked).toEqual([]);
  });
});
