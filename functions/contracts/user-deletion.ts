/*
 * What the user-sync callback, the deletion publisher, the stack and the consumers agree on about a
 * forwarded user deletion. Neither function imports the other: both import this.
 */
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import { finapiUserIdSchema, USER_DELETED_EVENT } from "../finapi/user.ts";
import * as z from "../validation/zod.ts";
import { NAME_PATTERN, NAME_RULE } from "./names.ts";

/** EventBridge `Source` and `DetailType` of a forwarded deletion: what consumers' rules match on. */
export const USER_DELETED_SOURCE = "finapi.user-sync";
export const USER_DELETED_DETAIL_TYPE = "finAPI User Deleted";

/**
 * A finAPI user base: sandbox, live and each mandator are separate ones, so the same user id in two
 * of them is two users. By default a client's user base is its environment.
 */
export const userBaseSchema = z
  .string()
  .check(z.regex(NAME_PATTERN, { error: `a user base is ${NAME_RULE}` }));

/** The `detail` of a "finAPI User Deleted" event. */
export const userDeletedDetailSchema = z.strictObject({
  /**
   * One id per deletion (not per delivery): finAPI's copies of one deletion to the clients of a user
   * base carry the same id, a later deletion of a re-created user a new one. Consumers may dedupe on it.
   */
  deletionId: z.uuid(),
  userBase: userBaseSchema,
  /** The finAPI environment of the user base (sandbox, live, alpha). */
  environment: finapiEnvironmentSchema,
  userId: finapiUserIdSchema,
  event: z.literal(USER_DELETED_EVENT),
  /** The configured client whose callback URL delivered the deletion first. */
  client: z.string().check(z.regex(NAME_PATTERN)),
  /** When the callback received that first delivery, ISO 8601 in UTC. */
  receivedAt: z.iso.datetime(),
});
export type UserDeletedDetail = z.infer<typeof userDeletedDetailSchema>;

/**
 * The deletion queue (SQS FIFO) between the callback and the publisher: the message body is the
 * detail as JSON. One message group per user of a user base keeps a user's deletions in order; the
 * deduplication id is the deletion id, so finAPI's copies of one deletion sent within SQS's
 * deduplication interval become one message whatever their timing.
 */
export const deletionMessageGroupId = (detail: Pick<UserDeletedDetail, "userBase" | "userId">) =>
  `${detail.userBase}:${detail.userId}`;
export const deletionDeduplicationId = (detail: Pick<UserDeletedDetail, "deletionId">) => detail.deletionId;
/** SQS FIFO's deduplication interval: a second send of one deduplication id within it is dropped. */
export const SQS_DEDUPLICATION_INTERVAL_MS = 5 * 60 * 1000;

/** A deletion in the dead-letter queue: the detail and why it was not published (redrive: publish the detail). */
export const deadLetterMessageSchema = z.extend(userDeletedDetailSchema, { reason: z.string() });
export type DeadLetterMessage = z.infer<typeof deadLetterMessageSchema>;

/**
 * The deletions table (partition key `id`, TTL attribute `expiration` in epoch seconds) holds:
 * - per (userBase, userId), the current deletion generation, written by the callback;
 * - per deletion id, the mark that it was published, written by the publisher after PutEvents
 *   succeeded, so that a redriven or repeated message is not published again.
 */
export const deletionGenerationKey = (userBase: string, userId: string) => `deletion#${userBase}#${userId}`;
export const publishedMarkKey = (deletionId: string) => `published#${deletionId}`;

/** How long finAPI's copies of one deletion to the clients of a user base are taken as one deletion. */
export const DEFAULT_FAN_OUT_WINDOW_SECONDS = 60 * 60;
export const MIN_FAN_OUT_WINDOW_SECONDS = 60;
