import * as z from "zod";

/**
 * finAPI's `ClientConfiguration` as far as this tool reads it: the five managed fields (finAPI reports a
 * cleared URL as null) and everything else passed through untouched.
 */
export const clientConfigurationSchema = z.looseObject({
  userNotificationCallbackUrl: z.string().nullish(),
  userSynchronizationCallbackUrl: z.string().nullish(),
  refreshTokensValidityPeriod: z.number().int().nullish(),
  userAccessTokensValidityPeriod: z.number().int().nullish(),
  clientAccessTokensValidityPeriod: z.number().int().nullish(),
});
export type ClientConfiguration = z.infer<typeof clientConfigurationSchema>;

/** `POST /oauth/token`'s answer. `expires_in: 0` means the token never expires. */
export const accessTokenSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string(),
  expires_in: z.number().int().nonnegative(),
  scope: z.string().optional(),
});
export type AccessToken = z.infer<typeof accessTokenSchema>;

/** finAPI's `ErrorMessage`: the body of every API error except the token endpoint's 401. */
export const errorMessageSchema = z.object({
  errors: z.array(
    z.object({
      message: z.string().nullish(),
      code: z.string().nullish(),
      type: z.string().nullish(),
    }),
  ),
  date: z.string().nullish(),
  requestId: z.string().nullish(),
  endpoint: z.string().nullish(),
  authContext: z.string().nullish(),
  bank: z.string().nullish(),
});

/** finAPI's `BadCredentialsError`, the token endpoint's OAuth-style error body. */
export const badCredentialsErrorSchema = z.object({
  error: z.string(),
  error_description: z.string().nullish(),
});
