import { BaseProvider } from "@aws-lambda-powertools/parameters/base";
import type { GetOptionsInterface } from "@aws-lambda-powertools/parameters/base/types";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SourceReadOptions } from "./parameter-source.ts";

export interface SecretSource {
  /**
   * The secret's AWSCURRENT SecretString, or undefined when it holds binary data. AWS failures (a
   * missing secret and an aborted call included) are thrown.
   */
  read(secretId: string, options: SourceReadOptions): Promise<string | undefined>;
}

/*
 * BaseProvider hands `get`'s options to `_get` as they are (the documented contract of a custom
 * provider), so the abort signal travels with them to the SDK call.
 */
interface AbortableGetOptions extends GetOptionsInterface {
  readonly abortSignal?: AbortSignal;
}

/*
 * Powertools' SecretsProvider cannot pass an abort signal to its GetSecretValue call, which the run's
 * deadline needs; this provider makes the same call with it and lets BaseProvider do the caching.
 */
class AbortableSecretsProvider extends BaseProvider {
  readonly #secretsManager: SecretsManagerClient;

  constructor(secretsManager: SecretsManagerClient) {
    super({
      awsSdkV3Client: secretsManager,
      awsSdkV3ClientPrototype: SecretsManagerClient as new (config?: unknown) => unknown,
    });
    this.#secretsManager = secretsManager;
  }

  protected async _get(
    secretId: string,
    options?: AbortableGetOptions,
  ): Promise<string | Uint8Array | undefined> {
    const { SecretString, SecretBinary } = await this.#secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId }),
      { abortSignal: options?.abortSignal },
    );
    return SecretString || SecretBinary;
  }

  protected _getMultiple(): Promise<Record<string, unknown> | undefined> {
    throw new Error("config-sync reads secrets one at a time");
  }
}

/** Secrets Manager through Powertools Parameters' cache, `maxAgeSeconds` long. */
export function createSecretSource(
  secretsManager: SecretsManagerClient,
  maxAgeSeconds: number,
): SecretSource {
  const provider = new AbortableSecretsProvider(secretsManager);
  return {
    async read(secretId, { fresh, signal }) {
      const options: AbortableGetOptions = { maxAge: maxAgeSeconds, forceFetch: fresh, abortSignal: signal };
      const value = await provider.get(secretId, options);
      return typeof value === "string" ? value : undefined;
    },
  };
}
