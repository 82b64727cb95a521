import { createHash, timingSafeEqual } from "node:crypto";

/** Shorter secrets are a misconfiguration: 22 alphanumerics are the least that carry 128 bits. */
export const MIN_SECRET_LENGTH = 22;

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();

/**
 * Whether `candidate` equals one of the accepted secrets, in time that depends on neither the
 * candidate nor the secrets: both sides are hashed to the same length first (timingSafeEqual needs
 * equal lengths and would otherwise leak the secret's), and every accepted secret is compared.
 */
export function matchesAcceptedSecret(candidate: string, accepted: readonly string[]): boolean {
  const candidateDigest = digest(candidate);
  let matched = false;
  for (const secret of accepted) {
    const equal = timingSafeEqual(candidateDigest, digest(secret));
    matched = matched || equal;
  }
  return matched;
}
