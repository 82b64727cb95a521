import type { Logger } from "@aws-lambda-powertools/logger";
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SecretsGetOptions } from "@aws-lambda-powertools/parameters/secrets/types";
import { ResourceNotFoundException, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SecretDigestStore } from "./secret-digest-store.ts";
import { MIN_SECRET_LENGTH, secretDigest } from "./secret-match.ts";

/** Where the callback finds the secrets a caller may present for a client, as their digests. */
export interface CallbackSecretSource {
  /** AWSCURRENT and, during a rotation, AWSPREVIOUS; served from a cache. */
  acceptedDigests(secretId: string): Promise<readonly Uint8Array[]>;
  /**
   * The same, fetched anew so that a rotation is seen before the cache expires; `undefined` when the
   * secret was fetched anew too recently (a stream of wrong secrets must not become a stream of calls).
   */
  refreshedDigests(secretId: string): Promise<readonly Uint8Array[] | undefined>;
}

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  readonly logger: Pick<Logger, "warn" | "error">;
  readonly now?: () => Date;
  /** @default 300 */
  readonly maxAgeSeconds?: number;
  /** @default 10 */
  readonly minRefreshIntervalSeconds?: number;
  /**
   * Keeps the digests of what Secrets Manager gave, and gives them back when Secrets Manager fails
   * before this environment has read a secret at all (a cold start during an outage).
   * @default - none: such a failure is thrown
   */
  readonly digestStore?: SecretDigestStore;
}

type Stage = "AWSCURRENT" | "AWSPREVIOUS";

/* Cached as "no usable value": Powertools caches any value but undefined, and a missing AWSPREVIOUS must not cost a call per request. */
const NO_VALUE = "";

/* Powertools wraps what Secrets Manager threw in a GetParameterError; the cause says what happened. */
const errorName = (error: unknown): string => {
  if (!(error instanceof Error)) return typeof error;
  return error.cause instanceof Error ? error.cause.name : error.name;
};

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
        errorName: errorName(error),
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

const fingerprint = (digests: readonly Uint8Array[]) =>
  digests.map((digest) => Buffer.from(digest).toString("base64")).join(",");

/** The callback's secrets from Secrets Manager, cached by Powertools Parameters. */
export function createSecretsManagerSource(options: SecretsManagerSourceOptions): CallbackSecretSource {
  const { logger, digestStore } = options;
  const now = options.now ?? (() => new Date());
  const maxAge = options.maxAgeSeconds ?? 300;
  const minRefreshIntervalMs = (options.minRefreshIntervalSeconds ?? 10) * 1000;
  const providers = (["AWSCURRENT", "AWSPREVIOUS"] as const).map(
    (stage) => new StageSecretsProvider(options.client, stage, logger),
  );
  const lastRefreshAt = new Map<string, number>();
  /* What the store holds for each secret as far as this environment knows: saving again only on a change. */
  const stored = new Map<string, string>();

  const keep = async (secretId: string, digests: readonly Uint8Array[]) => {
    const current = fingerprint(digests);
    if (!digestStore || stored.get(secretId) === current) return;
    try {
      await digestStore.save(secretId, digests);
      stored.set(secretId, current);
    } catch (error) {
      logger.warn("the secret's digests could not be kept for cold starts during an outage", {
        secretId,
        errorName: errorName(error),
      });
    }
  };

  const kept = async (secretId: string, secretsManagerError: unknown) => {
    const digests = await digestStore?.load(secretId).catch(() => undefined);
    if (digests === undefined) throw secretsManagerError;
    logger.warn("Secrets Manager failed before this environment read the secret; using its kept digests", {
      secretId,
      errorName: errorName(secretsManagerError),
    });
    stored.set(secretId, fingerprint(digests));
    return digests;
  };

  const fetchDigests = async (secretId: string, forceFetch: boolean) => {
    let values: (string | Uint8Array | undefined)[];
    try {
      values = await Promise.all(providers.map((provider) => provider.get(secretId, { maxAge, forceFetch })));
    } catch (error) {
      return kept(secretId, error);
    }
    const digests = values
      .filter((value): value is string => typeof value === "string" && value !== NO_VALUE)
      .map(secretDigest);
    await keep(secretId, digests);
    return digests;
  };

  return {
    acceptedDigests: (secretId) => fetchDigests(secretId, false),
    async refreshedDigests(secretId) {
      const at = now().getTime();
      const last = lastRefreshAt.get(secretId);
      if (last !== undefined && at - last < minRefreshIntervalMs) return undefined;
      lastRefreshAt.set(secretId, at);
      return fetchDigests(secretId, true);
    },
  };
}
