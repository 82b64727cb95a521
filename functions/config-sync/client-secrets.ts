import type { Result } from "../commons/result.ts";
import { CALLBACK_ROOT_SECRET_RULE, isCallbackRootSecret } from "../contracts/callback-path-secret.ts";
import * as z from "../validation/zod.ts";

/** The credentials secret's SecretString: `{"clientId": "...", "clientSecret": "..."}`. */
const credential = z
  .string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") })
  .check(z.minLength(1, { error: "must not be empty" }));

export const finapiCredentialsSchema = z.object({ clientId: credential, clientSecret: credential });
export type FinapiCredentialsSecret = z.infer<typeof finapiCredentialsSchema>;

export type SecretParse<T> = Result<T, { problem: string }>;

/** Parses the credentials secret; a problem names the rule, never any part of the value. */
export function parseCredentialsSecret(secretString: string): SecretParse<FinapiCredentialsSecret> {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    return { ok: false, problem: 'is not JSON; it must be {"clientId": "...", "clientSecret": "..."}' };
  }
  const result = finapiCredentialsSchema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.map((issue) =>
    issue.path.length === 0
      ? 'must be a JSON object {"clientId": "...", "clientSecret": "..."}'
      : `${issue.path.map(String).join(".")} ${issue.message}`,
  );
  return { ok: false, problem: problems.join("; ") };
}

/**
 * Parses the callback root secret (what every client's path secret is derived from) by the rule both
 * Lambdas share; a problem states the rule, never the value.
 */
export function parseCallbackRootSecret(secretString: string): SecretParse<string> {
  return isCallbackRootSecret(secretString)
    ? { ok: true, value: secretString }
    : { ok: false, problem: `must be ${CALLBACK_ROOT_SECRET_RULE}` };
}
