import * as z from "../validation/zod.ts";

/** finAPI user ids: at most 36 characters of `0-9 A-Z a-z - _ . + @` (finAPI's OpenAPI `userId` pattern). */
export const FINAPI_USER_ID_MAX_LENGTH = 36;
export const FINAPI_USER_ID_PATTERN = /^[0-9A-Za-z\-_.+@]+$/;
export const FINAPI_USER_ID_RULE = `1..${FINAPI_USER_ID_MAX_LENGTH} characters of 0-9 A-Z a-z - _ . + @`;

const stringError = (issue: { input: unknown }) =>
  issue.input === undefined ? "is required" : "must be a string";

export const finapiUserIdSchema = z
  .string({ error: stringError })
  .check(
    z.minLength(1, { error: `must be ${FINAPI_USER_ID_RULE}` }),
    z.maxLength(FINAPI_USER_ID_MAX_LENGTH, { error: `must be ${FINAPI_USER_ID_RULE}` }),
    z.regex(FINAPI_USER_ID_PATTERN, { error: `must be ${FINAPI_USER_ID_RULE}` }),
  );
export type FinapiUserId = z.infer<typeof finapiUserIdSchema>;

/** The only event finAPI sends today; others may come, so `event` is any string. */
export const USER_DELETED_EVENT = "DELETED";

/**
 * The body finAPI POSTs to a client's `userSynchronizationCallbackUrl`. Keys beyond these two are
 * tolerated and dropped: finAPI may add some, and nothing unvalidated is passed on.
 */
export const userSyncCallbackPayloadSchema = z.object(
  {
    userId: finapiUserIdSchema,
    event: z.string({ error: stringError }),
  },
  { error: "must be a JSON object" },
);
export type UserSyncCallbackPayload = z.infer<typeof userSyncCallbackPayloadSchema>;
