import { type UserSyncCallbackPayload, userSyncCallbackPayloadSchema } from "../finapi/user.ts";
import { describeIssues } from "../validation/issues.ts";
import * as z from "../validation/zod.ts";

export const MAX_BODY_BYTES = 4096;

/**
 * An answer other than 2xx, thrown for middy's HTTP error handler to render. `body` is the whole
 * response body: empty, or a short JSON reason that never repeats the request.
 */
export class HttpRejection extends Error {
  readonly statusCode: number;
  readonly expose = true;
  readonly headers: Record<string, string>;

  constructor(statusCode: number, body: string, headers: Record<string, string> = {}) {
    super(body);
    this.name = "HttpRejection";
    this.statusCode = statusCode;
    this.headers = headers;
  }

  /** What a log line may say about the rejection. */
  get reason(): string {
    return this.message === "" ? `status ${this.statusCode}` : this.message;
  }
}

const reject = (statusCode: number, reason: string, headers?: Record<string, string>) =>
  new HttpRejection(statusCode, JSON.stringify({ message: reason }), headers);

/** A wrong secret, an unknown client or an unknown path all look the same from outside. */
export const notFound = () => new HttpRejection(404, "");

const headersSchema = z.record(z.string(), z.optional(z.string()));

/*
 * The two ingresses the stack can put in front of the callback: a Lambda Function URL (payload 2.0,
 * as an API Gateway HTTP API sends too) and an API Gateway REST API proxy integration (payload 1.0).
 * Only the fields the callback reads are parsed; headers are already lower-cased by middy's header
 * normalizer.
 */
const functionUrlEventSchema = z.object({
  rawPath: z.optional(z.string()),
  headers: z.optional(headersSchema),
  body: z.optional(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
  requestContext: z.optional(z.object({ http: z.object({ method: z.string() }) })),
});

/* `path` is the resource path without the stage; a REST API gives null for absent headers and body. */
const restApiEventSchema = z.object({
  path: z.string(),
  httpMethod: z.string(),
  headers: z.nullish(headersSchema),
  body: z.nullish(z.string()),
  isBase64Encoded: z.nullish(z.boolean()),
});

/** One HTTP request to the callback, whichever ingress delivered it. */
export interface CallbackHttpRequest {
  readonly path?: string;
  readonly method?: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
  readonly isBase64Encoded: boolean;
}

/**
 * The request in a Function URL or REST API proxy event. An event of another shape reads as a request
 * without path or method, so that it gets the 404 an unknown path gets.
 */
export function readHttpEvent(event: unknown): CallbackHttpRequest {
  const rest = restApiEventSchema.safeParse(event);
  if (rest.success) {
    const { path, httpMethod, headers, body, isBase64Encoded } = rest.data;
    return {
      path,
      method: httpMethod,
      headers: headers ?? {},
      ...(body === null || body === undefined ? {} : { body }),
      isBase64Encoded: isBase64Encoded === true,
    };
  }
  const functionUrl = functionUrlEventSchema.safeParse(event);
  if (!functionUrl.success) return { headers: {}, isBase64Encoded: false };
  const { rawPath, requestContext, headers, body, isBase64Encoded } = functionUrl.data;
  return {
    ...(rawPath === undefined ? {} : { path: rawPath }),
    ...(requestContext === undefined ? {} : { method: requestContext.http.method }),
    headers: headers ?? {},
    ...(body === undefined ? {} : { body }),
    isBase64Encoded: isBase64Encoded === true,
  };
}

function isJsonMediaType(contentType: string | undefined): boolean {
  const mediaType = contentType?.split(";", 1)[0]?.trim().toLowerCase();
  return mediaType === "application/json";
}

/* Cheap bounds on the encoded text, so an oversized body is refused before it is decoded. */
function mayFit(body: string, isBase64Encoded: boolean): boolean {
  return isBase64Encoded
    ? body.length <= Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4
    : body.length <= MAX_BODY_BYTES;
}

function decodeBody(body: string, isBase64Encoded: boolean): Buffer {
  return isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8");
}

/**
 * The callback payload of an authenticated request, or the HttpRejection that answers it:
 * 405 (not POST), 415 (not application/json), 413 (decoded body over 4 KiB), 400 (not a valid payload).
 */
export function readCallbackPayload(request: CallbackHttpRequest): UserSyncCallbackPayload {
  if (request.method?.toUpperCase() !== "POST") throw reject(405, "method must be POST", { Allow: "POST" });
  if (!isJsonMediaType(request.headers["content-type"])) {
    throw reject(415, "content-type must be application/json");
  }
  const rawBody = request.body ?? "";
  const { isBase64Encoded } = request;
  const tooLarge = () => reject(413, `body must be at most ${MAX_BODY_BYTES} bytes`);
  if (!mayFit(rawBody, isBase64Encoded)) throw tooLarge();
  const bytes = decodeBody(rawBody, isBase64Encoded);
  if (bytes.length > MAX_BODY_BYTES) throw tooLarge();
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw reject(400, "body must be JSON");
  }
  const payload = userSyncCallbackPayloadSchema.safeParse(json);
  if (!payload.success) throw reject(400, describeIssues(payload.error.issues, { whole: "body" }).join("; "));
  return payload.data;
}
