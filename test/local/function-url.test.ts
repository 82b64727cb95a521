import { createServer } from "node:net";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FunctionUrl,
  type FunctionUrlExchange,
  functionUrlEvent,
  startFunctionUrl,
} from "../../local/function-url.ts";
import { type LocalLambda, startLambda } from "../../local/lambda-runtime.ts";
import { listen, PortInUseError } from "../../local/listen.ts";
import { WORKER_TIMEOUT_MS } from "../support/timeouts.ts";

const AT = new Date("2026-11-21T10:16:48.123Z");

describe("functionUrlEvent", () => {
  const request = (url: string, headers: Record<string, string | string[]> = {}) => ({
    method: "POST",
    url,
    headers: { host: "127.0.0.1:4011", "user-agent": "finAPI", ...headers },
    sourceIp: "127.0.0.1",
  });

  it("builds the payload-2.0 event: raw path and query as sent, lower-case headers, request context", () => {
    const event = functionUrlEvent(
      request("/user-sync/acme/s3cr%2Ft?a=1&a=2&b=x", { "content-type": "application/json" }),
      Buffer.from('{"userId":"u-1","event":"DELETED"}'),
      AT,
    );
    expect(event).toMatchObject({
      version: "2.0",
      routeKey: "$default",
      rawPath: "/user-sync/acme/s3cr%2Ft",
      rawQueryString: "a=1&a=2&b=x",
      queryStringParameters: { a: "1,2", b: "x" },
      headers: { host: "127.0.0.1:4011", "user-agent": "finAPI", "content-type": "application/json" },
      body: '{"userId":"u-1","event":"DELETED"}',
      isBase64Encoded: false,
      requestContext: {
        accountId: "anonymous",
        domainName: "127.0.0.1:4011",
        http: {
          method: "POST",
          path: "/user-sync/acme/s3cr%2Ft",
          protocol: "HTTP/1.1",
          sourceIp: "127.0.0.1",
          userAgent: "finAPI",
        },
        routeKey: "$default",
        stage: "$default",
        time: "21/Nov/2026:10:16:48 +0000",
        timeEpoch: AT.getTime(),
      },
    });
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("base64-encodes a body whose content type is not text, and passes a text one as it is", () => {
    const bytes = Buffer.from([0xff, 0x00, 0x7f]);
    expect(
      functionUrlEvent(request("/", { "content-type": "application/octet-stream" }), bytes, AT),
    ).toMatchObject({
      body: bytes.toString("base64"),
      isBase64Encoded: true,
    });
    expect(functionUrlEvent(request("/"), bytes, AT).isBase64Encoded).toBe(true);
    for (const contentType of ["text/plain; charset=utf-8", "application/problem+json", "application/xml"]) {
      expect(
        functionUrlEvent(request("/", { "content-type": contentType }), Buffer.from("x"), AT).isBase64Encoded,
      ).toBe(false);
    }
  });

  it("joins repeated headers with commas, moves cookies to `cookies`, and leaves out an empty body", () => {
    const event = functionUrlEvent(
      request("/", { "x-many": ["1", "2"], cookie: "a=1; b=2" }),
      Buffer.alloc(0),
      AT,
    );
    expect(event.headers["x-many"]).toBe("1,2");
    expect(event.headers.cookie).toBeUndefined();
    expect(event.cookies).toEqual(["a=1", "b=2"]);
    expect(event.body).toBeUndefined();
    expect(event.isBase64Encoded).toBe(false);
    expect(event.queryStringParameters).toBeUndefined();
  });
});

describe("startFunctionUrl", { timeout: WORKER_TIMEOUT_MS }, () => {
  let lambda: LocalLambda;
  let functionUrl: FunctionUrl;
  const exchanges: FunctionUrlExchange[] = [];

  beforeAll(async () => {
    lambda = await startLambda({
      functionName: "http-response",
      handlerModule: new URL("../fixtures/local/handlers/http-response.ts", import.meta.url),
      environment: {},
      timeoutMs: 10_000,
    });
    functionUrl = await startFunctionUrl({
      invoke: (event) => lambda.invoke(event),
      onExchange: (exchange) => exchanges.push(exchange),
    });
  });
  afterAll(async () => {
    await functionUrl.close();
    await lambda.close();
  });

  it("listens on 127.0.0.1 and delivers the request to the function as its event", async () => {
    expect(functionUrl.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const response = await fetch(`${functionUrl.url}/event?x=1`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"userId":"u-1"}',
    });
    expect(response.status).toBe(200);
    const event = (await response.json()) as APIGatewayProxyEventV2;
    expect(event).toMatchObject({ rawPath: "/event", rawQueryString: "x=1", body: '{"userId":"u-1"}' });
    expect(exchanges.at(-1)).toMatchObject({
      method: "POST",
      rawPath: "/event",
      status: 200,
      body: '{"userId":"u-1"}',
    });
  });

  it("sends a structured response's status, headers, cookies and base64 body", async () => {
    const response = await fetch(`${functionUrl.url}/binary`);
    expect(response.status).toBe(201);
    expect(response.headers.get("x-count")).toBe("3");
    expect(response.headers.getSetCookie()).toEqual(["a=1", "b=2"]);
    expect(Buffer.from(await response.arrayBuffer())).toEqual(Buffer.from([0, 1, 2]));
  });

  it("answers a payload without statusCode as a 200 JSON body", async () => {
    const response = await fetch(`${functionUrl.url}/plain-object`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("application/json");
    expect(await response.json()).toEqual({ answer: 42 });
  });

  it("answers 502 when the function fails, as a Function URL does", async () => {
    const response = await fetch(`${functionUrl.url}/throw`, { method: "POST" });
    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ Message: "Internal Server Error" });
    expect(exchanges.at(-1)).toMatchObject({
      status: 502,
      result: { ok: false, errorMessage: "handler failed" },
    });
  });

  it("refuses a body over Lambda's 6 MB payload limit with 413 without invoking the function", async () => {
    const response = await fetch(`${functionUrl.url}/too-big`, {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "x".repeat(6 * 1024 * 1024 + 1),
    });
    expect(response.status).toBe(413);
    expect(exchanges.at(-1)).toMatchObject({ status: 413, result: undefined });
  });

  it("fails with PortInUseError naming the port and what wanted it when the port is taken", async () => {
    const blocker = createServer();
    const { port } = await listen(blocker);
    try {
      const failure = startFunctionUrl({
        port,
        purpose: "the test URL",
        invoke: (event) => lambda.invoke(event),
      });
      await expect(failure).rejects.toThrow(PortInUseError);
      await expect(failure).rejects.toMatchObject({
        port,
        purpose: "the test URL",
        message: `port ${port} on 127.0.0.1 is already in use (wanted by the test URL)`,
      });
    } finally {
      blocker.close();
    }
  });
});
