import { finapiUserIdSchema, USER_DELETED_EVENT } from "../finapi/user.ts";
import * as z from "../validation/zod.ts";
import { callbackClientNameSchema } from "./config.ts";

/** EventBridge `Source` and `DetailType` of a forwarded deletion: what consumers' rules match on. */
export const USER_DELETED_SOURCE = "finapi.user-sync";
export const USER_DELETED_DETAIL_TYPE = "finAPI User Deleted";

/** The `detail` of a "finAPI User Deleted" event. */
export const userDeletedDetailSchema = z.strictObject({
  userId: finapiUserIdSchema,
  event: z.literal(USER_DELETED_EVENT),
  /** The configured client whose callback URL the deletion came through (the first, if several did). */
  client: callbackClientNameSchema,
  /** When the callback received it, ISO 8601 in UTC. */
  receivedAt: z.iso.datetime(),
});
export type UserDeletedDetail = z.infer<typeof userDeletedDetailSchema>;

/** A deletion that could not be forwarded, as the dead-letter queue holds it (redrive: publish the detail). */
export const deadLetterMessageSchema = z.extend(userDeletedDetailSchema, {
  reason: z.string(),
});
export type DeadLetterMessage = z.infer<typeof deadLetterMessageSchema>;

/** What deduplication is keyed on: the same user deleted once is one deletion, whichever client reports it. */
export const deletionKeySchema = z.pick(userDeletedDetailSchema, { userId: true, event: true });

/**
 * What the idempotency layer hashes for one delivery: the key, and an id of this delivery that the record
 * carries so that a delivery tells its own record from another delivery's.
 */
export const deliveryKeySchema = z.extend(deletionKeySchema, { delivery: z.uuid() });
export type DeliveryKey = z.infer<typeof deliveryKeySchema>;
