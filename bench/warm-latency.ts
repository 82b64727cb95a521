import type { InvokeResult } from "../local/lambda-runtime.ts";
import { SCHEDULED_EVENT } from "../test/reliability/support/campaign.ts";
import type { DeployedClient, LocalDeployment } from "../test/reliability/support/deployment.ts";
import { percentile } from "./stats.ts";

export interface LatencySamples {
  /** The handler's own time per invocation (Lambda's billed Duration), warm environment. */
  readonly durationsMs: number[];
  readonly p50: number;
  readonly p99: number;
}

function summarise(durationsMs: number[]): LatencySamples {
  return { durationsMs, p50: percentile(durationsMs, 50), p99: percentile(durationsMs, 99) };
}

function durationOf(result: InvokeResult, what: string): number {
  if (!result.ok) throw new Error(`${what} failed: ${result.errorType}: ${result.errorMessage}`);
  return result.durationMs;
}

export interface InSyncReconcile extends LatencySamples {
  /** finAPI requests per warm in-sync run, per client: the ideal is one GET. */
  readonly finapiCallsPerClient: number;
}

/** Scheduled reconciles of clients already in sync, on a warm environment (tokens and parameters cached). */
export async function inSyncReconcileLatency(
  deployment: LocalDeployment,
  invocations: number,
  warmUp = 20,
): Promise<InSyncReconcile> {
  for (const client of deployment.clients) {
    deployment.ssm.putParameter(client.parameterName, JSON.stringify({ refreshTokensValidityPeriod: 3600 }));
    durationOf(await deployment.configSync.invoke(deployment.ssm.changes.at(-1)), "applying the document");
  }
  for (let run = 0; run < warmUp; run++)
    durationOf(await deployment.configSync.invoke(SCHEDULED_EVENT), "warm-up");
  const requestsBefore = deployment.finapi.requests.length;
  const durations: number[] = [];
  for (let run = 0; run < invocations; run++) {
    const result = await deployment.configSync.invoke(SCHEDULED_EVENT);
    durations.push(durationOf(result, "an in-sync reconcile"));
    const outcomes = (result as { payload: { results: { outcome: string }[] } }).payload.results;
    if (outcomes.some((outcome) => outcome.outcome !== "in-sync"))
      throw new Error("a client was not in sync");
  }
  const calls = deployment.finapi.requests.length - requestsBefore;
  return {
    ...summarise(durations),
    finapiCallsPerClient: calls / (invocations * deployment.clients.length),
  };
}

/** Callbacks of distinct deletions (authenticate, record, publish, complete) on a warm environment. */
export async function callbackLatency(
  deployment: LocalDeployment,
  invocations: number,
  warmUp = 20,
): Promise<LatencySamples> {
  const [client] = deployment.clients as [DeployedClient];
  const deliver = (userId: string) =>
    deployment.callback.invoke(
      deployment.callbackEvent(client, JSON.stringify({ userId, event: "DELETED" })),
    );
  for (let run = 0; run < warmUp; run++) durationOf(await deliver(`bench-warm-up-${run}`), "warm-up");
  const durations: number[] = [];
  for (let run = 0; run < invocations; run++) {
    const result = await deliver(`bench-latency-${run}`);
    if (result.ok && (result.payload as { statusCode?: number }).statusCode !== 202) {
      throw new Error(`a callback was answered ${JSON.stringify(result.payload)}`);
    }
    durations.push(durationOf(result, "a callback"));
  }
  return summarise(durations);
}
