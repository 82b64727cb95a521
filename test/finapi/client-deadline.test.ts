import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { createFinapiClient, type FinapiClientOptions } from "../../functions/finapi/client.ts";
import { type Deadline, FinapiOutOfTimeError } from "../../functions/finapi/deadline.ts";
import { fakeTime } from "../support/fake-time.ts";

const CLIENT_ID = "deadline-client";
const CLIENT_SECRET = "D3adline-secret-never-printed";
const REQUEST_TIMEOUT_MS = 10_000;

describe("createFinapiClient with a deadline", () => {
  let emulator: FinapiEmulator;

  beforeAll(async () => {
    emulator = await startFinapiEmulator({ clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }] });
  });
  afterAll(() => emulator.close());
  afterEach(() => emulator.clearRequests());

  /** A deadline `remainingMs` from now on the fake clock, with its own abort controller. */
  function client(remainingMs: number, overrides: Partial<FinapiClientOptions> = {}) {
    const time = fakeTime();
    const controller = new AbortController();
    const endsAt = time.now() + remainingMs;
    const deadline: Deadline = { signal: controller.signal, remainingMs: () => endsAt - time.now() };
    const finapi = createFinapiClient({
      baseUrl: emulator.url,
      credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
      now: time.now,
      sleep: time.sleep,
      random: () => 0.5,
      ...overrides,
    });
    return { finapi, time, controller, deadline };
  }

  const calls = () => emulator.requests.map((request) => `${request.method} ${request.status}`);

  it("sends nothing when less than one request timeout is left", async () => {
    const { finapi, deadline } = client(REQUEST_TIMEOUT_MS - 1);
    const failure = await finapi.getClientConfiguration({ deadline }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiOutOfTimeError);
    expect((failure as Error).message).toBe(
      `out of time: POST /oauth/token was not sent: ${REQUEST_TIMEOUT_MS - 1} ms were left and an attempt may take ${REQUEST_TIMEOUT_MS} ms`,
    );
    expect(calls()).toEqual([]);
  });

  it("starts a PATCH only when it can finish before the deadline", async () => {
    const { finapi, time, deadline } = client(3 * REQUEST_TIMEOUT_MS);
    await finapi.getClientConfiguration({ deadline });
    time.advance(2 * REQUEST_TIMEOUT_MS + 1);
    const failure = await finapi
      .patchClientConfiguration({ refreshTokensValidityPeriod: 7200 }, { deadline })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ name: "FinapiOutOfTimeError", method: "PATCH", retryable: true });
    expect(calls()).toEqual(["POST 200", "GET 200"]);
  });

  it("does not start a Retry-After wait that would leave no time for the next attempt", async () => {
    const { finapi, time, deadline } = client(19_000 + REQUEST_TIMEOUT_MS - 1);
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 503,
      headers: { "Retry-After": "19" },
    });
    const failure = await finapi.getClientConfiguration({ deadline }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiOutOfTimeError);
    expect((failure as Error).message).toMatch(
      /^out of time: GET \/api\/v1\/clientConfiguration answered HTTP 503 and was not retried: the wait of 19000 ms/,
    );
    expect(time.sleeps).toEqual([]);
    expect(calls()).toEqual(["POST 200", "GET 503"]);
  });

  it("waits as Retry-After says when the wait and the next attempt fit", async () => {
    const { finapi, time, deadline } = client(19_000 + REQUEST_TIMEOUT_MS);
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 503,
      headers: { "Retry-After": "19" },
    });
    await finapi.getClientConfiguration({ deadline });
    expect(time.sleeps).toEqual([19_000]);
    expect(calls()).toEqual(["POST 200", "GET 503", "GET 200"]);
  });

  it("stops a wait when the deadline's signal fires, and sends nothing after it", async () => {
    const sleeps: number[] = [];
    let deadlinePasses = () => {};
    const { finapi, controller, deadline } = client(60_000, {
      /* The deadline passes during the wait: its signal fires, as middy's does. */
      sleep: (ms, signal) => {
        sleeps.push(ms);
        const waiting = new Promise<void>((_resolve, reject) => {
          signal?.addEventListener("abort", () => reject(signal.reason), { once: true });
        });
        deadlinePasses();
        return waiting;
      },
    });
    deadlinePasses = () => controller.abort();
    emulator.enqueueFault({ match: { method: "GET" }, kind: "status", status: 502 });
    const failure = await finapi.getClientConfiguration({ deadline }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiOutOfTimeError);
    expect((failure as Error).message).toMatch(/the deadline passed while waiting to retry$/);
    expect(sleeps).toHaveLength(1);
    expect(calls()).toEqual(["POST 200", "GET 502"]);
  });

  it("cuts an attempt in flight when the deadline's signal fires, without retrying it", async () => {
    const { finapi, controller, deadline } = client(60_000);
    await finapi.getClientConfiguration({ deadline });
    emulator.clearRequests();
    emulator.enqueueFault({ match: { method: "PATCH" }, kind: "hang" });
    const patch = finapi
      .patchClientConfiguration({ refreshTokensValidityPeriod: 7200 }, { deadline })
      .catch((error: unknown) => error);
    await expect.poll(() => emulator.requests.length).toBe(1);
    controller.abort();
    const failure = await patch;
    expect(failure).toBeInstanceOf(FinapiOutOfTimeError);
    expect((failure as Error).message).toBe(
      "out of time: PATCH /api/v1/clientConfiguration was cut off by the deadline in attempt 1",
    );
    expect(emulator.requests).toHaveLength(1);
  });

  it("keeps a call without a deadline bounded by its retry policy alone", async () => {
    const { finapi, time } = client(0);
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 503,
      headers: { "Retry-After": "19" },
    });
    await finapi.getClientConfiguration();
    expect(time.sleeps).toEqual([19_000]);
  });
});
