import { describe, expect, it } from "vitest";
import {
  HttpRejection,
  MAX_BODY_BYTES,
  readCallbackPayload,
  readHttpEvent,
} from "../../functions/user-sync-callback/request.ts";

/** What a case varies: the method (undefined: none at all), the headers, the body. */
interface RequestParts {
  readonly method?: string | undefined;
  readonly headers?: Record<string, string>;
  readonly body?: string | undefined;
  readonly isBase64Encoded?: boolean;
}

const defaults = {
  path: "/user-sync/acme/secret",
  method: "POST",
  headers: { "content-type": "application/json" },
  body: '{"userId":"user-1","event":"DELETED"}',
  isBase64Encoded: false,
};

/* The parts of each ingress's event the callback reads, from the same request parts. */
const eventBuilders = {
  "Function URL": (parts: RequestParts) => {
    const request = { ...defaults, ...parts };
    return {
      version: "2.0",
      routeKey: "$default",
      rawPath: request.path,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      isBase64Encoded: request.isBase64Encoded,
      ...(request.method === undefined ? {} : { requestContext: { http: { method: request.method } } }),
    };
  },
  "REST API": (parts: RequestParts) => {
    const request = { ...defaults, ...parts };
    return {
      resource: "/user-sync/{client}/{secret}",
      path: request.path,
      /* A REST API always names the method; "no method" is an empty one here. */
      httpMethod: request.method ?? "",
      headers: request.headers,
      multiValueHeaders: Object.fromEntries(
        Object.entries(request.headers).map(([name, value]) => [name, [value]]),
      ),
      body: request.body ?? null,
      isBase64Encoded: request.isBase64Encoded,
      requestContext: { stage: "prod", path: `/prod${request.path}` },
    };
  },
};
const ingresses = Object.keys(eventBuilders) as (keyof typeof eventBuilders)[];

const readThrough = (ingress: keyof typeof eventBuilders, parts: RequestParts = {}) =>
  readCallbackPayload(readHttpEvent(eventBuilders[ingress](parts)));

const rejection = (ingress: keyof typeof eventBuilders, parts: RequestParts) => {
  try {
    readThrough(ingress, parts);
  } catch (error) {
    if (error instanceof HttpRejection) return { statusCode: error.statusCode, body: error.message };
    throw error;
  }
  throw new Error("expected a rejection");
};

/* A JSON payload of exactly `bytes` bytes, padded through a key the callback drops. */
const payloadOfSize = (bytes: number) => {
  const bare = '{"userId":"user-1","event":"DELETED","pad":""}';
  return `${bare.slice(0, -2)}${"x".repeat(bytes - bare.length)}"}`;
};

describe.each(ingresses)("readCallbackPayload of a %s request", (ingress) => {
  it("reads userId and event and drops other keys", () => {
    expect(readThrough(ingress, { body: '{"userId":"u@x.io","event":"DELETED","more":1}' })).toEqual({
      userId: "u@x.io",
      event: "DELETED",
    });
  });

  it.each(["application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8"])(
    "accepts the content type %j",
    (contentType) => {
      expect(readThrough(ingress, { headers: { "content-type": contentType } }).userId).toBe("user-1");
    },
  );

  it("decodes a base64 body", () => {
    const body = Buffer.from('{"userId":"user-2","event":"DELETED"}').toString("base64");
    expect(readThrough(ingress, { body, isBase64Encoded: true }).userId).toBe("user-2");
  });

  it(`accepts a body of exactly ${MAX_BODY_BYTES} bytes, plain or base64`, () => {
    const body = payloadOfSize(MAX_BODY_BYTES);
    expect(Buffer.byteLength(body)).toBe(MAX_BODY_BYTES);
    expect(readThrough(ingress, { body }).userId).toBe("user-1");
    const encoded = Buffer.from(body).toString("base64");
    expect(readThrough(ingress, { body: encoded, isBase64Encoded: true }).userId).toBe("user-1");
  });

  it.each<[string, RequestParts, number, string]>([
    ["GET", { method: "GET" }, 405, "method must be POST"],
    ["PUT", { method: "PUT" }, 405, "method must be POST"],
    ["no method at all", { method: undefined }, 405, "method must be POST"],
    [
      "text/plain",
      { headers: { "content-type": "text/plain" } },
      415,
      "content-type must be application/json",
    ],
    ["no content type", { headers: {} }, 415, "content-type must be application/json"],
    ["application/jsonp", { headers: { "content-type": "application/jsonp" } }, 415, "content-type"],
    ["a body one byte too large", { body: payloadOfSize(MAX_BODY_BYTES + 1) }, 413, "at most 4096 bytes"],
    [
      "a base64 body that decodes one byte too large",
      { body: Buffer.from(payloadOfSize(MAX_BODY_BYTES + 1)).toString("base64"), isBase64Encoded: true },
      413,
      "at most 4096 bytes",
    ],
    [
      "a multi-byte body over 4096 bytes",
      { body: `{"userId":"${"ü".repeat(2100)}"}` },
      413,
      "at most 4096 bytes",
    ],
    ["no body", { body: undefined }, 400, "body must be JSON"],
    ["a body that is not JSON", { body: "userId=1&event=DELETED" }, 400, "body must be JSON"],
    ["a JSON array", { body: "[]" }, 400, "body must be a JSON object"],
    ["a missing userId", { body: '{"event":"DELETED"}' }, 400, "userId: is required"],
    ["an empty userId", { body: '{"userId":"","event":"DELETED"}' }, 400, "userId: must be 1..36 characters"],
    [
      "a userId of 37 characters",
      { body: `{"userId":"${"a".repeat(37)}","event":"DELETED"}` },
      400,
      "userId",
    ],
    ["a userId with a space", { body: '{"userId":"a b","event":"DELETED"}' }, 400, "userId"],
    ["a numeric userId", { body: '{"userId":42,"event":"DELETED"}' }, 400, "userId: must be a string"],
    ["a missing event", { body: '{"userId":"u"}' }, 400, "event: is required"],
    ["a null event", { body: '{"userId":"u","event":null}' }, 400, "event: must be a string"],
  ])("rejects %s", (_case, overrides, statusCode, reason) => {
    const answer = rejection(ingress, overrides);
    expect(answer.statusCode).toBe(statusCode);
    expect(JSON.parse(answer.body).message).toContain(reason);
  });

  it("says Allow: POST with a 405", () => {
    try {
      readThrough(ingress, { method: "DELETE" });
    } catch (error) {
      expect((error as HttpRejection).headers).toEqual({ Allow: "POST" });
    }
    expect.assertions(1);
  });

  it("does not repeat the offending value in the reason", () => {
    const answer = rejection(ingress, { body: '{"userId":"not allowed!","event":"DELETED"}' });
    expect(answer.body).not.toContain("not allowed!");
  });
});

describe("readHttpEvent", () => {
  it("reads the same request from a Function URL event and a REST API proxy event", () => {
    const expected = {
      path: "/user-sync/acme/secret",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"userId":"user-1","event":"DELETED"}',
      isBase64Encoded: false,
    };
    expect(readHttpEvent(eventBuilders["Function URL"]({}))).toEqual(expected);
    expect(readHttpEvent(eventBuilders["REST API"]({}))).toEqual(expected);
  });

  it("reads a REST API request without headers or body (null) as one with neither", () => {
    const event = { ...eventBuilders["REST API"]({}), headers: null, multiValueHeaders: null, body: null };
    expect(readHttpEvent(event)).toEqual({
      path: "/user-sync/acme/secret",
      method: "POST",
      headers: {},
      isBase64Encoded: false,
    });
  });

  it("reads an event of another shape as a request without path or method, so that it has no route", () => {
    const empty = { headers: {}, isBase64Encoded: false };
    expect(readHttpEvent({ rawPath: 7 })).toEqual(empty);
    expect(readHttpEvent({ path: "/user-sync/acme/secret" })).toEqual(empty);
    expect(readHttpEvent(null)).toEqual(empty);
  });
});
