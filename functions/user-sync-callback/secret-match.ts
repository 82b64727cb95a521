import { createHmac, timingSafeEqual } from "node:crypto";

/** The key secrets are digested with: a random one per environment in memory, a KMS-derived one in DynamoDB. */
export type DigestKey = Uint8Array;

/**
 * HMAC-SHA256 of a client's path secret under `key`, bound to an id of the client (its name and path
 * secret generation, so that digests kept for one client, or for an earlier generation, never
 * authenticate another). Without the key a digest cannot be used to test guesses offline.
 */
export const secretDigest = (key: DigestKey, clientId: string, secret: string): Buffer =>
  createHmac("sha256", key).update(clientId, "utf8").update("\0").update(secret, "utf8").digest();

/**
 * Whether `candidateDigest` equals one of `accepted`, in time that depends on neither: every digest is
 * compared, each with timingSafeEqual (digests have one length, so no length leaks), and `accepted`
 * entries marked `false` are compared too but do not count (an expired AWSPREVIOUS costs the same).
 */
export function matchesAcceptedDigest(
  candidateDigest: Uint8Array,
  accepted: readonly { readonly digest: Uint8Array; readonly counts: boolean }[],
): boolean {
  let matched = false;
  for (const { digest, counts } of accepted) {
    const equal = digest.length === candidateDigest.length && timingSafeEqual(candidateDigest, digest);
    matched = matched || (equal && counts);
  }
  return matched;
}
