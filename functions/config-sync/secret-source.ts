import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";

export interface SecretSource {
  /**
   * The secret's AWSCURRENT SecretString, or undefined when it holds binary data. `fresh` skips the
   * container's cache. AWS failures (a missing secret included) are thrown.
   */
  read(secretId: string, options: { readonly fresh: boolean }): Promise<string | undefined>;
}

/** Secrets Manager through Powertools Parameters' cache, `maxAgeSeconds` long. */
export function createSecretSource(
  secretsManager: SecretsManagerClient,
  maxAgeSeconds: number,
): SecretSource {
  const provider = new SecretsProvider({ awsSdkV3Client: secretsManager });
  return {
    async read(secretId, { fresh }) {
      const value = await provider.get(secretId, { maxAge: maxAgeSeconds, forceFetch: fresh });
      return typeof value === "string" ? value : undefined;
    },
  };
}
