/*
 * What a user-sync callback secret (the last path segment of the hosted callback URL) must look like.
 * config-sync checks it before it registers the URL with finAPI, the callback before it accepts a
 * value from Secrets Manager: one rule, so neither accepts what the other refuses.
 */
import * as z from "../validation/zod.ts";

/** How long after a rotation the previous secret is still accepted: finAPI holds the old URL until config-sync registers the new one. */
export const DEFAULT_ROTATION_OVERLAP_SECONDS = 24 * 60 * 60;
/* A leaked URL must stop working within a bounded time: a week at most. */
export const MAX_ROTATION_OVERLAP_SECONDS = 7 * 24 * 60 * 60;

/** Shorter secrets are a misconfiguration: 22 alphanumerics are the least that carry 128 bits. */
export const MIN_CALLBACK_SECRET_LENGTH = 22;

/** The rule in words, for error messages and log lines (never with the value). */
export const CALLBACK_SECRET_RULE = `at least ${MIN_CALLBACK_SECRET_LENGTH} characters of A-Z a-z 0-9 . _ ~ - (it becomes a path segment of the callback URL)`;

/*
 * Only URL-unreserved characters keep the secret one path segment, unencoded: the callback compares the
 * raw segment, so an encoded character could never match.
 */
export const callbackSecretSchema = z
  .string()
  .check(
    z.regex(new RegExp(`^[A-Za-z0-9._~-]{${MIN_CALLBACK_SECRET_LENGTH},}$`), { error: CALLBACK_SECRET_RULE }),
  );

export const isCallbackSecret = (value: unknown): value is string =>
  callbackSecretSchema.safeParse(value).success;
