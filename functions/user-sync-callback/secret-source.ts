import type { Logger } from "@aws-lambda-powertools/logger";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsGetOptions } from "@aws-lambda-powertools/parameters/secrets/types";
import { ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { MIN_SECRET_LENGTH } from "./secret-match.ts";

/** Where the callback finds the secrets a caller may present for a client. */
export interface CallbackSecretSource {
  /** AWSCURRENT and, during a rotation, AWSPREVIOUS; served from a cache. */
  acceptedValues(secretId: string): Promise<readonly string[]>;
  /**
   * The same, fetched anew so that a rotation is seen before the cache expires; `undefined` when the
   * secret was fetched anew too recently (a stream of wrong secrets must not become a stream of calls).
   */
  refreshedValues(secretId: string): Promise<readonly string[] | undefined>;
}

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  readonly logger: Pick<Logger, "warn" | "error">;
  readonly now?: () => Date;
  /** @default 300 */
  readonly maxAgeSeconds?: number;
  /** @default 10 */
  readonly minRefreshIntervalSeconds?: number;
}

type Stage = "AWSCURRENT" | "AWSPREVIOUS";

/* Cached as "no usable value": Powertools caches any value but undefined, and a missing AWSPREVIOUS must not cost a call per request. */
const NO_VALUE = "";

/*
 * Powertools keys its cache on the secret id alone, not on the version stage, so each stage gets a
 * provider of its own. Fetching goes through `_get`, which this subclass narrows to one stage, turns a
 * missing or too-short value into NO_VALUE, and falls back to the last known value when Secrets Manager
 * fails, because a deletion that cannot be authenticated is lost (finAPI never retries).
 */
class StageSecretsProvider extends SecretsProvider {
  readonly #stage: Stage;
  readonly #logger: Pick<Logger, "warn" | "error">;
  /* What the last successful fetch of each secret gave, NO_VALUE included: the fallback when Secrets Manager fails. */
  readonly #lastKnown = new Map<string, string>();

  constructor(client: SecretsManagerClient, stage: Stage, logger: Pick<Logger, "warn" | "error">) {
    super({ awsSdkV3Client: client });
    this.#stage = stage;
    this.#logger = logger;
  }

  protected override async _get(
    name: string,
    options?: NonNullable<SecretsGetOptions>,
  ): Promise<string | Uint8Array | undefined> {
    try {
      const known = this.#usable(
        name,
        await super._get(name, { ...options, sdkOptions: { VersionStage: this.#stage } }),
      );
      this.#lastKnown.set(name, known);
      return known;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) {
        if (this.#stage === "AWSCURRENT") {
          this.#logger.error("callback secret not found", { secretId: name, versionStage: this.#stage });
        }
        this.#lastKnown.set(name, NO_VALUE);
        return NO_VALUE;
      }
      const lastKnown = this.#lastKnown.get(name);
      if (lastKnown === undefined) throw error;
      this.#logger.warn("Secrets Manager failed; using the secret value fetched before", {
        secretId: name,
        versionStage: this.#stage,
        errorName: error instanceof Error ? error.name : typeof error,
      });
      return lastKnown;
    }
  }

  #usable(name: string, value: string | Uint8Array | undefined): string {
    if (typeof value === "string" && value.length >= MIN_SECRET_LENGTH) return value;
    this.#logger.error("callback secret ignored: misconfigured", {
      secretId: name,
      versionStage: this.#stage,
      rule: `SecretString of at least ${MIN_SECRET_LENGTH} characters`,
    });
    return NO_VALUE;
  }
}

/** The callback's secrets from Secrets Manager, cached by Powertools Parameters. */
export function createSecretsManagerSource(options: SecretsManagerSourceOptions): CallbackSecretSource {
  const now = options.now ?? (() => new Date());
  const maxAge = options.maxAgeSeconds ?? 300;
  const minRefreshIntervalMs = (options.minRefreshIntervalSeconds ?? 10) * 1000;
  const providers = (["AWSCURRENT", "AWSPREVIOUS"] as const).map(
    (stage) => new StageSecretsProvider(options.client, stage, options.logger),
  );
  const lastRefreshAt = new Map<string, number>();

  const fetchValues = async (secretId: string, forceFetch: boolean) => {
    const values = await Promise.all(
      providers.map((provider) => provider.get(secretId, { maxAge, forceFetch })),
    );
    return values.filter((value): value is string => typeof value === "string" && value !== NO_VALUE);
  };

  return {
    acceptedValues: (secretId) => fetchValues(secretId, false),
    async refreshedValues(secretId) {
      const at = now().getTime();
      const last = lastRefreshAt.get(secretId);
      if (last !== undefined && at - last < minRefreshIntervalMs) return undefined;
      lastRefreshAt.set(secretId, at);
      return fetchValues(secretId, true);
    },
  };
}
