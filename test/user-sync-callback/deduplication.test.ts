import { PutItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallbackMetric } from "../../functions/contracts/metrics.ts";
import { deletionGenerationKey } from "../../functions/contracts/user-deletion.ts";
import { createCallbackHandler } from "../../functions/user-sync-callback/app.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { createDefaultDependencies } from "../../functions/user-sync-callback/dependencies.ts";
import {
  DELETION_QUEUE_NAME,
  deliveryThrough,
  FAN_OUT_WINDOW_SECONDS,
  invoke,
  SANDBOX_CLIENT,
  TABLE_NAME,
} from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

const WINDOW_MS = FAN_OUT_WINDOW_SECONDS * 1000;
const DAY_S = 86_400;

/*
 * The handler's AWS clients give each attempt 1 s (functions/aws/client-config.ts). Here dynalite and
 * 30 concurrent deliveries share one process: on a busy machine an answer takes longer, the table
 * counts as failed and the delivery is handed off as a possible duplicate, by design (forwarding.test.ts
 * tests that path). This file is about the table's conditions, so its calls get time enough on any machine.
 */
vi.mock(import("../../functions/aws/client-config.ts"), async (importOriginal) => {
  const { AWS_CLIENT_CONFIG } = await importOriginal();
  return {
    AWS_CLIENT_CONFIG: {
      ...AWS_CLIENT_CONFIG,
      requestHandler: {
        ...AWS_CLIENT_CONFIG.requestHandler,
        connectionTimeout: 20_000,
        requestTimeout: 20_000,
      },
    },
  };
});

describe("user-sync-callback deletion generations (dynalite and the FIFO deletion queue)", () => {
  const suite = useCallbackSuite();
  const deadLettersOf = (userId: string) =>
    suite.standIns.deadLetters().filter((message) => message.userId === userId);
  const clientsOf = (userId: string, userBase = "live") =>
    suite.standIns.deletionsOf(userId, userBase).map((detail) => detail.client);

  /* The handler reads the time from Date: moving it is moving the clock the handler sees. */
  const at = (epochMs: number) => vi.useFakeTimers({ toFake: ["Date"], now: epochMs });
  const deliver = (client: Parameters<typeof deliveryThrough>[0], userId: string) =>
    invoke(suite.handler, deliveryThrough(client, userId));

  afterEach(() => {
    vi.useRealTimers();
  });

  it("forwards a deletion that every client of the user base reports, one after another, once", async () => {
    const answers = [
      await deliver("acme", "seq-1"),
      await deliver("globex", "seq-1"),
      await deliver("umbrella", "seq-1"),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202]);
    expect(clientsOf("seq-1")).toEqual(["acme"]);
    /* The copies found the deletion enqueued, so they sent nothing. */
    expect(suite.standIns.enqueued().filter((detail) => detail.userId === "seq-1")).toHaveLength(1);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "globex")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "umbrella")).toBe(1);
  });

  it("forwards a user re-created and deleted again seconds later through the same client as a second deletion", async () => {
    const start = Date.now();
    at(start);
    await deliver("acme", "recreated-1");
    await deliver("globex", "recreated-1");
    at(start + 3_000);
    await deliver("acme", "recreated-1");
    await deliver("globex", "recreated-1");
    await deliver("umbrella", "recreated-1");
    const deletions = suite.standIns.deletionsOf("recreated-1");
    expect(deletions.map((detail) => detail.client)).toEqual(["acme", "acme"]);
    expect(deletions[0]?.deletionId).not.toBe(deletions[1]?.deletionId);
    expect(Date.parse(String(deletions[1]?.receivedAt))).toBe(start + 3_000);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(2);
  });

  it("forwards a user base's single client's every delivery: a user reused across runs is deleted each time", async () => {
    const start = Date.now();
    for (const [run, offsetMs] of [0, 2_000, 4_000, 3 * WINDOW_MS].entries()) {
      at(start + offsetMs);
      expect((await deliver(SANDBOX_CLIENT, "reused-1")).statusCode, `run ${run}`).toBe(202);
    }
    expect(clientsOf("reused-1", "sandbox")).toEqual(Array(4).fill(SANDBOX_CLIENT));
    expect(new Set(suite.standIns.deletionsOf("reused-1", "sandbox").map((d) => d.deletionId)).size).toBe(4);
  });

  it("forwards a new deletion once every client of the user base delivered the current one", async () => {
    for (const client of ["acme", "globex", "umbrella", "globex"] as const) await deliver(client, "all-1");
    expect(clientsOf("all-1")).toEqual(["acme", "globex"]);
  });

  it("forwards two deliveries through the same client at the same moment as two deletions", async () => {
    const answers = await Promise.all([deliver("acme", "twice-1"), deliver("acme", "twice-1")]);
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202]);
    expect(clientsOf("twice-1")).toEqual(["acme", "acme"]);
  });

  it("takes a copy 1 s before the window ends as a duplicate, and one at its end as a new deletion", async () => {
    const start = Date.now();
    at(start);
    await deliver("acme", "window-1");
    at(start + WINDOW_MS - 1_000);
    await deliver("globex", "window-1");
    expect(clientsOf("window-1")).toEqual(["acme"]);
    at(start + WINDOW_MS);
    await deliver("umbrella", "window-1");
    expect(clientsOf("window-1")).toEqual(["acme", "umbrella"]);
  });

  it("forwards each of two user bases' deletions of the same user id, each naming its user base and environment", async () => {
    await Promise.all([deliver("acme", "customer-4711"), deliver(SANDBOX_CLIENT, "customer-4711")]);
    expect(suite.standIns.deletionsOf("customer-4711", "live")).toEqual([
      expect.objectContaining({ userBase: "live", environment: "live", client: "acme" }),
    ]);
    expect(suite.standIns.deletionsOf("customer-4711", "sandbox")).toEqual([
      expect.objectContaining({ userBase: "sandbox", environment: "sandbox", client: SANDBOX_CLIENT }),
    ]);
    const groups = suite.standIns
      .sendCalls()
      .filter((call) => call.body.userId === "customer-4711")
      .map((call) => call.groupId);
    expect(groups.sort()).toEqual(["live:customer-4711", "sandbox:customer-4711"]);
    /* The sandbox deletion is not a copy of the live one: globex's copy is still a duplicate of the live one. */
    await deliver("globex", "customer-4711");
    expect(suite.standIns.deletionsOf("customer-4711", "live")).toHaveLength(1);
  });

  it("hands off one deletion id for three clients delivering one deletion at the same moment, for each of 10 users, every delivery answered 202", async () => {
    const users = Array.from({ length: 10 }, (_, index) => `burst-${index}`);
    const answers = await Promise.all(
      users.flatMap((userId) =>
        (["acme", "globex", "umbrella"] as const).map((client) => deliver(client, userId)),
      ),
    );
    expect(answers.every((answer) => answer.statusCode === 202)).toBe(true);
    for (const userId of users) {
      expect(suite.standIns.deletionsOf(userId)).toHaveLength(1);
      /* A copy that found the deletion not yet enqueued sent the same message: same deduplication id. */
      const sent = suite.standIns.sendCalls().filter((call) => call.body.userId === userId);
      expect(new Set(sent.map((call) => call.deduplicationId)).size).toBe(1);
      expect(sent.every((call) => call.queueName === DELETION_QUEUE_NAME)).toBe(true);
      expect(deadLettersOf(userId)).toEqual([]);
    }
    const count = (name: string) => suite.output.metrics().filter((metric) => metric.name === name).length;
    expect([count(CallbackMetric.Forwarded), count(CallbackMetric.Duplicate)]).toEqual([10, 20]);
  }, 60_000);

  it("forwards different users' deletions each", async () => {
    await Promise.all(["many-1", "many-2", "many-3"].map((userId) => deliver("acme", userId)));
    for (const userId of ["many-1", "many-2", "many-3"]) expect(clientsOf(userId)).toEqual(["acme"]);
  });

  it("keeps the deletion under (userBase, userId) and lets it expire a day after the fan-out window", async () => {
    const before = Math.floor(Date.now() / 1000);
    await deliver("acme", "record-1");
    await deliver("globex", "record-1");
    const { Items = [] } = await suite.standIns.dynamo.client.send(
      new ScanCommand({ TableName: TABLE_NAME }),
    );
    const item = Items.map((raw) => unmarshall(raw)).find(
      (candidate) => candidate.id === deletionGenerationKey("live", "record-1"),
    );
    expect(item).toMatchObject({
      deletionId: suite.standIns.deletionsOf("record-1")[0]?.deletionId,
      deliveredBy: new Set(["acme", "globex"]),
      enqueued: true,
    });
    expect(item?.expiration).toBeGreaterThanOrEqual(before + FAN_OUT_WINDOW_SECONDS + DAY_S);
    expect(item?.expiration).toBeLessThanOrEqual(before + FAN_OUT_WINDOW_SECONDS + DAY_S + 5);
  });

  it("sends the stored deletion again from a copy that finds it not yet enqueued (its first delivery slow or dead)", async () => {
    /* As a delivery leaves it that recorded the deletion and then stalled before sending it. */
    const deletionId = crypto.randomUUID();
    const firstDeliveredAt = Date.now() - 1_000;
    await suite.standIns.dynamo.client.send(
      new PutItemCommand({
        TableName: TABLE_NAME,
        Item: {
          id: { S: deletionGenerationKey("live", "stalled-1") },
          deletionId: { S: deletionId },
          userBase: { S: "live" },
          environment: { S: "live" },
          userId: { S: "stalled-1" },
          event: { S: "DELETED" },
          client: { S: "umbrella" },
          firstDeliveredAt: { N: String(firstDeliveredAt) },
          deliveredBy: { SS: ["umbrella"] },
          deliveryIds: { SS: [crypto.randomUUID()] },
          enqueued: { BOOL: false },
          expiration: { N: String(Math.floor(firstDeliveredAt / 1000) + FAN_OUT_WINDOW_SECONDS + DAY_S) },
        },
      }),
    );
    expect((await deliver("acme", "stalled-1")).statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("stalled-1")).toEqual([
      {
        deletionId,
        userBase: "live",
        environment: "live",
        userId: "stalled-1",
        event: "DELETED",
        client: "umbrella",
        receivedAt: new Date(firstDeliveredAt).toISOString(),
      },
    ]);
    expect(suite.output.count(CallbackMetric.Duplicate, "acme")).toBe(1);
    /* Now recorded as enqueued: the next copy sends nothing. */
    await deliver("globex", "stalled-1");
    expect(suite.standIns.enqueued().filter((detail) => detail.userId === "stalled-1")).toHaveLength(1);
  });

  it("hands off one deletion id when the delivery that recorded the deletion stalls before sending it while the copies arrive", async () => {
    const config = loadCallbackConfig(process.env);
    const dependencies = createDefaultDependencies(config);
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reachedSend: () => void = () => {};
    const atSend = new Promise<void>((resolve) => {
      reachedSend = resolve;
    });
    /* A starved instance: it recorded the deletion, then got no CPU until the others were done. */
    const starved = createCallbackHandler({
      ...dependencies,
      sendToDeletionQueue: async (detail, signal) => {
        reachedSend();
        await released;
        return dependencies.sendToDeletionQueue(detail, signal);
      },
    });
    const first = invoke(starved, deliveryThrough("acme", "starved-1"));
    await atSend;
    const copies = [await deliver("globex", "starved-1"), await deliver("umbrella", "starved-1")];
    release();
    const answers = [await first, ...copies];
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202]);
    expect(clientsOf("starved-1")).toEqual(["acme"]);
    const sent = suite.standIns.sendCalls().filter((call) => call.body.userId === "starved-1");
    /* globex's copy found it not enqueued and sent it; the starved delivery's own send is the same message. */
    expect(sent).toHaveLength(2);
    expect(new Set(sent.map((call) => call.deduplicationId)).size).toBe(1);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "globex")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "umbrella")).toBe(1);
  });

  describe("when the copies of two deletions of one user interleave", () => {
    it("forwards both when the second deletion starts after the first one's copies all arrived", async () => {
      for (const client of ["acme", "globex", "umbrella", "globex", "acme", "umbrella"] as const) {
        await deliver(client, "interleave-1");
      }
      expect(clientsOf("interleave-1")).toEqual(["acme", "globex"]);
    });

    /*
     * The case the rules cannot tell apart: umbrella's late copy of the first deletion arrives after the
     * second deletion started, so it is taken for a copy of the second, and umbrella's own copy of the
     * second is then forwarded as a third. An extra event, never a swallowed deletion.
     */
    it("forwards both, and one extra, when a copy of the first deletion arrives after the second started", async () => {
      for (const client of ["acme", "globex", "acme", "umbrella", "globex", "umbrella"] as const) {
        await deliver(client, "interleave-2");
      }
      expect(clientsOf("interleave-2")).toEqual(["acme", "acme", "umbrella"]);
    });

    it("forwards one extra deletion for each client whose copies of the two deletions crossed", async () => {
      for (const client of ["acme", "acme", "globex", "globex", "umbrella", "umbrella"] as const) {
        await deliver(client, "interleave-3");
      }
      expect(clientsOf("interleave-3")).toEqual(["acme", "acme", "globex", "umbrella"]);
    });
  });
});
