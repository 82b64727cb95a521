/*
 * What the stack writes into the user-sync callback's CALLBACK_CLIENTS variable and the callback reads:
 * one entry per hosted client.
 */
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import * as z from "../validation/zod.ts";
import { NAME_PATTERN, NAME_RULE, userBaseSchema } from "./user-deletion.ts";

export const callbackClientEntrySchema = z.strictObject({
  /** The configured client: the `<client>` of its callback path `/user-sync/<client>/<secret>`. */
  name: z.string().check(z.regex(NAME_PATTERN, { error: `a client name is ${NAME_RULE}` })),
  /** The Secrets Manager secret (name or ARN) holding the client's path secret. */
  secretId: z
    .string()
    .check(z.minLength(1, { error: "secretId must name a Secrets Manager secret (name or ARN)" })),
  /** The finAPI user base the client's deletions belong to. */
  userBase: userBaseSchema,
  /** The finAPI environment of that user base. */
  environment: finapiEnvironmentSchema,
});
export type CallbackClientEntry = z.infer<typeof callbackClientEntrySchema>;
