import { type UserSyncCallbackPayload, userSyncCallbackPayloadSchema } from "../finapi/user.ts";
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

/**
 * The parts of an API Gateway HTTP API (payload 2.0) or Lambda Function URL event the callback reads,
 * headers already lower-cased by middy's header normalizer. Anything else in the event is ignored.
 */
export const callbackHttpEventSchema = z.object({
  rawPath: z.optional(z.string()),
  headers: z.optional(z.record(z.string(), z.optional(z.string()))),
  body: z.optional(z.string()),
  isBase64Encoded: z.optional(z.boolean()),
  requestContext: z.optional(z.object({ http: z.object({ method: z.string() }) })),
});
export type CallbackHttpEvent = z.infer<typeof callbackHttpEventSchema>;

/** The fields the callback reads; an event of another shape reads as empty, so it has no path and gets a 404. */
export function readHttpEvent(event: unknown): CallbackHttpEvent {
  const result = callbackHttpEventSchema.safeParse(event);
  return result.success ? result.data : {};
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

function describeIssues(error: z.core.$ZodError): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.join(".");
    return path === "" ? `body ${issue.message}` : `${path}: ${issue.message}`;
  });
  return [...new Set(lines)].join("; ");
}

/**
 * The callback payload of an authenticated request, or the HttpRejection that answers it:
 * 405 (not POST), 415 (not application/json), 413 (decoded body over 4 KiB), 400 (not a valid payload).
 */
export function readCallbackPayload(event: CallbackHttpEvent): UserSyncCallbackPayload {
  const method = event.requestContext?.http.method.toUpperCase();
  if (method !== "POST") throw reject(405, "method must be POST", { Allow: "POST" });
  if (!isJsonMediaType(event.headers?.["content-type"])) {
    throw reject(415, "content-type must be application/json");
  }
  const rawBody = event.body ?? "";
  const isBase64Encoded = event.isBase64Encoded === true;
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
  if (!payload.success) throw reject(400, describeIssues(payload.error));
  return payload.data;
}
