import { BaseProvider } from "@aws-lambda-powertools/parameters/base";
import type { GetOptionsInterface } from "@aws-lambda-powertools/parameters/base/types";
import { GetParameterCommand, ParameterNotFound, SSMClient } from "@aws-sdk/client-ssm";

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

/*
 * BaseProvider hands `get`'s options to `_get` as they are (the documented contract of a custom
 * provider), so the abort signal travels with them to the SDK call.
 */
export interface AbortableGetOptions extends GetOptionsInterface {
  readonly abortSignal?: AbortSignal;
}

export interface ParameterSource {
  /**
   * The parameter's latest value (decrypted), or undefined when it does not exist. AWS failures (an
   * aborted call included) are thrown.
   */
  read(name: string, options: SourceReadOptions): Promise<ParameterSnapshot | undefined>;
  /** Whether a read that is not `fresh` would be served from the cache, without calling Parameter Store. */
  isCached(name: string): boolean;
}

/*
 * Powertools' SSMProvider caches and returns the value alone; the status needs the version too, so this
 * provider fetches both with one GetParameter and lets BaseProvider do the caching (maxAge, forceFetch).
 * A missing parameter is returned as undefined, which BaseProvider never caches: a parameter created a
 * moment later is seen at once.
 */
class ParameterSnapshotProvider extends BaseProvider {
  readonly #ssm: SSMClient;
  /* When each parameter was last fetched, as BaseProvider's cache has it (it does not tell). */
  readonly fetchedAt = new Map<string, number>();

  constructor(ssm: SSMClient) {
    super({ awsSdkV3Client: ssm, awsSdkV3ClientPrototype: SSMClient as new (config?: unknown) => unknown });
    this.#ssm = ssm;
  }

  protected async _get(name: string, options?: AbortableGetOptions): Promise<ParameterSnapshot | undefined> {
    try {
      const { Parameter } = await this.#ssm.send(
        new GetParameterCommand({ Name: name, WithDecryption: true }),
        { abortSignal: options?.abortSignal },
      );
      if (Parameter?.Value === undefined) return undefined;
      this.fetchedAt.set(name, Date.now());
      return { value: Parameter.Value, version: Parameter.Version };
    } catch (error) {
      if (error instanceof ParameterNotFound) return undefined;
      throw error;
    }
  }

  protected _getMultiple(): Promise<Record<string, unknown> | undefined> {
    throw new Error("config-sync reads parameters one at a time");
  }
}

/** Parameter Store through Powertools Parameters' cache, `maxAgeSeconds` long. */
export function createParameterSource(ssm: SSMClient, maxAgeSeconds: number): ParameterSource {
  const provider = new ParameterSnapshotProvider(ssm);
  return {
    read: async (name, { fresh, signal }) => {
      const options: AbortableGetOptions = { maxAge: maxAgeSeconds, forceFetch: fresh, abortSignal: signal };
      return (await provider.get(name, options)) as ParameterSnapshot | undefined;
    },
    isCached: (name) => {
      const fetchedAt = provider.fetchedAt.get(name);
      return fetchedAt !== undefined && Date.now() - fetchedAt < maxAgeSeconds * 1000;
    },
  };
}
