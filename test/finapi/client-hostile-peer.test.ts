import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { MAX_ANSWER_BYTES } from "../../functions/finapi/bounded-body.ts";
import { createFinapiClient, type FinapiClientOptions } from "../../functions/finapi/client.ts";
import { FinapiRejectedError, FinapiUnavailableError } from "../../functions/finapi/errors.ts";
import { fakeTime } from "../support/fake-time.ts";
import { closedPort, type LocalServer, startLocalServer, streamFiller } from "../support/local-servers.ts";
import { recordingLog } from "../support/recording-log.ts";

const CLIENT_ID = "client-under-test";
const CLIENT_SECRET = "Cl1entS3cret-must-stay-home";
const REDIRECT_STATUSES = [301, 302, 303, 307, 308] as const;
const FIFTY_MB = 50 * 1024 * 1024;

describe("createFinapiClient against a peer that redirects, floods, refuses or hangs", () => {
  let emulator: FinapiEmulator;
  /** The other origin a redirect points at: it must never hear from the client. */
  let elsewhere: LocalServer;
  let log: ReturnType<typeof recordingLog>;
  const failures: unknown[] = [];

  beforeAll(async () => {
    emulator = await startFinapiEmulator({
      clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET }],
    });
    elsewhere = await startLocalServer();
  });
  afterAll(async () => {
    await emulator.close();
    await elsewhere.close();
  });
  afterEach(() => {
    expect(elsewhere.requests).toEqual([]);
    const seen = [log.text(), ...failures.map((failure) => `${String(failure)} ${JSON.stringify(failure)}`)];
    for (const text of seen) expect(text).not.toContain(CLIENT_SECRET);
    failures.length = 0;
    emulator.clearRequests();
  });

  function client(overrides: Partial<FinapiClientOptions> = {}) {
    log = recordingLog();
    const time = fakeTime();
    return createFinapiClient({
      baseUrl: emulator.url,
      credentials: { clientId: CLIENT_ID, clientSecret: CLIENT_SECRET },
      now: time.now,
      sleep: time.sleep,
      random: () => 0.5,
      log,
      ...overrides,
    });
  }

  async function failureOf(call: Promise<unknown>): Promise<Error> {
    const failure = await call.then(
      () => new Error("expected the call to fail"),
      (error: unknown) => error as Error,
    );
    failures.push(failure);
    return failure;
  }

  const calls = () => emulator.requests.map((request) => `${request.method} ${request.path}`);

  describe.each([
    ["the token request", "POST", "/oauth/token"],
    ["an API call", "GET", "/api/v1/clientConfiguration"],
  ] as const)("a redirect answering %s", (_, method, path) => {
    it.each(REDIRECT_STATUSES)(
      "%i to another origin is a rejection naming only that origin, and nothing reaches it",
      async (status) => {
        emulator.enqueueFault({
          match: { method, path },
          kind: "status",
          status,
          headers: { Location: `${elsewhere.url}/collect/oauth/token?client_secret=${CLIENT_SECRET}` },
        });
        const failure = await failureOf(client().getClientConfiguration());
        expect(failure).toBeInstanceOf(FinapiRejectedError);
        expect(failure).toMatchObject({ retryable: false, status });
        expect(failure.message).toMatch(
          new RegExp(`^${method} ${path} answered HTTP ${status}, a redirect to ${elsewhere.url}: `),
        );
        expect(failure.message).not.toContain("/collect");
        expect(calls().filter((call) => call === `${method} ${path}`)).toHaveLength(1);
      },
    );

    it.each(REDIRECT_STATUSES)(
      "%i to the same origin is a rejection too, and is not followed",
      async (status) => {
        emulator.enqueueFault({
          match: { method, path },
          kind: "status",
          status,
          headers: { Location: `/somewhere/else?token=abc` },
        });
        const failure = await failureOf(client().getClientConfiguration());
        expect(failure).toBeInstanceOf(FinapiRejectedError);
        expect(failure.message).toContain(`answered HTTP ${status}, a redirect to ${emulator.url}:`);
        expect(failure.message).not.toContain("/somewhere");
        expect(calls()).toEqual(
          method === "POST"
            ? ["POST /oauth/token"]
            : ["POST /oauth/token", "GET /api/v1/clientConfiguration"],
        );
      },
    );
  });

  it("says so when a redirect has no Location", async () => {
    emulator.enqueueFault({ match: { method: "POST" }, kind: "status", status: 302 });
    const failure = await failureOf(client().getClientConfiguration());
    expect(failure.message).toContain("answered HTTP 302, a redirect to no Location:");
  });

  describe("an answer over the 1 MiB cap", () => {
    let flood: LocalServer;
    const bytesSent: Promise<number>[] = [];

    beforeAll(async () => {
      flood = await startLocalServer((request, response) => {
        if (request.path === "/oauth/token" && request.body.includes("client_id=small-token")) {
          response
            .writeHead(200, { "content-type": "application/json" })
            .end(
              JSON.stringify({ access_token: "t0ken-for-the-flood", token_type: "bearer", expires_in: 3600 }),
            );
          return;
        }
        bytesSent.push(streamFiller(response, FIFTY_MB));
      });
    });
    afterAll(() => flood.close());

    it.each([
      ["the token request", CLIENT_ID, "POST /oauth/token"],
      ["an API call", "small-token", "GET /api/v1/clientConfiguration"],
    ])(
      "fails %s as unavailable naming the cap, once, and stops reading: the server could not send 50 MB",
      async (_, clientId, call) => {
        bytesSent.length = 0;
        const finapi = client({ baseUrl: flood.url, credentials: { clientId, clientSecret: CLIENT_SECRET } });
        const failure = await failureOf(finapi.getClientConfiguration());
        expect(failure).toBeInstanceOf(FinapiUnavailableError);
        expect(failure).toMatchObject({ retryable: true, attempts: 1 });
        expect(failure.message).toMatch(
          new RegExp(`^${call} answered with a body larger than 1 MiB; not retried`),
        );
        expect(bytesSent).toHaveLength(1);
        const sent = await bytesSent[0];
        /*
         * The cap plus what the loopback socket buffers took before the connection closed (about 4 MB
         * measured: the send buffer's 4 MiB maximum), far from the 50 MB the server meant to send.
         */
        expect(sent).toBeGreaterThan(MAX_ANSWER_BYTES);
        expect(sent).toBeLessThan(24 * 1024 * 1024);
      },
      60_000,
    );
  });

  describe("a network failure", () => {
    it("names a refused connection and retries it", async () => {
      const port = await closedPort();
      const failure = await failureOf(
        client({ baseUrl: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3 } }).getClientConfiguration(),
      );
      expect(failure).toBeInstanceOf(FinapiUnavailableError);
      expect(failure).toMatchObject({ attempts: 3 });
      expect(failure.message).toMatch(
        /^POST \/oauth\/token could not connect: connection refused \(ECONNREFUSED\) after 3 attempts/,
      );
    });

    it("names a host that does not resolve and does not retry it", async () => {
      const failure = await failureOf(
        client({ baseUrl: "https://finapi-config-sync.invalid" }).getClientConfiguration(),
      );
      expect(failure).toBeInstanceOf(FinapiUnavailableError);
      expect(failure).toMatchObject({ attempts: 1, retryable: true });
      expect(failure.message).toMatch(
        /^POST \/oauth\/token could not connect: host not found \(ENOTFOUND\); not retried/,
      );
    });

    it("names a TLS failure, does not retry it, and sends nothing in clear", async () => {
      const plainHttp = await startLocalServer();
      try {
        const failure = await failureOf(
          client({ baseUrl: plainHttp.url.replace("http:", "https:") }).getClientConfiguration(),
        );
        expect(failure).toBeInstanceOf(FinapiUnavailableError);
        expect(failure).toMatchObject({ attempts: 1 });
        expect(failure.message).toMatch(
          /^POST \/oauth\/token could not connect: TLS failure \(ERR_SSL_[A-Z_]+\); not retried/,
        );
        expect(plainHttp.requests).toEqual([]);
      } finally {
        await plainHttp.close();
      }
    });

    it("names a timeout when the peer never answers, and retries it", async () => {
      const silent = await startLocalServer(() => {});
      try {
        const failure = await failureOf(
          client({
            baseUrl: silent.url,
            /* Long enough for the silent peer to see each attempt arrive, also on a starved machine. */
            requestTimeoutMs: 2_000,
            retry: { maxAttempts: 2 },
          }).getClientConfiguration(),
        );
        expect(failure).toBeInstanceOf(FinapiUnavailableError);
        expect(failure.message).toMatch(/^POST \/oauth\/token timed out after 2000 ms after 2 attempts/);
        expect(silent.requests).toHaveLength(2);
      } finally {
        await silent.close();
      }
    });
  });
});
