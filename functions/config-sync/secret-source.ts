import {
  BatchGetSecretValueCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import type { SourceReadOptions } from "./parameter-source.ts";
import { readAhead } from "./read-ahead.ts";

/** The most secrets one BatchGetSecretValue call takes (Secrets Manager's limit). */
export const BATCH_GET_SECRETS_MAX_IDS = 20;

/* How far past the secret asked for the run's secrets are requested: its own batch and the next one. */
const READ_AHEAD_IDS = 2 * BATCH_GET_SECRETS_MAX_IDS;

/** One run's batched reads of the secrets it will need. */
export interface SecretBatches {
  /**
   * Settles once the cache holds `secretId` or the BatchGetSecretValue call that was to read it is over
   * (answered without it, or failed); `read` then serves the secret from the cache or reads it alone.
   * Rejects only when `signal` was aborted meanwhile.
   */
  fetched(secretId: string, signal?: AbortSignal): Promise<void>;
}

export interface SecretSource {
  /**
   * The secret's AWSCURRENT SecretString, or undefined when it holds binary data: from the container's
   * cache unless `fresh`, else with one GetSecretValue call. AWS failures (a missing secret and an
   * aborted call included) are thrown.
   */
  read(secretId: string, options: SourceReadOptions): Promise<string | undefined>;
  /**
   * The batched reads of one run over `secretIds`, in the order the run asks for them: the secrets the
   * cache does not hold are read with BatchGetSecretValue, BATCH_GET_SECRETS_MAX_IDS at a time, from the
   * one asked for to a batch past it. `signal` (the run's deadline) aborts the calls. With a maximum age
   * of 0 (no cache) there are no batches.
   */
  batches(secretIds: readonly string[], signal?: AbortSignal): SecretBatches;
}

export interface SecretSourceOptions {
  /** @default Date.now */
  readonly now?: () => number;
}

/*
 * Powertools' SecretsProvider reads one secret a call and cannot pass the run's abort signal, and its
 * cache is filled only by its own reads; the run needs batches, so this source keeps its own small
 * cache, keyed by the secret id as configured. Only SecretStrings are cached: a secret holding binary
 * data or none is a configuration mistake, read again each time until it is fixed.
 */
export function createSecretSource(
  secretsManager: SecretsManagerClient,
  maxAgeSeconds: number,
  options: SecretSourceOptions = {},
): SecretSource {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { readonly value: string; readonly fetchedAt: number }>();

  const cached = (secretId: string) => {
    const entry = cache.get(secretId);
    return entry && now() - entry.fetchedAt < maxAgeSeconds * 1000 ? entry.value : undefined;
  };
  const remember = (secretId: string, value: string | undefined) => {
    if (value) cache.set(secretId, { value, fetchedAt: now() });
  };

  /*
   * Secrets Manager answers each secret by its name and ARN; an id given as a partial ARN matches
   * neither and is left to a read of its own. Secrets in Errors (not found, access denied, a KMS key
   * that may not be used) are too, so that each client's failure is the one a single read reports.
   */
  async function fetchBatch(secretIds: readonly string[], signal: AbortSignal | undefined) {
    signal?.throwIfAborted();
    const { SecretValues = [] } = await secretsManager.send(
      new BatchGetSecretValueCommand({ SecretIdList: [...secretIds] }),
      { abortSignal: signal },
    );
    for (const entry of SecretValues) {
      const secretId = secretIds.find((id) => id === entry.Name || id === entry.ARN);
      if (secretId !== undefined) remember(secretId, entry.SecretString);
    }
  }

  return {
    async read(secretId, { fresh, signal }) {
      const hit = fresh ? undefined : cached(secretId);
      if (hit !== undefined) return hit;
      signal?.throwIfAborted();
      const { SecretString } = await secretsManager.send(new GetSecretValueCommand({ SecretId: secretId }), {
        abortSignal: signal,
      });
      remember(secretId, SecretString);
      return SecretString || undefined;
    },

    batches(secretIds, signal) {
      /* Without a cache a batch's answer could not reach the reads: each read is a GetSecretValue of its own. */
      if (maxAgeSeconds <= 0) {
        return {
          async fetched(_secretId, readSignal) {
            readSignal?.throwIfAborted();
          },
        };
      }
      const reads = readAhead(secretIds, {
        batchSize: BATCH_GET_SECRETS_MAX_IDS,
        aheadIds: READ_AHEAD_IDS,
        needsRead: (secretId) => cached(secretId) === undefined,
        /* A failed call leaves its secrets to reads of their own, which report each client's failure. */
        startCall: (batch) => fetchBatch(batch, signal).catch(() => {}),
      });
      return {
        async fetched(secretId, readSignal) {
          await reads.ask(secretId);
          readSignal?.throwIfAborted();
        },
      };
    },
  };
}
