import { describe, expect, it } from "vitest";
import { loadPublisherConfig } from "../../functions/deletion-publisher/config.ts";

const valid = { EVENT_BUS_NAME: "FinapiConfigSync-user-sync", DELETIONS_TABLE_NAME: "deletions" };

const failure = (environment: Record<string, string | undefined>) => {
  try {
    loadPublisherConfig(environment);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
};

describe("loadPublisherConfig", () => {
  it("reads the bus and the deletions table", () => {
    expect(loadPublisherConfig(valid)).toEqual({
      eventBusName: "FinapiConfigSync-user-sync",
      deletionsTableName: "deletions",
    });
  });

  it.each([
    ["an unset bus", { EVENT_BUS_NAME: undefined }, "EVENT_BUS_NAME: is required"],
    ["an empty table name", { DELETIONS_TABLE_NAME: "" }, "DELETIONS_TABLE_NAME: is required"],
  ])("refuses %s, naming the variable and the rule", (_, change, message) => {
    expect(failure({ ...valid, ...change })).toBe(`deletion-publisher configuration is invalid: ${message}`);
  });

  it("names every bad variable in one message", () => {
    expect(failure({})).toBe(
      "deletion-publisher configuration is invalid: EVENT_BUS_NAME: is required; DELETIONS_TABLE_NAME: is required",
    );
  });
});
