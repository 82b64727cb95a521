import { describe, expect, it } from "vitest";
import { createLimiter, mapConcurrently } from "../../functions/config-sync/concurrency.ts";

describe("mapConcurrently", () => {
  it("never has more than the limit in flight and keeps the input order", async () => {
    let inFlight = 0;
    let mostInFlight = 0;
    const releases: (() => void)[] = [];
    const running = mapConcurrently(
      Array.from({ length: 20 }, (_, index) => index),
      8,
      async (item) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await new Promise<void>((resolve) => releases.push(resolve));
        inFlight--;
        return item * 10;
      },
    );
    while (releases.length > 0 || inFlight > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      releases
        .splice(0)
        .reverse()
        .forEach((release) => {
          release();
        });
    }
    expect(await running).toEqual(Array.from({ length: 20 }, (_, index) => index * 10));
    expect(mostInFlight).toBe(8);
  });

  it("answers an empty list with an empty list", async () => {
    expect(await mapConcurrently([], 8, async () => 1)).toEqual([]);
  });
});

describe("createLimiter", () => {
  it("runs at most the limit at once, starts the others in the order asked, and passes results and failures through", async () => {
    const limit = createLimiter(2);
    const started: number[] = [];
    const releases = new Map<number, () => void>();
    const task = (id: number) =>
      limit(async () => {
        started.push(id);
        await new Promise<void>((resolve) => releases.set(id, resolve));
        if (id === 3) throw new Error("task 3 failed");
        return id;
      });
    const tasks = [1, 2, 3, 4].map(task);
    const settled = Promise.allSettled(tasks);
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2]);

    releases.get(2)?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3]);
    releases.get(3)?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([1, 2, 3, 4]);
    releases.get(1)?.();
    releases.get(4)?.();

    expect(
      (await settled).map((result) => (result.status === "fulfilled" ? result.value : "failed")),
    ).toEqual([1, 2, "failed", 4]);
  });
});
