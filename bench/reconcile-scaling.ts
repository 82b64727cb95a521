import { DEFAULT_CONCURRENCY } from "../functions/config-sync/app.ts";
import { SCHEDULED_EVENT } from "../test/reliability/support/campaign.ts";
import { deployLocally } from "../test/reliability/support/deployment.ts";
import type { SynthesizedStack } from "../test/reliability/support/synthesized-stack.ts";

export interface ReconcileRun {
  /** From the invocation to its answer, as the caller sees it. */
  readonly wallMs: number;
  /** finAPI latency × round trips per client × clients ÷ concurrency, at least one client's chain. */
  readonly idealMs: number;
  readonly tokenCallsPerClient: number;
  readonly getCallsPerClient: number;
  readonly patchCallsPerClient: number;
  /** Parameter Store reads (GetParameter and GetParameters calls) per client. */
  readonly ssmCallsPerClient: number;
}

export interface ReconcileScale {
  readonly clients: number;
  /** The first scheduled run: token, GET and PATCH for every client (its environment initialised, caches empty). */
  readonly applying: ReconcileRun;
  /** The next scheduled run: every client in sync, tokens and documents cached. */
  readonly inSync: ReconcileRun;
  /**
   * A run over every client in sync that reads every document afresh: a manual run, or a scheduled one
   * after the documents' cache (60 s) expired, as it has between runs 15 minutes apart.
   */
  readonly inSyncReadingAfresh: ReconcileRun;
}

function idealMs(latencyMs: number, roundTripsPerClient: number, clients: number): number {
  return Math.max(
    latencyMs * roundTripsPerClient,
    (latencyMs * roundTripsPerClient * clients) / DEFAULT_CONCURRENCY,
  );
}

/** Scheduled reconciles of `clients` clients with finAPI answering after `latencyMs`. */
export async function measureReconcileScale(
  stack: SynthesizedStack,
  clients: number,
  latencyMs: number,
): Promise<ReconcileScale> {
  const deployment = await deployLocally(stack, { clientCount: clients, finapiLatencyMs: latencyMs });
  try {
    deployment.clients.forEach((client, index) => {
      deployment.ssm.putParameter(
        client.parameterName,
        JSON.stringify({ refreshTokensValidityPeriod: 3600 + index, userAccessTokensValidityPeriod: 900 }),
      );
    });
    /* A manual invoke of every client reads each document afresh, as a schedule past the cache's age does. */
    const EVERY_CLIENT_NOW = {};
    const run = async (
      roundTripsPerClient: number,
      event: unknown = SCHEDULED_EVENT,
    ): Promise<ReconcileRun> => {
      const before = deployment.finapi.requests.length;
      const ssmBefore = deployment.ssm.calls.length;
      const startedAt = performance.now();
      const result = await deployment.configSync.invoke(event);
      const wallMs = performance.now() - startedAt;
      if (!result.ok) throw new Error(`the reconcile of ${clients} clients failed: ${result.errorMessage}`);
      const requests = deployment.finapi.requests.slice(before);
      const parameterReads = deployment.ssm.calls
        .slice(ssmBefore)
        .filter((call) => call.operation === "GetParameter" || call.operation === "GetParameters").length;
      const perClient = (method: string, path: string) =>
        requests.filter((request) => request.method === method && request.path.startsWith(path)).length /
        clients;
      return {
        wallMs,
        idealMs: idealMs(latencyMs, roundTripsPerClient, clients),
        tokenCallsPerClient: perClient("POST", "/oauth/token"),
        getCallsPerClient: perClient("GET", "/api/v1/clientConfiguration"),
        patchCallsPerClient: perClient("PATCH", "/api/v1/clientConfiguration"),
        ssmCallsPerClient: parameterReads / clients,
      };
    };
    /* The environment's init (the bundle's import) is the cold-import benchmark's business, not the reconcile's. */
    await deployment.configSync.prewarm(1);
    const applying = await run(3);
    const inSync = await run(1);
    const inSyncReadingAfresh = await run(1, EVERY_CLIENT_NOW);
    return { clients, applying, inSync, inSyncReadingAfresh };
  } finally {
    await deployment.close();
  }
}
