import { randomBytes } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { errorName } from "../commons/errors.ts";
import {
  CALLBACK_SECRET_RULE,
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  isCallbackSecret,
} from "../contracts/callback-secret.ts";
import type { KeptDigests, SecretDigestStore } from "./secret-digest-store.ts";
import { type DigestKey, matchesAcceptedDigest, secretDigest } from "./secret-match.ts";

/** What a client's secret allows right now. */
export type SecretVerdict =
  | { readonly usable: true; matches(candidate: string): boolean }
  | {
      readonly usable: false;
      /**
       * `revoked`: Secrets Manager said the secret cannot be used (denied, not found, marked for
       * deletion, not decryptable, malformed); `unavailable`: Secrets Manager cannot be reached and
       * nothing usable is known (no value read before, no fresh kept digests).
       */
      readonly reason: "revoked" | "unavailable";
      /** The AWS error's name or the rule that failed; never a value. */
      readonly errorName: string;
    };

/** Where the callback learns which secrets a caller may present for a client. */
export interface CallbackSecretSource {
  /** From memory while it is fresh (max age), else from Secrets Manager. */
  verdict(secretId: string): Promise<SecretVerdict>;
  /**
   * Read anew, so that a rotation is seen before the memory expires; `undefined` when the secret was
   * read too recently (a stream of wrong secrets must not become a stream of calls).
   */
  refreshedVerdict(secretId: string): Promise<SecretVerdict | undefined>;
}

/** The key of the digests kept in DynamoDB, and where they are kept. */
export interface KeptDigestsOptions {
  readonly store: SecretDigestStore;
  /** Resolves the digest key (derived once per environment, see kms-digest-key.ts). */
  readonly key: () => Promise<DigestKey>;
}

export interface SecretsManagerSourceOptions {
  readonly client: SecretsManagerClient;
  readonly logger: Pick<Logger, "warn" | "error">;
  readonly now?: () => Date;
  /** @default 300 */
  readonly maxAgeSeconds?: number;
  /** The least time between two reads of one secret that a mismatch or an outage triggers. @default 10 */
  readonly minRefreshIntervalSeconds?: number;
  /**
   * How long after the AWSCURRENT version was created AWSPREVIOUS is still accepted.
   * @default 86400 (24 hours)
   */
  readonly rotationOverlapSeconds?: number;
  /**
   * Keeps keyed digests of what Secrets Manager gave, for an environment that starts while Secrets
   * Manager cannot be read (finAPI never repeats a delivery, so one that cannot be authenticated is lost).
   * @default - none: such a start refuses every delivery until Secrets Manager answers
   */
  readonly keptDigests?: KeptDigestsOptions;
}

const CURRENT = "AWSCURRENT";
const PREVIOUS = "AWSPREVIOUS";
/* The rule a malformed AWSCURRENT fails, as the verdict's errorName. */
const MALFORMED_SECRET = "MalformedSecretValue";
/* An environment re-saves unchanged digests this often, so that they do not expire while in use. */
const RESAVE_INTERVAL_MS = 24 * 60 * 60 * 1000;

const THROTTLING_ERRORS = new Set([
  "ThrottlingException",
  "Throttling",
  "TooManyRequestsException",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
]);

/**
 * Whether an error of Secrets Manager means that it cannot answer now (throttled, failing, timed out,
 * unreachable: then what was known before still holds) rather than that the secret cannot be used
 * (every other answer: access denied, not found, marked for deletion, not decryptable, ...). Only the
 * former may fall back to a value read before; anything unrecognised counts as the latter, so that an
 * unforeseen answer fails closed.
 */
export function isSecretsManagerOutage(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const service = error as Error & { $fault?: string; $metadata?: { httpStatusCode?: number } };
  const status = service.$metadata?.httpStatusCode;
  return (
    THROTTLING_ERRORS.has(error.name) ||
    error.name === "InternalServiceError" ||
    service.$fault === "server" ||
    (status !== undefined && status >= 500) ||
    /* No HTTP answer at all: refused, reset, timed out or aborted before a response arrived. */
    status === undefined
  );
}

/** One accepted version's digest; `acceptedUntilMs` bounds AWSPREVIOUS. */
interface AcceptedDigest {
  readonly digest: Uint8Array;
  readonly acceptedUntilMs?: number;
}

/* What this environment knows of a secret, and when it reads the secret again. */
type Known =
  | { readonly kind: "accepted"; readonly key: DigestKey; readonly accepted: readonly AcceptedDigest[] }
  | { readonly kind: "refused"; readonly verdict: Extract<SecretVerdict, { usable: false }> };

interface KnownEntry {
  readonly known: Known;
  readonly nextReadAtMs: number;
}

/* What Secrets Manager answered, in the source's terms. */
type ReadResult =
  | { readonly kind: "values"; readonly current: string; readonly previous?: PreviousValue }
  | { readonly kind: "revoked"; readonly errorName: string }
  | { readonly kind: "outage"; readonly error: unknown };

interface PreviousValue {
  readonly value: string;
  readonly acceptedUntilMs: number;
}

/**
 * The callback's secrets from Secrets Manager: AWSCURRENT, and AWSPREVIOUS only for the rotation
 * overlap after AWSCURRENT was created. Values are held in memory as digests under a key of this
 * environment; when Secrets Manager cannot answer, what was read before (or kept in DynamoDB) still
 * holds, but never after Secrets Manager said the secret cannot be used.
 */
export function createSecretsManagerSource(options: SecretsManagerSourceOptions): CallbackSecretSource {
  const { client, logger, keptDigests } = options;
  const now = options.now ?? (() => new Date());
  const maxAgeMs = (options.maxAgeSeconds ?? 300) * 1000;
  const minRefreshIntervalMs = (options.minRefreshIntervalSeconds ?? 10) * 1000;
  const overlapMs = (options.rotationOverlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS) * 1000;
  /* Never leaves this environment: what memory holds is useless to anyone who reads it elsewhere. */
  const memoryKey = randomBytes(32);

  const known = new Map<string, KnownEntry>();
  const lastReadAtMs = new Map<string, number>();
  const reading = new Map<string, Promise<SecretVerdict>>();
  /* What the store holds for each secret as far as this environment knows, and when it was saved. */
  const saved = new Map<string, { readonly fingerprint: string; readonly atMs: number }>();

  const verdictOf = (secretId: string, entry: Known): SecretVerdict => {
    if (entry.kind === "refused") return entry.verdict;
    return {
      usable: true,
      matches(candidate) {
        const atMs = now().getTime();
        return matchesAcceptedDigest(
          secretDigest(entry.key, secretId, candidate),
          entry.accepted.map(({ digest, acceptedUntilMs }) => ({
            digest,
            counts: acceptedUntilMs === undefined || atMs < acceptedUntilMs,
          })),
        );
      },
    };
  };

  const getValue = (secretId: string, stage: string): Promise<GetSecretValueCommandOutput> =>
    client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));

  /* One GetSecretValue for AWSCURRENT (its CreatedDate starts the overlap), a second for AWSPREVIOUS only within it. */
  const readSecretsManager = async (secretId: string): Promise<ReadResult> => {
    let current: GetSecretValueCommandOutput;
    try {
      current = await getValue(secretId, CURRENT);
    } catch (error) {
      return isSecretsManagerOutage(error)
        ? { kind: "outage", error }
        : { kind: "revoked", errorName: errorName(error) };
    }
    if (!isCallbackSecret(current.SecretString)) {
      logger.error("callback secret is malformed", {
        secretId,
        versionStage: CURRENT,
        rule: CALLBACK_SECRET_RULE,
      });
      return { kind: "revoked", errorName: MALFORMED_SECRET };
    }
    /* Without a creation date the overlap cannot be bounded, so AWSPREVIOUS is not accepted. */
    const acceptedUntilMs = (current.CreatedDate?.getTime() ?? Number.NEGATIVE_INFINITY) + overlapMs;
    if (now().getTime() >= acceptedUntilMs) return { kind: "values", current: current.SecretString };
    try {
      const previous = await getValue(secretId, PREVIOUS);
      if (isCallbackSecret(previous.SecretString)) {
        return {
          kind: "values",
          current: current.SecretString,
          previous: { value: previous.SecretString, acceptedUntilMs },
        };
      }
      logger.error("callback secret's previous version is malformed; only the current one is accepted", {
        secretId,
        versionStage: PREVIOUS,
        rule: CALLBACK_SECRET_RULE,
      });
    } catch (error) {
      if (isSecretsManagerOutage(error)) return { kind: "outage", error };
      /* ResourceNotFoundException: never rotated. Anything else: that version is not usable, the current one is. */
      if (errorName(error) !== "ResourceNotFoundException") {
        logger.error("callback secret's previous version is not usable; only the current one is accepted", {
          secretId,
          versionStage: PREVIOUS,
          errorName: errorName(error),
        });
      }
    }
    return { kind: "values", current: current.SecretString };
  };

  const keep = async (secretId: string, values: Extract<ReadResult, { kind: "values" }>) => {
    if (!keptDigests) return;
    const atMs = now().getTime();
    try {
      const key = await keptDigests.key();
      const digests: KeptDigests = {
        current: secretDigest(key, secretId, values.current),
        ...(values.previous && {
          previous: {
            digest: secretDigest(key, secretId, values.previous.value),
            acceptedUntilMs: values.previous.acceptedUntilMs,
          },
        }),
      };
      const fingerprint = JSON.stringify([
        Buffer.from(digests.current).toString("base64"),
        digests.previous && Buffer.from(digests.previous.digest).toString("base64"),
        digests.previous?.acceptedUntilMs,
      ]);
      const last = saved.get(secretId);
      if (last?.fingerprint === fingerprint && atMs - last.atMs < RESAVE_INTERVAL_MS) return;
      await keptDigests.store.save(secretId, digests);
      saved.set(secretId, { fingerprint, atMs });
    } catch (error) {
      logger.warn("the secret's digests could not be kept for cold starts during an outage", {
        secretId,
        errorName: errorName(error),
      });
    }
  };

  /* A revoked secret must not come back through the store in a later outage, here or in another environment. */
  const forgetKept = async (secretId: string) => {
    saved.delete(secretId);
    if (!keptDigests) return;
    try {
      await keptDigests.store.forget(secretId);
    } catch (error) {
      logger.error("the revoked secret's kept digests could not be deleted", {
        secretId,
        errorName: errorName(error),
      });
    }
  };

  const loadKept = async (secretId: string): Promise<Known | undefined> => {
    if (!keptDigests) return undefined;
    try {
      const digests = await keptDigests.store.load(secretId);
      if (!digests) return undefined;
      return {
        kind: "accepted",
        key: await keptDigests.key(),
        accepted: [
          { digest: digests.current },
          ...(digests.previous
            ? [{ digest: digests.previous.digest, acceptedUntilMs: digests.previous.acceptedUntilMs }]
            : []),
        ],
      };
    } catch (error) {
      logger.warn("the secret's kept digests could not be read", { secretId, errorName: errorName(error) });
      return undefined;
    }
  };

  const remember = (secretId: string, entry: Known, nextReadInMs: number): SecretVerdict => {
    known.set(secretId, { known: entry, nextReadAtMs: now().getTime() + nextReadInMs });
    return verdictOf(secretId, entry);
  };

  const read = async (secretId: string): Promise<SecretVerdict> => {
    lastReadAtMs.set(secretId, now().getTime());
    const result = await readSecretsManager(secretId);
    switch (result.kind) {
      case "values": {
        const accepted: AcceptedDigest[] = [{ digest: secretDigest(memoryKey, secretId, result.current) }];
        if (result.previous) {
          accepted.push({
            digest: secretDigest(memoryKey, secretId, result.previous.value),
            acceptedUntilMs: result.previous.acceptedUntilMs,
          });
        }
        await keep(secretId, result);
        return remember(secretId, { kind: "accepted", key: memoryKey, accepted }, maxAgeMs);
      }
      case "revoked":
        logger.error("callback secret is not usable; its client's requests are refused", {
          secretId,
          errorName: result.errorName,
        });
        await forgetKept(secretId);
        return remember(
          secretId,
          { kind: "refused", verdict: { usable: false, reason: "revoked", errorName: result.errorName } },
          maxAgeMs,
        );
      case "outage": {
        const name = errorName(result.error);
        /* Read again after the refresh interval, not per request: an outage must not cost a call per request. */
        const last = known.get(secretId)?.known;
        /* What was read before holds, a revocation included; an earlier "unavailable" is no knowledge. */
        if (last && !(last.kind === "refused" && last.verdict.reason === "unavailable")) {
          if (last.kind === "accepted") {
            logger.warn("Secrets Manager failed; using what this environment read before", {
              secretId,
              errorName: name,
            });
          }
          return remember(secretId, last, minRefreshIntervalMs);
        }
        const kept = await loadKept(secretId);
        if (kept) {
          logger.warn(
            "Secrets Manager failed before this environment read the secret; using its kept digests",
            {
              secretId,
              errorName: name,
            },
          );
          return remember(secretId, kept, minRefreshIntervalMs);
        }
        logger.error(
          "Secrets Manager failed and no usable digests are kept; the client's requests are refused",
          {
            secretId,
            errorName: name,
          },
        );
        return remember(
          secretId,
          { kind: "refused", verdict: { usable: false, reason: "unavailable", errorName: name } },
          minRefreshIntervalMs,
        );
      }
    }
  };

  /* Concurrent requests for one secret share one read. */
  const readOnce = (secretId: string): Promise<SecretVerdict> => {
    const pending = reading.get(secretId);
    if (pending) return pending;
    const started = read(secretId).finally(() => reading.delete(secretId));
    reading.set(secretId, started);
    return started;
  };

  return {
    async verdict(secretId) {
      const entry = known.get(secretId);
      if (entry && now().getTime() < entry.nextReadAtMs) return verdictOf(secretId, entry.known);
      return readOnce(secretId);
    },
    async refreshedVerdict(secretId) {
      const last = lastReadAtMs.get(secretId);
      if (last !== undefined && now().getTime() - last < minRefreshIntervalMs) return undefined;
      return readOnce(secretId);
    },
  };
}
