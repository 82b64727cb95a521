import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ActivityLog, ActivityTimeoutError } from "../../local/activity.ts";

const inSync = (client: string) =>
  ({
    kind: "sync",
    trigger: "schedule",
    result: { client, outcome: "in-sync", finapiRequestId: "f-1" },
  }) as const;

describe("ActivityLog", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps every activity in order and tells subscribers as they happen", () => {
    const log = new ActivityLog();
    const heard: string[] = [];
    const unsubscribe = log.subscribe((activity) => heard.push(activity.kind));
    log.record({ kind: "schedule" });
    unsubscribe();
    log.record(inSync("live"));
    expect(log.all.map((activity) => activity.kind)).toEqual(["schedule", "sync"]);
    expect(heard).toEqual(["schedule"]);
  });

  it("lists the activities of one kind recorded since a mark that match", () => {
    const log = new ActivityLog();
    log.record(inSync("live"));
    const mark = log.mark();
    log.record(inSync("sandbox"));
    log.record({ kind: "schedule" });
    expect(log.since(mark, "sync").map((sync) => sync.result.client)).toEqual(["sandbox"]);
    expect(log.since(0, "sync", (sync) => sync.result.client === "live")).toHaveLength(1);
  });

  it("resolves a wait with activities already recorded since the mark", async () => {
    const log = new ActivityLog();
    log.record(inSync("live"));
    await expect(log.waitFor("a sync", { since: 0, kind: "sync", timeoutMs: 1000 })).resolves.toEqual([
      inSync("live"),
    ]);
  });

  it("resolves a wait once enough matching activities come in", async () => {
    const log = new ActivityLog();
    const waiting = log.waitFor("two syncs", { since: log.mark(), kind: "sync", count: 2, timeoutMs: 1000 });
    log.record(inSync("live"));
    log.record({ kind: "schedule" });
    log.record(inSync("sandbox"));
    await expect(waiting).resolves.toEqual([inSync("live"), inSync("sandbox")]);
  });

  it("rejects a wait after the timeout, naming what was awaited", async () => {
    const log = new ActivityLog();
    const waiting = log.waitFor("the sync of live", {
      since: 0,
      kind: "sync",
      matches: (sync) => sync.result.client === "live",
      timeoutMs: 500,
    });
    log.record(inSync("sandbox"));
    vi.advanceTimersByTime(500);
    await expect(waiting).rejects.toThrow(
      new ActivityTimeoutError("the sync of live: not seen within 500 ms"),
    );
  });
});
