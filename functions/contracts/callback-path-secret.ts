/*
 * Each client's callback path secret (the last segment of `/user-sync/<client>/<secret>`) is derived
 * from the stack's one callback root secret, so that 1,000 clients need one Secrets Manager secret,
 * not 1,000. The callback, config-sync (which registers the URL with finAPI) and the local loop derive
 * it here, with no AWS: one definition, so that none accepts or registers what the others would not.
 */
import { createHmac } from "node:crypto";
import * as z from "../validation/zod.ts";
import { isCallbackSecret } from "./callback-secret.ts";
import { NAME_PATTERN } from "./names.ts";

/*
 * Binds a derived value to this use and scheme: the root secret keys nothing else with this label, and
 * a future scheme gets a new version (every URL changes with it, as with a root rotation).
 */
export const PATH_SECRET_LABEL = "finapi-config-sync/user-sync-callback/path-secret/v1";

/** A root secret shorter than this is a misconfiguration: 43 alphanumerics carry 256 bits. */
export const MIN_CALLBACK_ROOT_SECRET_LENGTH = 43;

/** The root secret's rule in words, for error messages and log lines (never with the value). */
export const CALLBACK_ROOT_SECRET_RULE = `at least ${MIN_CALLBACK_ROOT_SECRET_LENGTH} characters of A-Z a-z 0-9 . _ ~ - (the stack generates 64 alphanumerics)`;

export const callbackRootSecretSchema = z.string().check(
  z.regex(new RegExp(`^[A-Za-z0-9._~-]{${MIN_CALLBACK_ROOT_SECRET_LENGTH},}$`), {
    error: CALLBACK_ROOT_SECRET_RULE,
  }),
);

export const isCallbackRootSecret = (value: unknown): value is string =>
  callbackRootSecretSchema.safeParse(value).success;

/**
 * A client's path secret generation: bumping it (and deploying) gives that client a new path secret
 * and refuses the old one at once, leaving every other client's URL as it was.
 */
export const callbackSecretGenerationSchema = z
  .int({ error: "callbackSecretGeneration must be a whole number" })
  .check(
    z.gte(0, { error: "callbackSecretGeneration must be at least 0" }),
    z.lte(Number.MAX_SAFE_INTEGER, { error: "callbackSecretGeneration must be a safe integer" }),
  );

/** What a client's path secret is derived from, besides the root secret. */
export interface PathSecretClient {
  readonly name: string;
  readonly callbackSecretGeneration: number;
}

/**
 * base64url(HMAC-SHA256(root, label NUL name NUL generation)): 43 URL-unreserved characters (256 bits),
 * so it passes the shared callback secret rule. Client names cannot hold a NUL and the generation is
 * decimal, so no two (name, generation) pairs give one input.
 */
export function derivePathSecret(rootSecret: string, client: PathSecretClient): string {
  if (!NAME_PATTERN.test(client.name)) throw new Error("a client name must match the client name rule");
  if (!callbackSecretGenerationSchema.safeParse(client.callbackSecretGeneration).success) {
    throw new Error("callbackSecretGeneration must be a whole number from 0");
  }
  const secret = createHmac("sha256", rootSecret)
    .update(PATH_SECRET_LABEL, "utf8")
    .update("\0")
    .update(client.name, "utf8")
    .update("\0")
    .update(String(client.callbackSecretGeneration), "utf8")
    .digest("base64url");
  /* Holds by construction; checked so that a change of encoding cannot slip past the shared rule. */
  if (!isCallbackSecret(secret)) throw new Error("a derived path secret breaks the callback secret rule");
  return secret;
}
