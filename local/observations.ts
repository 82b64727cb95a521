import * as z from "zod";
import { configSyncResponseSchema } from "../functions/config-sync/app.ts";
import type { Trigger } from "../functions/contracts/config-sync.ts";
import { CallbackMetric } from "../functions/contracts/metrics.ts";
import { userSyncCallbackPayloadSchema } from "../functions/finapi/user.ts";
import type { Activity, CallbackOutcome } from "./activity.ts";
import type { FunctionUrlExchange } from "./function-url.ts";
import type { InvokeResult } from "./lambda-runtime.ts";

/*
 * How the local loop learns what the handlers did, through the same channels an operator has in AWS:
 * config-sync's invocation result, and the one CloudWatch metric (EMF log line) the user-sync-callback
 * counts per request. Nothing here reaches into the handlers.
 */

const OUTCOME_BY_METRIC: Readonly<Record<string, CallbackOutcome>> = {
  [CallbackMetric.Forwarded]: "forwarded",
  [CallbackMetric.Duplicate]: "duplicate",
  [CallbackMetric.Unauthenticated]: "unauthenticated",
  [CallbackMetric.Invalid]: "invalid",
  [CallbackMetric.IgnoredEvent]: "ignored-event",
  [CallbackMetric.ForwardFailed]: "dead-lettered",
  /* Counted after ForwardFailed when the dead letter could not be written either: it decides the outcome. */
  [CallbackMetric.DeadLetterFailed]: "lost",
};

/** An EMF line of Powertools Metrics: the metric names, and the client dimension when there is one. */
const emfLineSchema = z.object({
  _aws: z.object({
    CloudWatchMetrics: z.array(z.object({ Metrics: z.array(z.object({ Name: z.string() })) })),
  }),
  client: z.string().optional(),
});

function parsedJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The callback's outcome and client from the metrics it emitted while handling one request. */
export function callbackOutcomeOf(logLines: readonly string[]): {
  outcome: CallbackOutcome;
  client?: string;
} {
  let observed: { outcome: CallbackOutcome; client?: string } = { outcome: "failed" };
  for (const line of logLines) {
    const emf = emfLineSchema.safeParse(parsedJson(line));
    if (!emf.success) continue;
    for (const directive of emf.data._aws.CloudWatchMetrics) {
      for (const metric of directive.Metrics) {
        const outcome = OUTCOME_BY_METRIC[metric.Name];
        if (!outcome) continue;
        observed = emf.data.client === undefined ? { outcome } : { outcome, client: emf.data.client };
      }
    }
  }
  return observed;
}

/** The user id a callback body names, when it is a valid finAPI user id (anything else is not shown). */
function userIdOf(body: string): string | undefined {
  const payload = userSyncCallbackPayloadSchema.safeParse(parsedJson(body));
  return payload.success ? payload.data.userId : undefined;
}

export function callbackActivity(exchange: FunctionUrlExchange): Activity {
  const { outcome, client } = exchange.result
    ? callbackOutcomeOf(exchange.result.logLines)
    : { outcome: "invalid" as const, client: undefined };
  const userId = userIdOf(exchange.body);
  return {
    kind: "callback",
    status: exchange.status,
    outcome,
    ...(client === undefined ? {} : { client }),
    ...(userId === undefined ? {} : { userId }),
  };
}

/**
 * What one config-sync invocation came to, one activity per reconciled client. `client` names the
 * client the invocation was for (a parameter change), so that a run reconciling nothing still says whose.
 */
export function syncActivities(trigger: Trigger, result: InvokeResult, client?: string): Activity[] {
  const whose = client === undefined ? {} : { client };
  if (!result.ok) {
    return [{ kind: "sync-failed", trigger, error: `${result.errorType}: ${result.errorMessage}`, ...whose }];
  }
  const response = configSyncResponseSchema.safeParse(result.payload);
  if (!response.success) {
    return [
      {
        kind: "sync-failed",
        trigger,
        error: "config-sync answered with something that is not its response",
        ...whose,
      },
    ];
  }
  const { results, ignored, rejected } = response.data;
  const skipped = rejected ?? ignored;
  if (skipped !== undefined) return [{ kind: "sync-skipped", trigger, reason: skipped, ...whose }];
  return results.map((clientResult) => ({ kind: "sync", trigger, result: clientResult }));
}
