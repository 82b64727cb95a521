import { createHash, timingSafeEqual } from "node:crypto";

/** Shorter secrets are a misconfiguration: 22 alphanumerics are the least that carry 128 bits. */
export const MIN_SECRET_LENGTH = 22;

/**
 * The SHA-256 of a secret: what a presented secret is compared by, and the only form in which an
 * accepted secret is kept outside Secrets Manager.
 */
export const secretDigest = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest();

/**
 * Whether `candidate` is one of the secrets whose digests are accepted, in time that depends on neither
 * the candidate nor the secrets: comparing digests makes both sides the same length (timingSafeEqual
 * needs equal lengths and would otherwise leak the secret's), and every accepted digest is compared.
 */
export function matchesAcceptedSecret(candidate: string, acceptedDigests: readonly Uint8Array[]): boolean {
  const candidateDigest = secretDigest(candidate);
  let matched = false;
  for (const accepted of acceptedDigests) {
    const equal = accepted.length === candidateDigest.length && timingSafeEqual(candidateDigest, accepted);
    matched = matched || equal;
  }
  return matched;
}
