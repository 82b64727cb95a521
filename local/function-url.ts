import { randomUUID } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { APIGatewayProxyEventV2 } from "aws-lambda";
import * as z from "zod";
import type { InvokeResult } from "./lambda-runtime.ts";
import { listen } from "./listen.ts";

/* Lambda's limit for a synchronous invocation's request payload. */
const MAX_REQUEST_BYTES = 6 * 1024 * 1024;

/** What a Function URL does with a structured response (payload format 2.0). */
const structuredResponseSchema = z.object({
  statusCode: z.int(),
  headers: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  body: z.string().optional(),
  isBase64Encoded: z.boolean().optional(),
  cookies: z.array(z.string()).optional(),
});

/** One request through the Function URL: what came in, what the function made of it. */
export interface FunctionUrlExchange {
  readonly method: string;
  readonly rawPath: string;
  /** The request body as text (undecoded): for display only, it is untrusted. */
  readonly body: string;
  readonly status: number;
  readonly result: InvokeResult | undefined;
}

export interface FunctionUrlOptions {
  readonly invoke: (event: APIGatewayProxyEventV2) => Promise<InvokeResult>;
  /** @default 0 */
  readonly port?: number;
  /** @default "127.0.0.1" */
  readonly host?: string;
  readonly onExchange?: (exchange: FunctionUrlExchange) => void;
  /** What the URL serves, for the error when the port is taken. @default "the Function URL" */
  readonly purpose?: string;
  /** Serve https with this key and certificate (PEM), as Function URLs do. @default plain http */
  readonly tls?: { readonly key: string; readonly cert: string };
}

export interface FunctionUrl {
  /** `http://127.0.0.1:PORT` (`https://` with `tls`), no trailing slash. */
  readonly url: string;
  close(): Promise<void>;
}

/* Function URLs pass these bodies as text; everything else arrives base64-encoded. */
function isTextMediaType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return (
    mediaType.startsWith("text/") ||
    /^application\/([\w.-]+\+)?(json|xml)$/.test(mediaType) ||
    mediaType === "application/javascript" ||
    mediaType === "application/x-www-form-urlencoded"
  );
}

function joinedHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const joined: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && name !== "cookie")
      joined[name] = Array.isArray(value) ? value.join(",") : value;
  }
  return joined;
}

function queryParameters(rawQueryString: string): Record<string, string> | undefined {
  if (rawQueryString === "") return undefined;
  const parameters: Record<string, string> = {};
  for (const [name, value] of new URLSearchParams(rawQueryString)) {
    parameters[name] = name in parameters ? `${parameters[name]},${value}` : value;
  }
  return parameters;
}

/* The request time as Lambda writes it: `21/Nov/2026:10:16:48 +0000`. */
function requestTime(at: Date): string {
  const [weekdayless = ""] = at.toUTCString().split(" GMT");
  const [, day, month, year, time] = weekdayless.replace(",", "").split(" ");
  return `${day}/${month}/${year}:${time} +0000`;
}

/** The event a Lambda Function URL (payload format 2.0) delivers for this request. */
export function functionUrlEvent(
  request: { method: string; url: string; headers: IncomingHttpHeaders; sourceIp: string },
  body: Buffer,
  at: Date,
): APIGatewayProxyEventV2 {
  const queryAt = request.url.indexOf("?");
  const rawPath = queryAt === -1 ? request.url : request.url.slice(0, queryAt);
  const rawQueryString = queryAt === -1 ? "" : request.url.slice(queryAt + 1);
  const headers = joinedHeaders(request.headers);
  const cookie = request.headers.cookie;
  const query = queryParameters(rawQueryString);
  const domainName = headers.host ?? "localhost";
  const isText = isTextMediaType(headers["content-type"]);
  return {
    version: "2.0",
    routeKey: "$default",
    rawPath,
    rawQueryString,
    ...(cookie ? { cookies: cookie.split(/;\s*/) } : {}),
    headers,
    ...(query ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: "anonymous",
      apiId: "local",
      domainName,
      domainPrefix: domainName.split(".")[0] ?? domainName,
      http: {
        method: request.method,
        path: rawPath,
        protocol: "HTTP/1.1",
        sourceIp: request.sourceIp,
        userAgent: headers["user-agent"] ?? "",
      },
      requestId: randomUUID(),
      routeKey: "$default",
      stage: "$default",
      time: requestTime(at),
      timeEpoch: at.getTime(),
    },
    ...(body.length > 0 ? { body: isText ? body.toString("utf8") : body.toString("base64") } : {}),
    isBase64Encoded: body.length > 0 && !isText,
  };
}

function send(
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string | Buffer,
) {
  response.writeHead(status, headers).end(body);
}

/** Writes the function's answer the way a Function URL does, and returns the status sent. */
function answer(response: ServerResponse, result: InvokeResult): number {
  if (!result.ok) {
    send(
      response,
      502,
      { "content-type": "application/json" },
      JSON.stringify({ Message: "Internal Server Error" }),
    );
    return 502;
  }
  const structured = structuredResponseSchema.safeParse(result.payload);
  if (!structured.success) {
    /* A payload without statusCode is taken as a JSON body with 200. */
    send(response, 200, { "content-type": "application/json" }, JSON.stringify(result.payload));
    return 200;
  }
  const { statusCode, headers = {}, body = "", isBase64Encoded, cookies = [] } = structured.data;
  const textHeaders = Object.fromEntries(
    Object.entries(headers).map(([name, value]) => [name, String(value)]),
  );
  if (cookies.length > 0) response.setHeader("set-cookie", cookies);
  send(response, statusCode, textHeaders, isBase64Encoded ? Buffer.from(body, "base64") : body);
  return statusCode;
}

async function readBody(request: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * A Lambda Function URL on 127.0.0.1: each HTTP request becomes the payload-2.0 event Lambda would
 * deliver, the function's answer becomes the HTTP response (502 when the function fails, as Lambda
 * answers then).
 */
export async function startFunctionUrl(options: FunctionUrlOptions): Promise<FunctionUrl> {
  const exchange = async (request: IncomingMessage, response: ServerResponse) => {
    const method = request.method ?? "GET";
    const url = request.url ?? "/";
    const body = await readBody(request);
    const rawPath = url.split("?", 1)[0] ?? "/";
    if (body === undefined) {
      send(
        response,
        413,
        { "content-type": "application/json" },
        JSON.stringify({ Message: "Request Too Long" }),
      );
      options.onExchange?.({ method, rawPath, body: "", status: 413, result: undefined });
      return;
    }
    const event = functionUrlEvent(
      { method, url, headers: request.headers, sourceIp: request.socket.remoteAddress ?? "127.0.0.1" },
      body,
      new Date(),
    );
    const result = await options.invoke(event);
    if (response.destroyed) return;
    const status = answer(response, result);
    options.onExchange?.({ method, rawPath, body: body.toString("utf8"), status, result });
  };

  const handle = (request: IncomingMessage, response: ServerResponse) => {
    exchange(request, response).catch(() => response.destroy());
  };
  const server = options.tls ? createHttpsServer(options.tls, handle) : createServer(handle);
  const { url } = await listen(server, {
    ...(options.port === undefined ? {} : { port: options.port }),
    ...(options.host === undefined ? {} : { host: options.host }),
    purpose: options.purpose ?? "the Function URL",
  });
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
