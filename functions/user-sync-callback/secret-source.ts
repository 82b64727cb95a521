import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "@aws-lambda-powertools/logger";
import {
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { errorName } from "../commons/errors.ts";
import {
  CALLBACK_ROOT_SECRET_RULE,
  derivePathSecret,
  isCallbackRootSecret,
  type PathSecretClient,
} from "../contracts/callback-path-secret.ts";
import { DEFAULT_ROTATION_OVERLAP_SECONDS } from "../contracts/callback-secret.ts";
import type { KeptDigests, SecretDigestStore } from "./secret-digest-store.ts";
import { type DigestKey, matchesAcceptedDigest, secretDigest } from "./secret-match.ts";

/** What a client's path secret allows right now. */
export type SecretVerdict =
  | { readonly usable: true; matches(candidate: string): boolean }
  | {
      readonly usable: false;
      /**
       * `revoked`: Secrets Manager said the root secret cannot be used (denied, not found, marked for
       * deletion, not decryptable, malformed); `unavailable`: Secrets Manager cannot be reached and
       * nothing usable is known (no value read before, no fresh kept digests); `outage`: Secrets
       * Manager cannot be reached and the kept digests could not be read either, so nothing can be
       * said about the caller: answer 5xx (finAPI may try again) and remember nothing.
       */
      readonly reason: "revoked" | "unavailable" | "outage";
      /** The AWS error's name or the rule that failed; never a value. */
      readonly errorName: string;
    };

/** Where the callback learns which path secret a caller may present for a client. */
export interface CallbackSecretSource {
  /** From memory while it is fresh (max age), else from Secrets Manager. */
  verdict(clientName: string): Promise<SecretVerdict>;
  /**
   * Read anew, so that a rotation is seen before the memory expires; `undefined` when the root secret
   * was read too recently (a stream of wrong secrets must not become a stream of calls).
   */
  refreshedVerdict(clientName: string): Promise<SecretVerdict | undefined>;
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
  /** The stack's callback root secret (name or ARN): every client's path secret is derived from it. */
  readonly rootSecretId: string;
  /** The configured clients, each with the generation of its path secret. */
  readonly clients: readonly PathSecretClient[];
  readonly now?: () => Date;
  /** @default 300 */
  readonly maxAgeSeconds?: number;
  /** The least time between two reads of the root secret that a mismatch or an outage triggers. @default 10 */
  readonly minRefreshIntervalSeconds?: number;
  /**
   * How long after the root secret's AWSCURRENT version was created AWSPREVIOUS is still accepted.
   * @default 86400 (24 hours)
   */
  readonly rotationOverlapSeconds?: number;
  /**
   * Keeps keyed digests of every client's path secrets, for an environment that starts while Secrets
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

/* What this environment knows of the root secret, and when it reads it again. */
type Known =
  | {
      readonly kind: "accepted";
      readonly key: DigestKey;
      /** The digests (under `key`) of the path secrets a client may present. */
      acceptedOf(clientName: string): readonly AcceptedDigest[];
    }
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
type RootValues = Extract<ReadResult, { kind: "values" }>;

interface PreviousValue {
  readonly value: string;
  readonly acceptedUntilMs: number;
}

/* A read that learnt nothing: its verdict is answered, never remembered. */
interface OutageVerdict {
  readonly kind: "outage";
  readonly verdict: Extract<SecretVerdict, { usable: false }>;
}

/* What the kept digests gave: knowledge, nothing (none kept, or expired), or a failed read. */
type KeptLoad =
  | { readonly kind: "kept"; readonly known: Known }
  | { readonly kind: "none" }
  | { readonly kind: "failed"; readonly errorName: string };

/**
 * The callback's path secrets, derived from the stack's root secret in Secrets Manager: AWSCURRENT,
 * and AWSPREVIOUS only for the rotation overlap after AWSCURRENT was created, each with the client's
 * current generation only (a bumped generation refuses the old path secret at once). Memory holds the
 * root values only while they are fresh and compares digests under a key of this environment; when
 * Secrets Manager cannot answer, what was read before (or kept in DynamoDB) still holds, but never
 * after Secrets Manager said the root secret cannot be used.
 */
export function createSecretsManagerSource(options: SecretsManagerSourceOptions): CallbackSecretSource {
  const { client, logger, keptDigests, rootSecretId } = options;
  const now = options.now ?? (() => new Date());
  const maxAgeMs = (options.maxAgeSeconds ?? 300) * 1000;
  const minRefreshIntervalMs = (options.minRefreshIntervalSeconds ?? 10) * 1000;
  const overlapMs = (options.rotationOverlapSeconds ?? DEFAULT_ROTATION_OVERLAP_SECONDS) * 1000;
  const clients = new Map(options.clients.map((configured) => [configured.name, configured]));
  /*
   * Digests are bound to the client's name and generation: digests kept before a generation was bumped
   * never match in an environment of the new generation, not even during an outage.
   */
  const digestIdOf = (clientName: string) =>
    `${clientName}/${clients.get(clientName)?.callbackSecretGeneration ?? "unconfigured"}`;
  /* Never leaves this environment: what memory holds is useless to anyone who reads it elsewhere. */
  const memoryKey = randomBytes(32);

  let known: KnownEntry | undefined;
  let lastReadAtMs: number | undefined;
  /* What the store holds as far as this environment knows, and when it was saved. */
  let saved: { readonly fingerprint: string; readonly atMs: number } | undefined;

  const verdictOf = (clientName: string, entry: Known): SecretVerdict => {
    if (entry.kind === "refused") return entry.verdict;
    return {
      usable: true,
      matches(candidate) {
        const atMs = now().getTime();
        return matchesAcceptedDigest(
          secretDigest(entry.key, digestIdOf(clientName), candidate),
          entry.acceptedOf(clientName).map(({ digest, acceptedUntilMs }) => ({
            digest,
            counts: acceptedUntilMs === undefined || atMs < acceptedUntilMs,
          })),
        );
      },
    };
  };

  /* Each root version's path secret of the client, as a digest under `key`; nothing for an unknown client. */
  const derivedDigests = (key: DigestKey, values: RootValues, clientName: string): AcceptedDigest[] => {
    const configured = clients.get(clientName);
    if (!configured) return [];
    const digestOf = (root: string) =>
      secretDigest(key, digestIdOf(clientName), derivePathSecret(root, configured));
    return [
      { digest: digestOf(values.current) },
      ...(values.previous
        ? [{ digest: digestOf(values.previous.value), acceptedUntilMs: values.previous.acceptedUntilMs }]
        : []),
    ];
  };

  const getValue = (stage: string): Promise<GetSecretValueCommandOutput> =>
    client.send(new GetSecretValueCommand({ SecretId: rootSecretId, VersionStage: stage }));

  /* One GetSecretValue for AWSCURRENT (its CreatedDate starts the overlap), a second for AWSPREVIOUS only within it. */
  const readSecretsManager = async (): Promise<ReadResult> => {
    let current: GetSecretValueCommandOutput;
    try {
      current = await getValue(CURRENT);
    } catch (error) {
      return isSecretsManagerOutage(error)
        ? { kind: "outage", error }
        : { kind: "revoked", errorName: errorName(error) };
    }
    if (!isCallbackRootSecret(current.SecretString)) {
      logger.error("callback root secret is malformed", {
        secretId: rootSecretId,
        versionStage: CURRENT,
        rule: CALLBACK_ROOT_SECRET_RULE,
      });
      return { kind: "revoked", errorName: MALFORMED_SECRET };
    }
    /* Without a creation date the overlap cannot be bounded, so AWSPREVIOUS is not accepted. */
    const acceptedUntilMs = (current.CreatedDate?.getTime() ?? Number.NEGATIVE_INFINITY) + overlapMs;
    if (now().getTime() >= acceptedUntilMs) return { kind: "values", current: current.SecretString };
    try {
      const previous = await getValue(PREVIOUS);
      if (isCallbackRootSecret(previous.SecretString)) {
        return {
          kind: "values",
          current: current.SecretString,
          previous: { value: previous.SecretString, acceptedUntilMs },
        };
      }
      logger.error("callback root secret's previous version is malformed; only the current one is accepted", {
        secretId: rootSecretId,
        versionStage: PREVIOUS,
        rule: CALLBACK_ROOT_SECRET_RULE,
      });
    } catch (error) {
      if (isSecretsManagerOutage(error)) return { kind: "outage", error };
      /* ResourceNotFoundException: never rotated. Anything else: that version is not usable, the current one is. */
      if (errorName(error) !== "ResourceNotFoundException") {
        logger.error(
          "callback root secret's previous version is not usable; only the current one is accepted",
          { secretId: rootSecretId, versionStage: PREVIOUS, errorName: errorName(error) },
        );
      }
    }
    return { kind: "values", current: current.SecretString };
  };

  /* Every configured client's digests in one item: one write per change (or day), one read on a cold start. */
  const keep = async (values: RootValues) => {
    if (!keptDigests) return;
    const atMs = now().getTime();
    try {
      const key = await keptDigests.key();
      const current = new Map<string, Uint8Array>();
      const previous = new Map<string, Uint8Array>();
      for (const name of clients.keys()) {
        const [currentDigest, previousDigest] = derivedDigests(key, values, name);
        if (currentDigest) current.set(name, currentDigest.digest);
        if (previousDigest) previous.set(name, previousDigest.digest);
      }
      const digests: KeptDigests = {
        current,
        ...(values.previous && {
          previous: { digests: previous, acceptedUntilMs: values.previous.acceptedUntilMs },
        }),
      };
      const fingerprint = createHash("sha256")
        .update(JSON.stringify([...current.keys(), values.previous?.acceptedUntilMs]))
        .update(Buffer.concat([...current.values(), ...previous.values()]))
        .digest("base64");
      if (saved?.fingerprint === fingerprint && atMs - saved.atMs < RESAVE_INTERVAL_MS) return;
      await keptDigests.store.save(rootSecretId, digests);
      saved = { fingerprint, atMs };
    } catch (error) {
      logger.warn("the path secrets' digests could not be kept for cold starts during an outage", {
        secretId: rootSecretId,
        errorName: errorName(error),
      });
    }
  };

  /* A revoked root secret must not come back through the store in a later outage, here or in another environment. */
  const forgetKept = async () => {
    saved = undefined;
    if (!keptDigests) return;
    try {
      await keptDigests.store.forget(rootSecretId);
    } catch (error) {
      logger.error("the revoked root secret's kept digests could not be deleted", {
        secretId: rootSecretId,
        errorName: errorName(error),
      });
    }
  };

  const loadKept = async (): Promise<KeptLoad> => {
    if (!keptDigests) return { kind: "none" };
    try {
      const digests = await keptDigests.store.load(rootSecretId);
      if (!digests) return { kind: "none" };
      const key = await keptDigests.key();
      return {
        kind: "kept",
        known: {
          kind: "accepted",
          key,
          acceptedOf(clientName) {
            const current = digests.current.get(clientName);
            const previous = digests.previous?.digests.get(clientName);
            return [
              ...(current ? [{ digest: current }] : []),
              ...(previous && digests.previous
                ? [{ digest: previous, acceptedUntilMs: digests.previous.acceptedUntilMs }]
                : []),
            ];
          },
        },
      };
    } catch (error) {
      return { kind: "failed", errorName: errorName(error) };
    }
  };

  const remember = (entry: Known, nextReadInMs: number): Known => {
    known = { known: entry, nextReadAtMs: now().getTime() + nextReadInMs };
    return entry;
  };

  /* Reads the root secret and updates what is known; an `outage` verdict is returned but not remembered. */
  const read = async (): Promise<Known | OutageVerdict> => {
    lastReadAtMs = now().getTime();
    const result = await readSecretsManager();
    switch (result.kind) {
      case "values": {
        /* Memory holds the root values (needed to derive any client's path secret) until it is read again. */
        const values = result;
        await keep(values);
        return remember(
          { kind: "accepted", key: memoryKey, acceptedOf: (name) => derivedDigests(memoryKey, values, name) },
          maxAgeMs,
        );
      }
      case "revoked":
        logger.error("callback root secret is not usable; every client's requests are refused", {
          secretId: rootSecretId,
          errorName: result.errorName,
        });
        await forgetKept();
        return remember(
          { kind: "refused", verdict: { usable: false, reason: "revoked", errorName: result.errorName } },
          maxAgeMs,
        );
      case "outage": {
        const name = errorName(result.error);
        /* Read again after the refresh interval, not per request: an outage must not cost a call per request. */
        const last = known?.known;
        /* What was read before holds, a revocation included; an earlier "unavailable" is no knowledge. */
        if (last && !(last.kind === "refused" && last.verdict.reason === "unavailable")) {
          if (last.kind === "accepted") {
            logger.warn("Secrets Manager failed; using what this environment read before", {
              secretId: rootSecretId,
              errorName: name,
            });
          }
          return remember(last, minRefreshIntervalMs);
        }
        const kept = await loadKept();
        switch (kept.kind) {
          case "kept":
            logger.warn(
              "Secrets Manager failed before this environment read the root secret; using its kept digests",
              { secretId: rootSecretId, errorName: name },
            );
            return remember(kept.known, minRefreshIntervalMs);
          case "none":
            logger.error(
              "Secrets Manager failed and no usable digests are kept; the clients' requests are refused",
              { secretId: rootSecretId, errorName: name },
            );
            return remember(
              { kind: "refused", verdict: { usable: false, reason: "unavailable", errorName: name } },
              minRefreshIntervalMs,
            );
          case "failed":
            /*
             * Nothing is known about the caller, and nothing is learnt: a refusal remembered here would
             * refuse the next deliveries although Secrets Manager may answer them.
             */
            logger.error(
              "Secrets Manager failed and the kept digests could not be read; answering 5xx and remembering nothing",
              { secretId: rootSecretId, errorName: name, keptDigestsError: kept.errorName },
            );
            known = undefined;
            return { kind: "outage", verdict: { usable: false, reason: "outage", errorName: name } };
        }
      }
    }
  };

  /* Concurrent requests share one read, and the outage verdict it may end in. */
  let pending: Promise<Known | OutageVerdict> | undefined;
  const readOnce = async (clientName: string): Promise<SecretVerdict> => {
    pending ??= read().finally(() => {
      pending = undefined;
    });
    const outcome = await pending;
    return outcome.kind === "outage" ? outcome.verdict : verdictOf(clientName, outcome);
  };

  return {
    async verdict(clientName) {
      if (known && now().getTime() < known.nextReadAtMs) return verdictOf(clientName, known.known);
      return readOnce(clientName);
    },
    async refreshedVerdict(clientName) {
      if (lastReadAtMs !== undefined && now().getTime() - lastReadAtMs < minRefreshIntervalMs)
        return undefined;
      return readOnce(clientName);
    },
  };
}
