import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deployLocally, type LocalDeployment } from "./support/deployment.ts";
import { operation } from "./support/fault-proxy.ts";
import { type SynthesizedStack, synthesizeStack } from "./support/synthesized-stack.ts";

const deletion = (userId: string) => JSON.stringify({ userId, event: "DELETED" });

describe("the callback bundle when an AWS call is never answered", () => {
  let stack: SynthesizedStack;
  let deployment: LocalDeployment;

  beforeAll(async () => {
    stack = synthesizeStack();
    deployment = await deployLocally(stack);
  }, 60_000);

  afterAll(async () => {
    await deployment?.close();
    stack?.remove();
  });

  const deliver = async (userId: string) => {
    const [client] = deployment.clients;
    if (!client) throw new Error("the stack configures no client");
    return deployment.callback.invoke(deployment.callbackEvent(client, deletion(userId)));
  };

  it.each([
    ["DynamoDB PutItem (the idempotency record)", "dynamodb", "PutItem", "user-hung-put"],
    ["EventBridge PutEvents", "eventBridge", "PutEvents", "user-hung-publish"],
  ] as const)(
    "gives up on a hung %s after its 1 s attempt, retries, and forwards the deletion once",
    async (_what, service, name, userId) => {
      deployment.faults[service].arm(`${name} hangs`, operation(name), { kind: "hang" }, 1);
      const result = await deliver(userId);
      expect(result).toMatchObject({ ok: true, payload: { statusCode: 202 } });
      expect(deployment.faults.dynamodb.pending() + deployment.faults.eventBridge.pending()).toBe(0);
      expect(deployment.forwarded().filter((detail) => detail.userId === userId)).toHaveLength(1);
      expect(deployment.deadLetters().filter((message) => message.userId === userId)).toEqual([]);
    },
    20_000,
  );

  it("writes no secret to its logs", () => {
    const leaked = deployment
      .secrets()
      .filter((secret) => deployment.lines.some((line) => line.includes(secret)));
    expect(deployment.lines.length).toBeGreaterThan(0);
    expect(leaked).toEqual([]);
  });
});
