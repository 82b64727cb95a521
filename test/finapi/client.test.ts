import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { createFinapiClient, type FinapiClientOptions } from "../../functions/finapi/client.ts";
import { FinapiRejectedError, FinapiUnavailableError } from "../../functions/finapi/errors.ts";
import { fakeTime } from "../support/fake-time.ts";
import { assertConformsToFinapiOpenApi } from "../support/openapi-conformance.ts";
import { recordingLog } from "../support/recording-log.ts";

const CLIENT_ID = "client-under-test";
const CLIENT_SECRET = "Cl1entS3cret-never-printed";

describe("createFinapiClient", () => {
  let emulator: FinapiEmulator;
  let log: ReturnType<typeof recordingLog>;

  beforeAll(async () => {
    emulator = await startFinapiEmulator({
      clients: [
        {
          clientId: CLIENT_ID,
          clientSecret: CLIENT_SECRET,
          configuration: { clientAccessTokensValidityPeriod: 3600 },
        },
      ],
    });
  });
  afterAll(() => emulator.close());
  afterEach(() => {
    for (const request of emulator.requests) assertConformsToFinapiOpenApi(request);
    const logged = log.text();
    expect(logged).not.toContain(CLIENT_SECRET);
    for (const request of emulator.requests) {
      const token = request.headers.authorization?.replace(/^Bearer /, "");
      if (token) expect(logged).not.toContain(token);
    }
    emulator.clearRequests();
  });

  function client(overrides: Partial<FinapiClientOptions> = {}) {
    log = recordingLog();
    const time = fakeTime();
    return {
      time,
      finapi: createFinapiClient({
        baseUrl: emulator.url,
        credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
        now: time.now,
        sleep: time.sleep,
        random: () => 0.5,
        log,
        ...overrides,
      }),
    };
  }

  const calls = () =>
    emulator.requests.map((request) => `${request.method} ${request.path} ${request.status}`);

  it("gets a client-credentials token once and reuses it for later calls", async () => {
    const { finapi } = client();
    const first = await finapi.getClientConfiguration();
    await finapi.getClientConfiguration();
    expect(first.body.clientAccessTokensValidityPeriod).toBe(3600);
    expect(calls()).toEqual([
      "POST /oauth/token 200",
      "GET /api/v1/clientConfiguration 200",
      "GET /api/v1/clientConfiguration 200",
    ]);
    const form = new URLSearchParams(emulator.requests[0]?.body);
    expect(Object.fromEntries(form)).toEqual({
      grant_type: "client_credentials",
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
  });

  it("sends a fresh X-Request-Id of at most 255 characters with every request and returns it", async () => {
    const { finapi } = client();
    const answer = await finapi.getClientConfiguration();
    const ids = emulator.requests.map((request) => request.headers["x-request-id"] ?? "");
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^.{1,255}$/);
    expect(answer.requestId).toBe(ids.at(-1));
  });

  it("renews the token once when finAPI answers 401 to an API call", async () => {
    const { finapi } = client();
    await finapi.getClientConfiguration();
    emulator.expireTokens();
    await finapi.getClientConfiguration();
    expect(calls()).toEqual([
      "POST /oauth/token 200",
      "GET /api/v1/clientConfiguration 200",
      "GET /api/v1/clientConfiguration 401",
      "POST /oauth/token 200",
      "GET /api/v1/clientConfiguration 200",
    ]);
  });

  it("fails with a rejection when a freshly issued token is refused too, without looping", async () => {
    const { finapi } = client();
    await finapi.getClientConfiguration();
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 401,
      body: { error: "invalid_token" },
    });
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 401,
      body: { error: "invalid_token" },
    });
    await expect(finapi.getClientConfiguration()).rejects.toThrow(/rejected a freshly issued access token/);
    expect(calls().filter((call) => call.startsWith("GET"))).toHaveLength(3);
  });

  it("renews the token shortly before it expires", async () => {
    const { finapi, time } = client();
    await finapi.getClientConfiguration();
    time.advance(3600_000 - 59_000);
    await finapi.getClientConfiguration();
    expect(calls().filter((call) => call.startsWith("POST /oauth/token"))).toHaveLength(2);
  });

  it("keeps a token that never expires (expires_in 0)", async () => {
    emulator.addClient({
      clientId: "forever",
      clientSecret: "F0rever-secret",
      configuration: { clientAccessTokensValidityPeriod: 0 },
    });
    const { finapi, time } = client({ credentials: { clientId: "forever", clientSecret: "F0rever-secret" } });
    await finapi.getClientConfiguration();
    time.advance(400 * 24 * 3600_000);
    await finapi.getClientConfiguration();
    expect(calls().filter((call) => call.startsWith("POST /oauth/token"))).toHaveLength(1);
  });

  it("waits as long as Retry-After says when finAPI answers 429, then succeeds", async () => {
    const { finapi, time } = client();
    emulator.enqueueFault({
      match: { method: "GET" },
      kind: "status",
      status: 429,
      headers: { "Retry-After": "2" },
    });
    await finapi.getClientConfiguration();
    expect(time.sleeps).toEqual([2000]);
    expect(calls().slice(1)).toEqual([
      "GET /api/v1/clientConfiguration 429",
      "GET /api/v1/clientConfiguration 200",
    ]);
  });

  it("backs off exponentially with jitter over repeated 5xx, then succeeds", async () => {
    const { finapi, time } = client();
    for (const status of [500, 502, 503])
      emulator.enqueueFault({ match: { method: "GET" }, kind: "status", status });
    await finapi.getClientConfiguration();
    expect(time.sleeps).toEqual([100, 200, 400]);
    expect(calls().at(-1)).toBe("GET /api/v1/clientConfiguration 200");
  });

  it("gives up on a persistent 503 after the configured attempts, as a retryable failure", async () => {
    const { finapi } = client({ retry: { maxAttempts: 3 } });
    await finapi.getClientConfiguration();
    emulator.clearRequests();
    for (let i = 0; i < 3; i++)
      emulator.enqueueFault({ match: { method: "GET" }, kind: "status", status: 503 });
    const failure = await finapi.getClientConfiguration().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiUnavailableError);
    expect(failure).toMatchObject({ retryable: true, attempts: 3, status: 503 });
    expect((failure as Error).message).toMatch(
      /^GET \/api\/v1\/clientConfiguration answered HTTP 503 after 3 attempts/,
    );
    expect(calls()).toHaveLength(3);
  });

  it("stops retrying when the next wait would exceed the retry budget", async () => {
    const { finapi, time } = client({ retry: { budgetMs: 5_000 } });
    emulator.enqueueFault({
      match: { method: "POST" },
      kind: "status",
      status: 429,
      headers: { "Retry-After": "30" },
    });
    await expect(finapi.getClientConfiguration()).rejects.toThrow(/exceeds the 5000 ms retry budget/);
    expect(time.sleeps).toEqual([]);
  });

  it("times out a request that gets no answer and tries again", async () => {
    /* The token request and the retry must answer within it too: 1 s holds on a starved machine, 150 ms did not promise it. */
    const { finapi } = client({ requestTimeoutMs: 1_000 });
    emulator.enqueueFault({ match: { method: "GET" }, kind: "hang" });
    const answer = await finapi.getClientConfiguration();
    expect(answer.body.clientAccessTokensValidityPeriod).toBe(3600);
    expect(log.lines.some((line) => line.details?.failure === "timed out after 1000 ms")).toBe(true);
  });

  it("retries after the connection is reset", async () => {
    const { finapi } = client();
    emulator.enqueueFault({ match: { method: "GET" }, kind: "reset" });
    await finapi.getClientConfiguration();
    expect(
      log.lines.some(
        (line) =>
          line.details?.failure ===
          "the connection was closed before the answer was complete (UND_ERR_SOCKET)",
      ),
    ).toBe(true);
  });

  it("turns finAPI's 400 into a rejection carrying its messages, code and request id, without retrying", async () => {
    const { finapi } = client();
    const failure = await finapi
      .patchClientConfiguration({ userNotificationCallbackUrl: "ftp://not-allowed.example" })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiRejectedError);
    const rejection = failure as FinapiRejectedError;
    expect(rejection.retryable).toBe(false);
    expect(rejection.status).toBe(400);
    expect(rejection.details[0]?.message).toEqual(expect.any(String));
    expect(rejection.details[0]?.code).toBe("BAD_REQUEST");
    expect(rejection.requestId).toBe(emulator.requests.at(-1)?.headers["x-request-id"]);
    expect(rejection.message).toContain(`[X-Request-Id ${rejection.requestId}]`);
    expect(calls().filter((call) => call.startsWith("PATCH"))).toEqual([
      "PATCH /api/v1/clientConfiguration 400",
    ]);
  });

  it("reports bad credentials as a rejection that names neither the secret nor retries", async () => {
    const { finapi } = client({ credentials: { clientId: CLIENT_ID, clientSecret: "Wr0ng-secret-value" } });
    const failure = await finapi.getClientConfiguration().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(FinapiRejectedError);
    expect((failure as Error).message).toMatch(
      /^POST \/oauth\/token rejected the client credentials \(HTTP 401\)/,
    );
    expect(JSON.stringify(failure)).not.toContain("Wr0ng-secret-value");
    expect((failure as Error).message).not.toContain("Wr0ng-secret-value");
    expect(calls()).toEqual(["POST /oauth/token 401"]);
  });

  it("PATCHes the given fields as JSON and returns finAPI's new configuration", async () => {
    const { finapi } = client();
    const answer = await finapi.patchClientConfiguration({ refreshTokensValidityPeriod: 7200 });
    expect(answer.body.refreshTokensValidityPeriod).toBe(7200);
    const patch = emulator.requests.find((request) => request.method === "PATCH");
    expect(JSON.parse(patch?.body ?? "")).toEqual({ refreshTokensValidityPeriod: 7200 });
    expect(patch?.headers["content-type"]).toMatch(/^application\/json/);
  });

  it("refuses a base URL that is not https, or http to a loopback host", () => {
    const rule =
      "finAPI base URL must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)";
    expect(() => client({ baseUrl: "sandbox.finapi.io" })).toThrow(rule);
    expect(() => client({ baseUrl: "http://sandbox.finapi.io" })).toThrow(rule);
  });
});
