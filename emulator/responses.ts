import { STATUS_CODES } from "node:http";
import * as z from "zod";
import type { ErrorType } from "./client-configuration.ts";

/** finAPI's `AccessToken`, the answer of POST /oauth/token. */
export const accessTokenSchema = z.object({
  access_token: z.string(),
  token_type: z.literal("bearer"),
  /** Only for a user (the password and refresh_token grants). */
  refresh_token: z.string().optional(),
  expires_in: z.int32(),
  scope: z.literal("all"),
});
export type AccessToken = z.infer<typeof accessTokenSchema>;

/** finAPI's `BadCredentialsError`: authentication errors, and the OAuth server's grant errors. */
export const badCredentialsErrorSchema = z.object({ error: z.string(), error_description: z.string() });
export type BadCredentialsError = z.infer<typeof badCredentialsErrorSchema>;

const errorCodeSchema = z.enum([
  "BAD_REQUEST",
  "ENTITY_EXISTS",
  "FORBIDDEN",
  "ILLEGAL_ENTITY_STATE",
  "LOCKED",
  "METHOD_NOT_ALLOWED",
  "UNEXPECTED_ERROR",
  "UNAUTHORIZED_ACCESS",
  "UNKNOWN_ENTITY",
  "UNSUPPORTED_MEDIA_TYPE",
]);
export type ErrorCode = z.infer<typeof errorCodeSchema>;

/** finAPI's `ErrorMessage`, the body of every other error. */
export const errorMessageSchema = z.object({
  errors: z.array(
    z.object({
      message: z.string().nullable(),
      code: errorCodeSchema,
      type: z.enum(["BUSINESS", "TECHNICAL"]),
      multiStepAuthentication: z.null(),
    }),
  ),
  date: z.string(),
  requestId: z.string(),
  endpoint: z.string(),
  authContext: z.string(),
  bank: z.string().nullable(),
});
export type ErrorMessage = z.infer<typeof errorMessageSchema>;

/** What every error body names besides the errors themselves. */
export interface ErrorContext {
  readonly requestId: string;
  /** `METHOD /path`, the method after any X-HTTP-Method-Override. */
  readonly endpoint: string;
  /** `1/<client number>` for an authenticated client, `-` otherwise. */
  readonly authContext: string;
  readonly now: number;
}

/** finAPI's date format in error bodies: `2020-11-19 16:54:06.854`. */
function finapiDate(epochMs: number): string {
  return new Date(epochMs).toISOString().replace("T", " ").replace("Z", "");
}

export interface ErrorEntry {
  readonly message: string;
  readonly code: ErrorCode;
  readonly type: ErrorType;
}

export function errorMessage(context: ErrorContext, entries: readonly ErrorEntry[]): ErrorMessage {
  return {
    errors: entries.map(({ message, code, type }) => ({
      message,
      code,
      type,
      multiStepAuthentication: null,
    })),
    date: finapiDate(context.now),
    requestId: context.requestId,
    endpoint: context.endpoint,
    authContext: context.authContext,
    bank: null,
  };
}

const ERROR_CODE_BY_STATUS: Readonly<Record<number, ErrorCode>> = {
  400: "BAD_REQUEST",
  403: "FORBIDDEN",
  404: "UNKNOWN_ENTITY",
  405: "METHOD_NOT_ALLOWED",
  415: "UNSUPPORTED_MEDIA_TYPE",
  423: "LOCKED",
};

/** The body finAPI would send with an error `status` that the emulator is told to answer. */
export function defaultErrorBody(status: number, context: ErrorContext): ErrorMessage | BadCredentialsError {
  const reason = STATUS_CODES[status] ?? "Error";
  if (status === 401) return { error: "invalid_token", error_description: reason };
  return errorMessage(context, [
    {
      message: reason,
      code: ERROR_CODE_BY_STATUS[status] ?? (status >= 500 ? "UNEXPECTED_ERROR" : "BAD_REQUEST"),
      type: "TECHNICAL",
    },
  ]);
}
