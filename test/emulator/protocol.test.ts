import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import {
  accessTokenOf,
  addFreshClient,
  bearer,
  call,
  getConfigurationRequest,
  patchRequest,
  tokenRequest,
} from "./finapi-calls.ts";
import { watchProcessOutput } from "./output-watch.ts";

let emulator: FinapiEmulator;
let token: string;
let clientId: string;
const secrets = new Set<string>();
const output = watchProcessOutput();

beforeAll(async () => {
  emulator = await startFinapiEmulator();
  const client = addFreshClient(emulator, {}, secrets);
  clientId = client.clientId;
  token = await accessTokenOf(emulator, client.clientId, client.clientSecret, secrets);
});

afterAll(async () => {
  await emulator.close();
  output.restore();
  const printed = output.text();
  for (const secret of secrets) expect(printed).not.toContain(secret);
});

/** Settles to "answered" or "failed", without throwing. */
const outcomeOf = (request: Promise<unknown>) =>
  request.then(
    () => "answered" as const,
    () => "failed" as const,
  );

describe("startFinapiEmulator", () => {
  it("listens on 127.0.0.1 on a free port and gives its URL without a trailing slash", () => {
    expect(emulator.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it("refuses connections once closed", async () => {
    const closing = await startFinapiEmulator();
    await closing.close();
    await expect(fetch(`${closing.url}/oauth/token`, { method: "POST" })).rejects.toThrow();
  });
});

describe("X-Request-Id", () => {
  it("echoes the caller's request id, and an error body carries the same id", async () => {
    const ok = await call(emulator, {
      ...getConfigurationRequest(token),
      headers: { ...bearer(token), "x-request-id": "sync-1" },
    });
    expect(ok.headers.get("x-request-id")).toBe("sync-1");
    const failed = await call(emulator, {
      path: "/api/v1/clientConfiguration",
      headers: { "x-request-id": "sync-2" },
    });
    expect(failed.headers.get("x-request-id")).toBe("sync-2");
    const rejected = await call(emulator, patchRequest(token, { foo: 1 }, { "x-request-id": "sync-3" }));
    expect(rejected.body).toMatchObject({ requestId: "sync-3" });
  });

  it("generates a request id when the caller sends none, and uses it in the error body", async () => {
    const result = await call(emulator, { path: "/api/v1/unknown", headers: { "x-request-id": undefined } });
    const generated = result.headers.get("x-request-id");
    expect(generated).toMatch(/^selfgen-[0-9a-f-]{36}$/);
    expect(result.body).toMatchObject({ requestId: generated });
  });

  it("accepts a request id of 255 characters", async () => {
    const requestId = "r".repeat(255);
    const result = await call(emulator, {
      ...getConfigurationRequest(token),
      headers: { ...bearer(token), "x-request-id": requestId },
    });
    expect(result.status).toBe(200);
    expect(result.headers.get("x-request-id")).toBe(requestId);
  });

  it("rejects a request id longer than 255 characters with 400 under a generated id", async () => {
    const result = await call(emulator, {
      ...getConfigurationRequest(token),
      headers: { ...bearer(token), "x-request-id": "r".repeat(256) },
    });
    expect(result.status).toBe(400);
    const generated = result.headers.get("x-request-id");
    expect(generated).toMatch(/^selfgen-/);
    expect(result.body).toMatchObject({
      errors: [
        {
          message: "The X-Request-Id header must not be longer than 255 characters",
          code: "BAD_REQUEST",
          type: "TECHNICAL",
        },
      ],
      requestId: generated,
    });
  });
});

describe("routing", () => {
  it("answers an unknown path with 404 ErrorMessage", async () => {
    const result = await call(emulator, { path: "/api/v1/banks", headers: bearer(token) });
    expect(result.status).toBe(404);
    expect(result.body).toMatchObject({
      errors: [{ message: "No endpoint GET /api/v1/banks", code: "UNKNOWN_ENTITY", type: "TECHNICAL" }],
      endpoint: "GET /api/v1/banks",
      authContext: expect.stringMatching(/^1\/\d+$/),
    });
  });

  it.each([
    ["GET", "/oauth/token", {}, "POST"],
    ["DELETE", "/api/v1/clientConfiguration", {}, "GET, PATCH"],
    ["POST", "/api/v1/clientConfiguration", {}, "GET, PATCH"],
    ["POST", "/api/v1/clientConfiguration", { "x-http-method-override": "DELETE" }, "GET, PATCH"],
  ])("answers %s %s (%o) with 405 and the allowed methods", async (method, path, headers, allowed) => {
    const result = await call(emulator, { method, path, headers: { ...bearer(token), ...headers } });
    expect(result.status).toBe(405);
    expect(result.headers.get("allow")).toBe(allowed);
    expect(result.body).toMatchObject({ errors: [{ code: "METHOD_NOT_ALLOWED", type: "TECHNICAL" }] });
  });
});

describe("request recording", () => {
  it("records every request in order with its method, target, headers, body, status and client", async () => {
    emulator.clearRequests();
    await call(emulator, {
      path: "/api/v1/clientConfiguration?page=1",
      headers: { ...bearer(token), "x-request-id": "rec-1" },
    });
    await call(
      emulator,
      patchRequest(token, { refreshTokensValidityPeriod: 600 }, { "x-request-id": "rec-2" }),
    );
    await call(emulator, { path: "/nowhere", headers: { "x-request-id": "rec-3" } });
    expect(emulator.requests).toEqual([
      {
        method: "GET",
        path: "/api/v1/clientConfiguration?page=1",
        headers: expect.objectContaining({ authorization: `Bearer ${token}`, "x-request-id": "rec-1" }),
        body: "",
        status: 200,
        clientId,
      },
      {
        method: "PATCH",
        path: "/api/v1/clientConfiguration",
        headers: expect.objectContaining({ "content-type": "application/json", "x-request-id": "rec-2" }),
        body: '{"refreshTokensValidityPeriod":600}',
        status: 200,
        clientId,
      },
      {
        method: "GET",
        path: "/nowhere",
        headers: expect.objectContaining({ "x-request-id": "rec-3" }),
        body: "",
        status: 404,
      },
    ]);
  });

  it("forgets the recorded requests on clearRequests", async () => {
    await call(emulator, getConfigurationRequest(token));
    emulator.clearRequests();
    expect(emulator.requests).toEqual([]);
  });
});

describe("faults", () => {
  it("answers the next request with an injected 429 and Retry-After once, then normally", async () => {
    emulator.enqueueFault({ kind: "status", status: 429, headers: { "retry-after": "2" } });
    const throttled = await call(emulator, getConfigurationRequest(token));
    expect(throttled.status).toBe(429);
    expect(throttled.headers.get("retry-after")).toBe("2");
    expect(throttled.body).toMatchObject({
      errors: [{ message: "Too Many Requests", code: "BAD_REQUEST" }],
      requestId: throttled.headers.get("x-request-id"),
      endpoint: "GET /api/v1/clientConfiguration",
    });
    expect(emulator.requests.at(-1)?.status).toBe(429);
    expect((await call(emulator, getConfigurationRequest(token))).status).toBe(200);
  });

  it.each([
    [503, { errors: [{ message: "Service Unavailable", code: "UNEXPECTED_ERROR", type: "TECHNICAL" }] }],
    [401, { error: "invalid_token", error_description: "Unauthorized" }],
    [403, { errors: [{ message: "Forbidden", code: "FORBIDDEN", type: "TECHNICAL" }] }],
  ])("gives an injected %i finAPI's error body for that status", async (status, expected) => {
    emulator.enqueueFault({ kind: "status", status });
    const result = await call(emulator, getConfigurationRequest(token));
    expect(result.status).toBe(status);
    expect(result.body).toMatchObject(expected);
  });

  it("answers with the injected body when one is given", async () => {
    const body = {
      errors: [
        {
          message: "Invalid callback URL",
          code: "BAD_REQUEST",
          type: "BUSINESS",
          multiStepAuthentication: null,
        },
      ],
      date: "2026-03-01 08:00:00.000",
      requestId: "fixed",
      endpoint: "PATCH /api/v1/clientConfiguration",
      authContext: "1/1",
      bank: null,
    };
    emulator.enqueueFault({ kind: "status", status: 400, body });
    const result = await call(
      emulator,
      patchRequest(token, { userNotificationCallbackUrl: "https://a.example.com" }),
    );
    expect(result.body).toEqual(body);
    expect(emulator.configurationOf(clientId).userNotificationCallbackUrl).toBeNull();
  });

  it("sends an injected string body as it is, as a gateway's error page would be", async () => {
    emulator.enqueueFault({ kind: "status", status: 502, body: "<html>Bad Gateway</html>" });
    const response = await fetch(`${emulator.url}/api/v1/clientConfiguration`, { headers: bearer(token) });
    expect(response.status).toBe(502);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
    expect(await response.text()).toBe("<html>Bad Gateway</html>");
  });

  it("serves a fault only to a request matching its method and path", async () => {
    emulator.enqueueFault({
      match: { method: "PATCH", path: "/api/v1/clientConfiguration" },
      kind: "status",
      status: 503,
    });
    expect((await call(emulator, getConfigurationRequest(token))).status).toBe(200);
    expect((await call(emulator, tokenRequest("nobody", "wrong-secret"))).status).toBe(401);
    const overridden = await call(emulator, {
      ...patchRequest(token, {}, { "x-http-method-override": "PATCH" }),
      method: "POST",
    });
    expect(overridden.status).toBe(503);
    expect((await call(emulator, patchRequest(token, {}))).status).toBe(200);
  });

  it("serves queued faults in the order they were enqueued", async () => {
    emulator.enqueueFault({ kind: "status", status: 503 });
    emulator.enqueueFault({ kind: "status", status: 429 });
    const statuses = [];
    for (let attempt = 0; attempt < 3; attempt += 1) {
      statuses.push((await call(emulator, getConfigurationRequest(token))).status);
    }
    expect(statuses).toEqual([503, 429, 200]);
  });

  it("destroys the socket without an answer on a reset fault", async () => {
    emulator.enqueueFault({ kind: "reset" });
    await expect(
      fetch(`${emulator.url}/api/v1/clientConfiguration`, { headers: bearer(token) }),
    ).rejects.toThrow();
    expect(emulator.requests.at(-1)).toMatchObject({ path: "/api/v1/clientConfiguration", status: 0 });
    expect((await call(emulator, getConfigurationRequest(token))).status).toBe(200);
  });

  it("answers normally after the delay of a delay fault, after a later undelayed request", async () => {
    emulator.clearRequests();
    emulator.enqueueFault({ kind: "delay", ms: 400 });
    const order: string[] = [];
    const delayed = call(emulator, getConfigurationRequest(token)).then((result) => {
      order.push("delayed");
      return result;
    });
    await vi.waitFor(() => expect(emulator.requests).toHaveLength(1));
    await call(emulator, { path: "/nowhere" });
    order.push("undelayed");
    expect((await delayed).status).toBe(200);
    expect(order).toEqual(["undelayed", "delayed"]);
  });

  it("keeps a request unanswered on a hang fault until the emulator closes", async () => {
    const hanging = await startFinapiEmulator();
    hanging.enqueueFault({ kind: "hang" });
    let settled = false;
    const outcome = outcomeOf(fetch(`${hanging.url}/oauth/token`, { method: "POST" })).finally(() => {
      settled = true;
    });
    await vi.waitFor(() => expect(hanging.requests).toHaveLength(1));
    expect((await call(hanging, { path: "/nowhere" })).status).toBe(404);
    expect(settled).toBe(false);
    await hanging.close();
    expect(await outcome).toBe("failed");
    expect(hanging.requests[0]?.status).toBe(0);
  });

  it("refuses a fault it cannot serve", () => {
    expect(() => emulator.enqueueFault({ kind: "explode" } as never)).toThrow();
    expect(() => emulator.enqueueFault({ kind: "status", status: 99 })).toThrow();
  });
});

describe("latencyMs", () => {
  it("adds the latency to every response, which stays correct", async () => {
    const slow = await startFinapiEmulator({ latencyMs: 400 });
    try {
      const order: string[] = [];
      const slowAnswer = call(slow, { path: "/nowhere" }).then((result) => {
        order.push("slow");
        return result;
      });
      await vi.waitFor(() => expect(slow.requests).toHaveLength(1));
      await call(emulator, { path: "/nowhere" });
      order.push("fast");
      expect((await slowAnswer).status).toBe(404);
      expect(order).toEqual(["fast", "slow"]);
    } finally {
      await slow.close();
    }
  });
});
