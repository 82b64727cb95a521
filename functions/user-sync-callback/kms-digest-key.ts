import { GenerateMacCommand, type KMSClient } from "@aws-sdk/client-kms";
import type { DigestKey } from "./secret-match.ts";

/*
 * The message the digest key is derived from. Fixed, so that every environment derives the same key;
 * versioned, so that a future change of scheme derives a different one.
 */
export const DIGEST_KEY_MESSAGE = "finapi-config-sync/user-sync-callback/kept-secret-digests/v1";

/**
 * The key of the digests kept in DynamoDB: HMAC-SHA256 of a fixed message under a KMS HMAC key, whose
 * material never leaves KMS, so only a principal allowed kms:GenerateMac on it (the callback's role)
 * can compute it. Derived with one call on first use and kept in memory; a failed derivation is tried
 * again on the next use.
 */
export function createKmsDigestKey(client: KMSClient, keyId: string): () => Promise<DigestKey> {
  let derived: Promise<DigestKey> | undefined;
  return () => {
    derived ??= client
      .send(
        new GenerateMacCommand({
          KeyId: keyId,
          MacAlgorithm: "HMAC_SHA_256",
          Message: new TextEncoder().encode(DIGEST_KEY_MESSAGE),
        }),
      )
      .then(({ Mac }) => {
        if (!Mac || Mac.length < 32) throw new Error("KMS GenerateMac answered without a 256-bit MAC");
        return Mac;
      })
      .catch((error: unknown) => {
        derived = undefined;
        throw error;
      });
    return derived;
  };
}
