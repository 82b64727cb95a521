import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import middy, { type MiddyHandlerObject } from "@middy/core";
import type { Context } from "aws-lambda";
import { errorName } from "../commons/errors.ts";
import type { ClientStatus, Trigger } from "../contracts/config-sync.ts";
import { CLIENT_DIMENSION, SyncMetric } from "../contracts/metrics.ts";
import type { Log } from "../finapi/log.ts";
import { type ReconcileOutcome, reconcileOutcomeSchema } from "../finapi/reconcile.ts";
import * as z from "../validation/zod.ts";
import { mapConcurrently } from "./concurrency.ts";
import type { ConfigSyncConfig, ConfiguredClient } from "./config.ts";
import type { FinapiClientCache } from "./finapi-clients.ts";
import { parseInvocation } from "./invocation.ts";
import { isTransientFailure, logLevelForOutcome, metricForOutcome } from "./outcome-metrics.ts";
import type { ParameterSource } from "./parameter-source.ts";
import type { SecretSource } from "./secret-source.ts";
import { selectClients } from "./selection.ts";
import { STATUS_BATCH_SIZE, type StatusStore } from "./status-store.ts";
import { syncClient } from "./sync-client.ts";
import { clientDeadline, mayStartClient, RUN_ABORT_EARLY_MS, runDeadlinePassed } from "./time-budget.ts";

/*
 * How many clients one run reconciles at a time. Each client's calls are one chain (token, GET, PATCH)
 * with its own credentials, so no finAPI client ever has two calls in flight; finAPI's host sees at
 * most this many, and 100 clients at 50 ms latency reconcile in under 2 s even on a first run
 * (BENCHMARKS.md). A client's status write does not hold its slot unless the writes fall behind.
 */
export const DEFAULT_CONCURRENCY = 16;

/* Status batches (BatchWriteItem calls) a run has in flight before a slot waits for the one it filled. */
const STATUS_BATCHES_IN_FLIGHT = 2;

/* The error line of a status the table did not take, whether its call failed or left it unprocessed. */
const NOT_STORED = "could not store the client's status; its outcome is in this log line and the metrics";

export const clientResultSchema = z.intersection(z.object({ client: z.string() }), reconcileOutcomeSchema);
export type ClientResult = z.infer<typeof clientResultSchema>;

/** What an invocation returns: the manual invoke's answer; EventBridge ignores it. */
export const configSyncResponseSchema = z.object({
  results: z.array(clientResultSchema),
  /** Why nothing was reconciled: an unmanaged parameter, or a deleted one. */
  ignored: z.optional(z.string()),
  /** Why the input was refused (no retry can fix it). */
  rejected: z.optional(z.string()),
});
export type ConfigSyncResponse = z.infer<typeof configSyncResponseSchema>;

export interface ConfigSyncDependencies {
  readonly config: ConfigSyncConfig;
  readonly parameters: ParameterSource;
  readonly secrets: SecretSource;
  readonly finapiClients: FinapiClientCache;
  readonly statusStore: StatusStore;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** @default () => new Date() */
  readonly now?: () => Date;
  /** @default DEFAULT_CONCURRENCY */
  readonly concurrency?: number;
}

/** Raised at the end of a run in which a client failed transiently, so that Lambda retries the event. */
export class TransientSyncFailure extends Error {
  override readonly name = "TransientSyncFailure";
}

/*
 * One EMF document per count: its `client` dimension value is the document's own, so counts about
 * different clients cannot share one. Published at once with the run's Metrics rather than through
 * `singleMetric()`, which builds a Metrics instance (and its Console) per count; the three calls run
 * without a pause, so concurrent clients never see each other's dimension.
 */
function countFor(metrics: Metrics, client: string, name: string): void {
  metrics.addDimension(CLIENT_DIMENSION, client);
  metrics.addMetric(name, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
}

/*
 * The lines of one client's reconcile: the run's logger, with the client's name on each. Not a child
 * logger: a child copies the Lambda context when it is made, so the finAPI client, which keeps the log
 * it was made with across warm invocations, would write an earlier invocation's request id; and making
 * a child for every client in every run costs more CPU than the client's own lines.
 */
function clientLog(logger: Logger, client: string): Log {
  const withClient = (details: [Record<string, unknown>] | []) => ({ ...details[0], client });
  return {
    debug: (message, ...details) => logger.debug(message, withClient(details)),
    info: (message, ...details) => logger.info(message, withClient(details)),
    warn: (message, ...details) => logger.warn(message, withClient(details)),
    error: (message, ...details) => logger.error(message, withClient(details)),
  };
}

/* Powertools Logger drops a `message` key (the line's own message): the outcome's goes in as `reason`. */
function outcomeFields(outcome: ReconcileOutcome): Record<string, unknown> {
  if (!("message" in outcome)) return outcome;
  const { message, ...rest } = outcome;
  return { ...rest, reason: message };
}

/*
 * Clients the run had no time left to start (time-budget.ts) are reported as failed and retryable,
 * so that the invocation fails cleanly (and is retried) instead of timing out mid-way.
 */
const OUT_OF_TIME: ReconcileOutcome = {
  outcome: "failed",
  message:
    "out of time: not reconciled: too little of the invocation was left to start it safely (finAPI was slow for earlier clients)",
  retryable: true,
};

/**
 * The config-sync run: parse the input, pick the clients, reconcile them (bounded concurrency),
 * then log, count and store each outcome. A transient failure of any client fails the invocation at
 * the end, after every other client had its turn; a manual invoke returns its results instead.
 */
export function createConfigSync(dependencies: ConfigSyncDependencies) {
  const { config, logger, metrics, statusStore } = dependencies;
  const now = dependencies.now ?? (() => new Date());
  const concurrency = dependencies.concurrency ?? DEFAULT_CONCURRENCY;

  /** Logs and counts a client's outcome; the status to store, unless it was a dry run. */
  function finish(
    client: ConfiguredClient,
    trigger: Trigger,
    dryRun: boolean,
    outcome: ReconcileOutcome,
    parameterVersion: number | undefined,
    context: Context,
  ): ClientStatus | undefined {
    const version = parameterVersion === undefined ? {} : { parameterVersion };
    logger[logLevelForOutcome(outcome)]("reconcile outcome", {
      client: client.name,
      mode: client.mode,
      trigger,
      ...version,
      ...outcomeFields(outcome),
    });
    /* A dry run is a question, not a reconcile: it neither counts towards alarms nor replaces the status. */
    if (dryRun) return undefined;
    countFor(metrics, client.name, metricForOutcome(outcome));
    return {
      client: client.name,
      at: now().toISOString(),
      trigger,
      ...version,
      lambdaRequestId: context.awsRequestId,
      ...outcome,
    };
  }

  /** Stores a batch of statuses; what could not be stored is logged (the outcomes are in the log and the metrics). */
  async function store(statuses: readonly ClientStatus[], context: Context, signal: AbortSignal) {
    const notStored = (message: string, fields: Record<string, unknown> = {}) => {
      for (const status of statuses) logger.error(message, { client: status.client, ...fields });
    };
    if (runDeadlinePassed(context, signal)) {
      notStored("the run's deadline passed: the client's status is not stored; its outcome is in this log");
      return;
    }
    try {
      const written = await statusStore.record(statuses, { signal });
      statuses.forEach((status, index) => {
        const version =
          status.parameterVersion === undefined ? {} : { parameterVersion: status.parameterVersion };
        if (written[index] === "superseded") {
          logger.warn("the status table holds a newer parameter version's status; it was kept", {
            client: status.client,
            ...version,
          });
        } else if (written[index] === "unprocessed") {
          logger.error(NOT_STORED, {
            client: status.client,
            errorName: "UnprocessedItems",
          });
        }
      });
    } catch (error) {
      notStored(NOT_STORED, {
        errorName: errorName(error),
      });
    }
  }

  /*
   * `signal` is middy's: aborted RUN_ABORT_EARLY_MS before Lambda's timeout, the run's deadline. Every
   * AWS and finAPI call carries it, so a run that middy answered for sends nothing more, even when the
   * environment is frozen with its work pending and thawed by the next invocation.
   */
  return async function run(
    event: unknown,
    context: Context,
    { signal }: MiddyHandlerObject = { signal: new AbortController().signal },
  ): Promise<ConfigSyncResponse> {
    const parsed = parseInvocation(event);
    if (!parsed.ok) {
      logger.error("input rejected", { reason: parsed.reason });
      return { results: [], rejected: parsed.reason };
    }
    const selection = selectClients(parsed.value, config.clients);
    switch (selection.kind) {
      case "rejected":
        logger.error("input rejected", { reason: selection.reason });
        return { results: [], rejected: selection.reason };
      case "ignored":
        logger.info("event ignored", {
          reason: selection.reason,
          ...(parsed.value.kind === "parameter-change" ? { parameterName: parsed.value.parameterName } : {}),
        });
        return { results: [], ignored: selection.reason };
      case "parameter-deleted": {
        const reason =
          "the parameter was deleted; finAPI keeps its configuration until a document exists again";
        logger.warn("parameter deleted", {
          client: selection.client.name,
          parameterName: selection.client.parameterName,
          reason,
        });
        countFor(metrics, selection.client.name, SyncMetric.ParameterDeleted);
        return { results: [], ignored: reason };
      }
      case "reconcile":
        break;
    }

    const { trigger, dryRun, freshParameters, document } = selection;
    const remainingAtStartMs = context.getRemainingTimeInMillis();
    logger.info("reconcile started", { trigger, dryRun, clients: selection.clients.length });
    /* The parameters are read in batches, in the order the clients start (parameter-source.ts). */
    const documents = dependencies.parameters.reader(
      document === undefined ? selection.clients.map((client) => client.parameterName) : [],
      { fresh: freshParameters, signal },
    );
    /* Likewise the secrets: the callback root secret first (every client needs it), then each client's credentials. */
    const secretBatches = dependencies.secrets.batches(
      [
        ...(config.callbackBaseUrl !== undefined && config.callbackRootSecretId !== undefined
          ? [config.callbackRootSecretId]
          : []),
        ...selection.clients.map((client) => client.credentialsSecretId),
      ],
      signal,
    );
    /*
     * A client's slot is freed once finAPI is done with it; its status waits for STATUS_BATCH_SIZE
     * others (or the run's end) and is stored with them in one call. When more batches are in flight
     * than STATUS_BATCHES_IN_FLIGHT, the slot that filled one waits for it, so no backlog of writes
     * builds up that the run's time reserve does not cover.
     */
    const pending: ClientStatus[] = [];
    const storing = new Set<Promise<void>>();
    const storePending = () => {
      const stored = store(pending.splice(0, STATUS_BATCH_SIZE), context, signal).finally(() => {
        storing.delete(stored);
      });
      storing.add(stored);
      return stored;
    };
    const results = await mapConcurrently(selection.clients, concurrency, async (client) => {
      const log = clientLog(logger, client.name);
      const { outcome, parameterVersion } = mayStartClient(context, remainingAtStartMs, signal)
        ? await syncClient(
            {
              client,
              dryRun,
              documents,
              secretBatches,
              log,
              deadline: clientDeadline(context, signal),
              ...(document === undefined ? {} : { document }),
            },
            {
              ...dependencies,
              callbackBaseUrl: config.callbackBaseUrl,
              callbackRootSecretId: config.callbackRootSecretId,
            },
          )
        : { outcome: OUT_OF_TIME, parameterVersion: undefined };
      const status = finish(client, trigger, dryRun, outcome, parameterVersion, context);
      if (status !== undefined) pending.push(status);
      if (pending.length >= STATUS_BATCH_SIZE) {
        const stored = storePending();
        if (storing.size > STATUS_BATCHES_IN_FLIGHT) await stored;
      }
      return { client: client.name, ...outcome };
    });
    while (pending.length > 0) storePending();
    await Promise.all(storing);

    const outcomes: Record<string, number> = {};
    for (const result of results) outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
    logger.info("reconcile finished", { trigger, dryRun, outcomes });

    const transient = results.filter(isTransientFailure).map((result) => result.client);
    if (transient.length > 0 && trigger !== "manual") {
      logger.error("failing the invocation so that Lambda retries it", { transientlyFailed: transient });
      throw new TransientSyncFailure(
        `${transient.length} of ${results.length} client(s) failed transiently (${transient.join(", ")}); every outcome is logged and stored, and Lambda retries this event`,
      );
    }
    return { results };
  };
}

/**
 * The Lambda handler around a run: Powertools' Lambda context (request id, cold start) on every log
 * line, and middy's early timeout, whose abort signal is the run's deadline.
 */
export function createConfigSyncHandler(dependencies: ConfigSyncDependencies) {
  return middy<unknown, ConfigSyncResponse>({ timeoutEarlyInMillis: RUN_ABORT_EARLY_MS })
    .use(injectLambdaContext(dependencies.logger, { resetKeys: true }))
    .handler(createConfigSync(dependencies));
}
