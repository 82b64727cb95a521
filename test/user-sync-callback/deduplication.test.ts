import { createHash } from "node:crypto";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CallbackMetric } from "../../functions/observability/metrics.ts";
import { IDEMPOTENCY_KEY_PREFIX } from "../../functions/user-sync-callback/forward-once.ts";
import { deletionBody, invoke, pathOf, secrets, TABLE_NAME, TTL_SECONDS } from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

const viaAcme = (userId: string) => ({ body: deletionBody(userId) });
const viaGlobex = (userId: string) => ({
  path: pathOf("globex", secrets.globex.current),
  body: deletionBody(userId),
});

describe("user-sync-callback deduplication (Powertools Idempotency on dynalite)", () => {
  const suite = useCallbackSuite();

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
    expect(suite.output.logs().filter((log) => log.duplicateOf === "in-progress").length).toBeGreaterThan(0);
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
    /* Powertools' key: the prefix, then the MD5 (base64) of the key payload with its keys sorted. */
    const keyHash = createHash("md5")
      .update(JSON.stringify({ event: "DELETED", userId: "record-1" }))
      .digest("base64");
    const record = Items.map((item) => unmarshall(item)).find(
      (item) => item.id === `${IDEMPOTENCY_KEY_PREFIX}#${keyHash}`,
    );
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
});
