import { describe, expect, it } from "vitest";
import { readAhead } from "../../functions/config-sync/read-ahead.ts";

const ids = Array.from({ length: 9 }, (_, index) => `id-${index}`);

/** A read-ahead over `ids` in batches of 2, reading 4 past the id asked for; `cached` need no call. */
function recorded(cached: readonly string[] = []) {
  const calls: (readonly string[])[] = [];
  const reads = readAhead(ids, {
    batchSize: 2,
    aheadIds: 4,
    needsRead: (id) => !cached.includes(id),
    startCall: (batch) => {
      calls.push(batch);
      return `call ${calls.length}`;
    },
  });
  return { calls, reads };
}

describe("readAhead", () => {
  it("starts the call holding the id asked for and the calls for the ids up to aheadIds past it, each filled up to batchSize, each id in one call", () => {
    const { calls, reads } = recorded();
    expect(reads.ask("id-0")).toBe("call 1");
    expect(calls).toEqual([
      ["id-0", "id-1"],
      ["id-2", "id-3"],
    ]);
    expect(reads.ask("id-1")).toBe("call 1");
    expect(reads.ask("id-3")).toBe("call 2");
    expect(calls).toEqual([
      ["id-0", "id-1"],
      ["id-2", "id-3"],
      ["id-4", "id-5"],
      ["id-6", "id-7"],
    ]);
  });

  it("leaves out the ids the cache serves: no call for them, and batches filled with the next ids that need one", () => {
    const { calls, reads } = recorded(["id-0", "id-2"]);
    expect(reads.ask("id-0")).toBeUndefined();
    expect(calls).toEqual([["id-1", "id-3"]]);
  });

  it("reads an id the run did not list on its own, without reading ahead", () => {
    const { calls, reads } = recorded();
    expect(reads.ask("elsewhere")).toBe("call 1");
    expect(calls).toEqual([["elsewhere"]]);
  });
});
