import { describe, expect, it } from "vitest";
import { mapConcurrently } from "../../functions/config-sync/concurrency.ts";

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
