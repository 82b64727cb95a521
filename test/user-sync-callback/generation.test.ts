import { describe, expect, it } from "vitest";
import { userDeletedDetailSchema } from "../../functions/contracts/user-deletion.ts";
import {
  type DeletionGeneration,
  type DeliveryFacts,
  detailOf,
  judgeDelivery,
  startGeneration,
} from "../../functions/user-sync-callback/generation.ts";

const WINDOW_MS = 3_600_000;
const FIRST_AT = Date.parse("2026-03-01T10:00:00.000Z");
const CLIENTS = ["acme", "globex", "umbrella"];

const generation = (deliveredBy: string[]): DeletionGeneration => ({
  deletionId: "0b6f4f0e-6a53-4f3e-9d4b-0d3c2f1a9e71",
  userBase: "live",
  environment: "live",
  userId: "customer-4711",
  event: "DELETED",
  client: deliveredBy[0] ?? "acme",
  firstDeliveredAt: FIRST_AT,
  deliveredBy,
  enqueued: true,
});

const facts = (overrides: Partial<DeliveryFacts>): DeliveryFacts => ({
  current: generation(["acme"]),
  client: "globex",
  clientsOfUserBase: CLIENTS,
  now: FIRST_AT + 1_000,
  fanOutWindowMs: WINDOW_MS,
  ...overrides,
});

describe("judgeDelivery", () => {
  it.each<[string, Partial<DeliveryFacts>, ReturnType<typeof judgeDelivery>["kind"], string | undefined]>([
    ["the first delivery the table knows of", { current: undefined }, "new", "first-known"],
    ["another client within the window", {}, "duplicate", undefined],
    [
      "a third client within the window",
      { current: generation(["acme", "globex"]), client: "umbrella" },
      "duplicate",
      undefined,
    ],
    ["the same client again, a second later", { client: "acme" }, "new", "client-delivered-again"],
    [
      "the same client again, at the same millisecond",
      { client: "acme", now: FIRST_AT },
      "new",
      "client-delivered-again",
    ],
    [
      "any client once every client of the user base delivered",
      { current: generation(["acme", "globex", "umbrella"]), client: "globex" },
      "new",
      "every-client-delivered",
    ],
    ["another client 1 ms before the window ends", { now: FIRST_AT + WINDOW_MS - 1 }, "duplicate", undefined],
    ["another client when the window ends", { now: FIRST_AT + WINDOW_MS }, "new", "fan-out-window-passed"],
    [
      "another client long after the window",
      { now: FIRST_AT + 30 * WINDOW_MS },
      "new",
      "fan-out-window-passed",
    ],
    /* Another instance's clock may run behind the first delivery's: that is inside the window, not before it. */
    [
      "another client on a clock behind the first delivery's",
      { now: FIRST_AT - 5_000 },
      "duplicate",
      undefined,
    ],
    [
      "a client delivering for a user base it alone serves, again",
      { current: generation(["solo"]), client: "solo", clientsOfUserBase: ["solo"] },
      "new",
      "every-client-delivered",
    ],
  ])("judges %s", (_case, overrides, kind, reason) => {
    const verdict = judgeDelivery(facts(overrides));
    expect(verdict.kind).toBe(kind);
    expect(verdict.kind === "new" ? verdict.reason : undefined).toBe(reason);
  });

  it("names the current deletion in a duplicate verdict", () => {
    const current = generation(["acme"]);
    expect(judgeDelivery(facts({ current }))).toEqual({ kind: "duplicate", of: current });
  });

  it("does not count a client no longer configured towards every client having delivered", () => {
    const verdict = judgeDelivery(facts({ current: generation(["acme", "retired"]), client: "globex" }));
    expect(verdict.kind).toBe("duplicate");
  });
});

describe("startGeneration and detailOf", () => {
  const delivery = {
    userBase: "sandbox",
    environment: "sandbox" as const,
    userId: "customer-4711",
    event: "DELETED" as const,
    client: "acme-sandbox",
    at: FIRST_AT,
  };

  it("starts a deletion delivered by its first client only, not yet enqueued", () => {
    expect(startGeneration(delivery, "0b6f4f0e-6a53-4f3e-9d4b-0d3c2f1a9e71")).toEqual({
      deletionId: "0b6f4f0e-6a53-4f3e-9d4b-0d3c2f1a9e71",
      userBase: "sandbox",
      environment: "sandbox",
      userId: "customer-4711",
      event: "DELETED",
      client: "acme-sandbox",
      firstDeliveredAt: FIRST_AT,
      deliveredBy: ["acme-sandbox"],
      enqueued: false,
    });
  });

  it("describes the deletion by its first delivery, whichever delivery hands it off, as the contract says", () => {
    const later = { ...generation(["acme", "globex"]), enqueued: false };
    const detail = detailOf(later);
    expect(userDeletedDetailSchema.parse(detail)).toEqual({
      deletionId: later.deletionId,
      userBase: "live",
      environment: "live",
      userId: "customer-4711",
      event: "DELETED",
      client: "acme",
      receivedAt: "2026-03-01T10:00:00.000Z",
    });
  });
});
