import * as z from "../validation/zod.ts";

/**
 * finAPI's `ClientConfiguration` as far as this tool reads it: the five managed fields (finAPI reports a
 * cleared URL as null) and everything else passed through untouched.
 */
export const clientConfigurationSchema = z.looseObject({
  userNotificationCallbackUrl: z.nullish(z.string()),
  userSynchronizationCallbackUrl: z.nullish(z.string()),
  refreshTokensValidityPeriod: z.nullish(z.int()),
  userAccessTokensValidityPeriod: z.nullish(z.int()),
  clientAccessTokensValidityPeriod: z.nullish(z.int()),
});
export type ClientConfiguration = z.infer<typeof clientConfigurationSchema>;

/** `POST /oauth/token`'s answer. `expires_in: 0` means the token never expires. */
export const accessTokenSchema = z.object({
  access_token: z.string().check(z.minLength(1)),
  token_type: z.string(),
  expires_in: z.int().check(z.nonnegative()),
  scope: z.optional(z.string()),
});
export type AccessToken = z.infer<typeof accessTokenSchema>;

/** finAPI's `ErrorMessage`: the body of every API error except the token endpoint's 401. */
export const errorMessageSchema = z.object({
  errors: z.array(
    z.object({
      message: z.nullish(z.string()),
      code: z.nullish(z.string()),
      type: z.nullish(z.string()),
    }),
  ),
  date: z.nullish(z.string()),
  requestId: z.nullish(z.string()),
  endpoint: z.nullish(z.string()),
  authContext: z.nullish(z.string()),
  bank: z.nullish(z.string()),
});

/** finAPI's `BadCredentialsError`, the token endpoint's OAuth-style error body. */
export const badCredentialsErrorSchema = z.object({
  error: z.string(),
  error_description: z.nullish(z.string()),
});
