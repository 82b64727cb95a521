import { setTimeout as delay } from "node:timers/promises";
import { GetParametersCommand, type SSMClient } from "@aws-sdk/client-ssm";
import { parameterKey } from "./config.ts";
import { readAhead } from "./read-ahead.ts";

/** The most names one GetParameters call takes (Parameter Store's limit). */
export const GET_PARAMETERS_MAX_NAMES = 10;

/* How far past the name asked for the run's names are requested: its own batch and the next one. */
const READ_AHEAD_NAMES = 2 * GET_PARAMETERS_MAX_NAMES;

/**
 * GetParameters calls a second at most: three quarters of Parameter Store's default throughput (40
 * GetParameter and GetParameters calls a second, shared by the account and region), leaving the rest
 * to pipelines and people. 300 documents a second keep up with an in-sync run (16 clients at a time,
 * one 50 ms finAPI call each: 320 a second), so the reads rarely hold a run back.
 */
export const DEFAULT_PARAMETER_READS_PER_SECOND = 30;

/** A parameter's current value and the version it came from (stored with the client's status). */
export interface ParameterSnapshot {
  readonly value: string;
  readonly version: number | undefined;
}

/** How a source is read: `fresh` skips the container's cache; `signal` aborts the AWS call (the run's deadline). */
export interface SourceReadOptions {
  readonly fresh: boolean;
  readonly signal?: AbortSignal;
}

export interface ParameterRead {
  /** The parameter's latest value (decrypted), or undefined when it does not exist. */
  readonly snapshot: ParameterSnapshot | undefined;
  /** Whether it came from the container's cache (an earlier run's read), not from Parameter Store just now. */
  readonly cached: boolean;
}

/** One run's reads. AWS failures (an aborted call included) are thrown, to every name of the failed call. */
export interface ParameterReader {
  read(name: string): Promise<ParameterRead>;
}

export interface ParameterSource {
  /**
   * The reads of one run over `names`, in the order the run asks for them. A name the cache holds is
   * served from it unless `fresh`; the others are read with GetParameters, GET_PARAMETERS_MAX_NAMES at
   * a time, from the name asked for to a batch past it.
   */
  reader(names: readonly string[], options: SourceReadOptions): ParameterReader;
}

export interface ParameterReadPacing {
  /** @default DEFAULT_PARAMETER_READS_PER_SECOND */
  readonly readsPerSecond?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** Rejects when `signal` is aborted first. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/*
 * Powertools Parameters caches values by name and reads them one GetParameter at a time (or by path);
 * the run needs batches of names with each value's version, so this source keeps its own small cache.
 * A missing parameter is never cached: a parameter created a moment later is seen at once.
 */
export function createParameterSource(
  ssm: SSMClient,
  maxAgeSeconds: number,
  pacing: ParameterReadPacing = {},
): ParameterSource {
  const now = pacing.now ?? Date.now;
  const sleep = pacing.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const callIntervalMs = 1000 / (pacing.readsPerSecond ?? DEFAULT_PARAMETER_READS_PER_SECOND);
  const cache = new Map<string, { readonly snapshot: ParameterSnapshot; readonly fetchedAt: number }>();
  let nextCallAt = Number.NEGATIVE_INFINITY;

  const cachedSnapshot = (name: string) => {
    const entry = cache.get(parameterKey(name));
    return entry && now() - entry.fetchedAt < maxAgeSeconds * 1000 ? entry.snapshot : undefined;
  };

  /* Calls start at least one interval apart, in the order they were asked for. */
  async function pace(signal: AbortSignal | undefined) {
    const startAt = Math.max(now(), nextCallAt);
    nextCallAt = startAt + callIntervalMs;
    const waitMs = startAt - now();
    if (waitMs > 0) await sleep(waitMs, signal);
  }

  async function fetchBatch(names: readonly string[], signal: AbortSignal | undefined) {
    signal?.throwIfAborted();
    await pace(signal);
    signal?.throwIfAborted();
    const { Parameters = [] } = await ssm.send(
      new GetParametersCommand({ Names: [...names], WithDecryption: true }),
      { abortSignal: signal },
    );
    const fetchedAt = now();
    const found = new Map<string, ParameterSnapshot>();
    for (const parameter of Parameters) {
      if (parameter.Name === undefined || parameter.Value === undefined) continue;
      const snapshot = { value: parameter.Value, version: parameter.Version };
      found.set(parameterKey(parameter.Name), snapshot);
      cache.set(parameterKey(parameter.Name), { snapshot, fetchedAt });
    }
    /* A name in InvalidParameters (or missing from the answer) does not exist (yet). */
    return found;
  }

  return {
    reader(names, { fresh, signal }) {
      const reads = readAhead(names, {
        batchSize: GET_PARAMETERS_MAX_NAMES,
        aheadIds: READ_AHEAD_NAMES,
        needsRead: (name) => fresh || cachedSnapshot(name) === undefined,
        startCall: (batch) => {
          const fetched = fetchBatch(batch, signal);
          /* A name read ahead may never be asked for (its client out of time): its failure is no one's. */
          fetched.catch(() => {});
          return fetched;
        },
      });
      return {
        async read(name) {
          /* Looked up before asking: a call holding the name is what it reads, else this is what the cache served. */
          const hit = fresh ? undefined : cachedSnapshot(name);
          const call = reads.ask(name);
          if (call === undefined) return { snapshot: hit, cached: true };
          return { snapshot: (await call).get(parameterKey(name)), cached: false };
        },
      };
    },
  };
}
