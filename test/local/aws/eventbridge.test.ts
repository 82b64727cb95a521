import { EventBridgeClient, PutEventsCommand } from "@aws-sdk/client-eventbridge";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EventBridgeStandIn, startEventBridge } from "../../../local/aws/eventbridge.ts";
import { AwsServiceError } from "../../../local/aws/json-protocol-server.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startEventBridge", () => {
  let standIn: EventBridgeStandIn;
  let client: EventBridgeClient;
  const routed: string[] = [];

  beforeAll(async () => {
    standIn = await startEventBridge({
      busNames: ["project-bus"],
      onEvent: (event) => routed.push(event.eventId),
    });
    client = new EventBridgeClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  const entry = (detail: string, eventBusName = "project-bus") => ({
    EventBusName: eventBusName,
    Source: "test.source",
    DetailType: "Test Happened",
    Detail: detail,
  });

  it("accepts events, records them with their parsed detail and passes them to onEvent", async () => {
    const result = await client.send(new PutEventsCommand({ Entries: [entry('{"n":1}'), entry('{"n":2}')] }));
    expect(result.FailedEntryCount).toBe(0);
    const ids = result.Entries?.map((answer) => answer.EventId);
    expect(standIn.events.slice(-2)).toMatchObject([
      { eventId: ids?.[0], eventBusName: "project-bus", source: "test.source", detail: { n: 1 } },
      { eventId: ids?.[1], detailType: "Test Happened", detail: { n: 2 } },
    ]);
    expect(routed.slice(-2)).toEqual(ids);
  });

  it("fails entries with a malformed detail or an unknown bus inside a 200 answer", async () => {
    const before = standIn.events.length;
    const result = await client.send(
      new PutEventsCommand({ Entries: [entry("[1]"), entry("{}", "other-bus"), entry("{}")] }),
    );
    expect(result.FailedEntryCount).toBe(2);
    expect(result.Entries?.map((answer) => answer.ErrorCode)).toEqual([
      "MalformedDetail",
      "ResourceNotFoundException",
      undefined,
    ]);
    expect(standIn.events.length).toBe(before + 1);
  });

  it("fails the next entries on demand, then accepts again", async () => {
    standIn.failNextEntries(1);
    const failed = await client.send(new PutEventsCommand({ Entries: [entry("{}"), entry("{}")] }));
    expect(failed.FailedEntryCount).toBe(1);
    expect(failed.Entries?.[0]).toMatchObject({ ErrorCode: "InternalFailure" });
    expect(failed.Entries?.[1]?.EventId).toBeTypeOf("string");
  });

  it("rejects a call without entries or with more than ten", async () => {
    await expect(client.send(new PutEventsCommand({ Entries: [] }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    await expect(
      client.send(new PutEventsCommand({ Entries: Array.from({ length: 11 }, () => entry("{}")) })),
    ).rejects.toMatchObject({ name: "ValidationException" });
  });

  it("fails whole calls on demand", async () => {
    standIn.failNext("PutEvents", new AwsServiceError("InternalException", "down", 500));
    await expect(client.send(new PutEventsCommand({ Entries: [entry("{}")] }))).rejects.toMatchObject({
      name: "InternalException",
    });
  });
});
