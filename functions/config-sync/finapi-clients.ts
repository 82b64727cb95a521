import { createFinapiClient, type FinapiClient, type FinapiClientOptions } from "../finapi/client.ts";
import type { Log } from "../finapi/log.ts";
import type { FinapiCredentialsSecret } from "./client-secrets.ts";
import type { ConfiguredClient } from "./config.ts";

interface CachedClient {
  readonly baseUrl: string;
  readonly credentials: FinapiCredentialsSecret;
  readonly client: FinapiClient;
}

/** finAPI client options other than the base URL and credentials (tests shorten the retry waits). */
export type FinapiClientTuning = Omit<FinapiClientOptions, "baseUrl" | "credentials" | "log">;

export interface FinapiClientCache {
  /** The client's finAPI client, kept while its base URL and credentials stay the same. */
  clientFor(client: ConfiguredClient, credentials: FinapiCredentialsSecret, log: Log): FinapiClient;
}

/*
 * One finAPI client per configured client for the container's lifetime, so that its access token
 * (cached inside the finAPI client) survives warm invocations. Rotated credentials get a new client:
 * the old token belongs to credentials that may have been revoked.
 */
export function createFinapiClientCache(tuning: FinapiClientTuning = {}): FinapiClientCache {
  const clients = new Map<string, CachedClient>();
  return {
    clientFor(client, credentials, log) {
      const cached = clients.get(client.name);
      if (
        cached &&
        cached.baseUrl === client.baseUrl &&
        cached.credentials.clientId === credentials.clientId &&
        cached.credentials.clientSecret === credentials.clientSecret
      ) {
        return cached.client;
      }
      const finapiClient = createFinapiClient({ ...tuning, baseUrl: client.baseUrl, credentials, log });
      clients.set(client.name, { baseUrl: client.baseUrl, credentials, client: finapiClient });
      return finapiClient;
    },
  };
}
