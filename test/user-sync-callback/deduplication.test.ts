import { createHash } from "node:crypto";
import { DeleteItemCommand, PutItemCommand, ScanCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { marshall, unmarshall } from "@aws-sdk/util-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallbackMetric } from "../../functions/observability/metrics.ts";
import { IDEMPOTENCY_KEY_PREFIX } from "../../functions/user-sync-callback/forward-once.ts";
import {
  callbackEvent,
  deletionBody,
  invoke,
  lambdaContext,
  pathOf,
  secrets,
  TABLE_NAME,
  TTL_SECONDS,
} from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

const viaAcme = (userId: string) => ({ body: deletionBody(userId) });
const viaGlobex = (userId: string) => ({
  path: pathOf("globex", secrets.globex.current),
  body: deletionBody(userId),
});

/* Powertools' key: the prefix, then the MD5 (base64) of the key payload with its keys sorted. */
const recordIdOf = (userId: string) =>
  `${IDEMPOTENCY_KEY_PREFIX}#${createHash("md5")
    .update(JSON.stringify({ event: "DELETED", userId }))
    .digest("base64")}`;

describe("user-sync-callback deduplication (Powertools Idempotency on dynalite)", () => {
  const suite = useCallbackSuite();
  const deadLettersOf = (userId: string) =>
    suite.standIns.deadLetters().filter((message) => message.userId === userId);

  afterEach(() => {
    vi.useRealTimers();
  });

  it("forwards a deletion that every client reports, one after another, once", async () => {
    const answers = [
      await invoke(suite.handler, viaAcme("seq-1")),
      await invoke(suite.handler, viaGlobex("seq-1")),
      await invoke(suite.handler, viaAcme("seq-1")),
    ];
    expect(answers.map((answer) => answer.statusCode)).toEqual([202, 202, 202]);
    expect(suite.standIns.deletionsOf("seq-1").map((event) => event.detail.client)).toEqual(["acme"]);
    expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "globex")).toBe(1);
    expect(suite.output.count(CallbackMetric.Duplicate, "acme")).toBe(1);
  });

  it("forwards 50 deliveries of one deletion that arrive at the same moment once", async () => {
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        invoke(suite.handler, index % 2 ? viaAcme("burst-1") : viaGlobex("burst-1")),
      ),
    );
    expect(answers.every((answer) => answer.statusCode === 202)).toBe(true);
    expect(suite.standIns.deletionsOf("burst-1")).toHaveLength(1);
    const forwarded = suite.output.metrics().filter((metric) => metric.name === CallbackMetric.Forwarded);
    const duplicates = suite.output.metrics().filter((metric) => metric.name === CallbackMetric.Duplicate);
    expect([forwarded.length, duplicates.length]).toEqual([1, 49]);
    expect(deadLettersOf("burst-1")).toEqual([]);
  });

  it("forwards different users' deletions each", async () => {
    await Promise.all(["many-1", "many-2", "many-3"].map((userId) => invoke(suite.handler, viaAcme(userId))));
    for (const userId of ["many-1", "many-2", "many-3"])
      expect(suite.standIns.deletionsOf(userId)).toHaveLength(1);
  });

  it("keys the record on the deletion alone and lets it expire after the configured window", async () => {
    const before = Math.floor(Date.now() / 1000);
    await invoke(suite.handler, viaAcme("record-1"));
    const { Items = [] } = await suite.standIns.dynamo.client.send(
      new ScanCommand({ TableName: TABLE_NAME }),
    );
    const record = Items.map((item) => unmarshall(item)).find((item) => item.id === recordIdOf("record-1"));
    expect(record).toMatchObject({ status: "COMPLETED" });
    expect(record?.expiration).toBeGreaterThanOrEqual(before + TTL_SECONDS);
    expect(record?.expiration).toBeLessThanOrEqual(before + TTL_SECONDS + 5);
  });

  it("still treats a repeat just inside the window as a duplicate", async () => {
    await invoke(suite.handler, viaAcme("window-1"));
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + (TTL_SECONDS - 60) * 1000 });
    const repeat = await invoke(suite.handler, viaGlobex("window-1"));
    expect(repeat.statusCode).toBe(202);
    expect(suite.standIns.deletionsOf("window-1")).toHaveLength(1);
  });

  it("forwards a repeat again once the record has expired, and then dedupes that one", async () => {
    await invoke(suite.handler, viaAcme("expired-1"));
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + (TTL_SECONDS + 60) * 1000 });
    await invoke(suite.handler, viaGlobex("expired-1"));
    await invoke(suite.handler, viaAcme("expired-1"));
    expect(suite.standIns.deletionsOf("expired-1").map((event) => event.detail.client)).toEqual([
      "acme",
      "globex",
    ]);
  });

  describe("when another delivery holds the deletion in progress", () => {
    /* A record as another delivery's Powertools writes it: it carries that delivery's id, not this one's. */
    const holdElsewhere = (userId: string, heldForMs: number) =>
      suite.standIns.dynamo.client.send(
        new PutItemCommand({
          TableName: TABLE_NAME,
          Item: marshall({
            id: recordIdOf(userId),
            status: "INPROGRESS",
            expiration: Math.floor(Date.now() / 1000) + TTL_SECONDS,
            in_progress_expiration: Date.now() + heldForMs,
            validation: "another-delivery",
          }),
        }),
      );
    const afterMs = (ms: number, action: () => Promise<unknown>) =>
      new Promise((resolve) => setTimeout(resolve, ms)).then(action);

    it("answers as a duplicate once that delivery completes it, without forwarding", async () => {
      await holdElsewhere("held-1", 60_000);
      const [answer] = await Promise.all([
        invoke(suite.handler, viaAcme("held-1")),
        afterMs(300, () =>
          suite.standIns.dynamo.client.send(
            new UpdateItemCommand({
              TableName: TABLE_NAME,
              Key: marshall({ id: recordIdOf("held-1") }),
              UpdateExpression: "SET #status = :completed",
              ExpressionAttributeNames: { "#status": "status" },
              ExpressionAttributeValues: marshall({ ":completed": "COMPLETED" }),
            }),
          ),
        ),
      ]);
      expect(answer.statusCode).toBe(202);
      expect(suite.standIns.deletionsOf("held-1")).toEqual([]);
      expect(deadLettersOf("held-1")).toEqual([]);
      expect(suite.output.count(CallbackMetric.Duplicate, "acme")).toBe(1);
    });

    it("forwards the deletion itself once that delivery releases the record", async () => {
      await holdElsewhere("held-2", 60_000);
      const [answer] = await Promise.all([
        invoke(suite.handler, viaAcme("held-2")),
        afterMs(300, () =>
          suite.standIns.dynamo.client.send(
            new DeleteItemCommand({ TableName: TABLE_NAME, Key: marshall({ id: recordIdOf("held-2") }) }),
          ),
        ),
      ]);
      expect(answer.statusCode).toBe(202);
      expect(suite.standIns.deletionsOf("held-2")).toHaveLength(1);
      expect(suite.output.count(CallbackMetric.Forwarded, "acme")).toBe(1);
    });

    it("takes the deletion over and forwards it when that delivery's hold runs out (it died)", async () => {
      await holdElsewhere("held-3", 400);
      const answer = await invoke(suite.handler, viaAcme("held-3"));
      expect(answer.statusCode).toBe(202);
      expect(suite.standIns.deletionsOf("held-3")).toHaveLength(1);
      expect(deadLettersOf("held-3")).toEqual([]);
    });

    it("keeps the deletion in the dead-letter queue when that delivery still holds it at this one's deadline", async () => {
      await holdElsewhere("held-4", 60_000);
      /* 600 ms left for publishing once the 4 s dead-letter reserve is set aside. */
      const answer = await suite.handler(callbackEvent(viaAcme("held-4")), lambdaContext(4_600));
      expect(answer).toMatchObject({ statusCode: 202 });
      expect(suite.standIns.deletionsOf("held-4")).toEqual([]);
      expect(deadLettersOf("held-4")).toEqual([
        expect.objectContaining({
          client: "acme",
          reason: "another delivery holds the deletion and did not settle it before this delivery's deadline",
        }),
      ]);
      expect(suite.output.count(CallbackMetric.ForwardFailed, "acme")).toBe(1);
    });
  });
});
