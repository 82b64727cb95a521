import type { Context } from "aws-lambda";
import { AWS_CLIENT_CONFIG } from "../aws/client-config.ts";
import type { Deadline } from "../finapi/deadline.ts";
import { DEFAULT_RETRY_POLICY } from "../finapi/retry.ts";
import { STATUS_TABLE_CLIENT_CONFIG } from "./status-store.ts";

/*
 * How the invocation's time is shared out, in one place: the stack's timeout (CONFIG_SYNC_TIMEOUT_MS,
 * functions/contracts/config-sync.ts) and the start reserve are checked against each other by a test
 * (test/config-sync/time-budget.test.ts).
 */

/**
 * middy's `timeoutEarlyInMillis`: this long before Lambda's timeout, middy aborts the run's signal and
 * answers TimeoutError. It is the run's deadline: nothing is sent after it.
 */
export const RUN_ABORT_EARLY_MS = 1_000;

/* The AWS SDK's backoff base for throttling (@smithy/core's retry config), doubled per retry. */
const SDK_THROTTLING_BACKOFF_BASE_MS = 1_000;

/**
 * The longest one AWS call (SSM, Secrets Manager, DynamoDB) takes under AWS_CLIENT_CONFIG: every
 * attempt spends its connection and request timeouts, with the SDK's longest backoff between them.
 */
export function awsCallWorstCaseMs(config: typeof AWS_CLIENT_CONFIG): number {
  const { maxAttempts, requestHandler } = config;
  return (
    maxAttempts * (requestHandler.connectionTimeout + requestHandler.requestTimeout) +
    SDK_THROTTLING_BACKOFF_BASE_MS * (2 ** (maxAttempts - 1) - 1)
  );
}

export const AWS_CALL_WORST_CASE_MS = awsCallWorstCaseMs(AWS_CLIENT_CONFIG);

/**
 * The longest a batch of statuses takes to store: the check of the versions the table holds and the
 * batch write, each under STATUS_TABLE_CLIENT_CONFIG. (DynamoDB's unprocessed items are sent again
 * only while the run's deadline has not passed.)
 */
export const STATUS_WRITE_WORST_CASE_MS = 2 * awsCallWorstCaseMs(STATUS_TABLE_CLIENT_CONFIG);

/**
 * How long one client's reconcile may take, from its start to its last finAPI answer: two finAPI
 * calls' whole retry budgets. Without it a client's worst case is the sum of its calls' (token, GET,
 * GET, PATCH and token renewals, each up to its retry budget plus one request timeout: minutes); with
 * it, a client whose finAPI is that slow ends "out of time" and the next run tries again.
 */
export const CLIENT_TIME_BUDGET_MS = 2 * DEFAULT_RETRY_POLICY.budgetMs;

/**
 * A client starts only while this much of the invocation remains, its worst case: its time budget,
 * an AWS read started at the budget's last moment, the status write, and the early abort. A client
 * started with it left ends, status stored, before the run's deadline.
 */
export const CLIENT_START_RESERVE_MS =
  CLIENT_TIME_BUDGET_MS + AWS_CALL_WORST_CASE_MS + STATUS_WRITE_WORST_CASE_MS + RUN_ABORT_EARLY_MS;

/* The time a client's work leaves for storing its status before the run's deadline. */
const STATUS_WRITE_RESERVE_MS = STATUS_WRITE_WORST_CASE_MS;

/** Whether a client may start now: when an invocation is shorter than the reserve (local runs), while half of it remains. */
export function mayStartClient(
  context: Context,
  remainingAtRunStartMs: number,
  signal: AbortSignal,
): boolean {
  const reserve = Math.min(CLIENT_START_RESERVE_MS, remainingAtRunStartMs / 2);
  return !signal.aborted && context.getRemainingTimeInMillis() >= reserve;
}

/** Whether the run's deadline has passed: middy's signal fired, or its time is up (a starved loop runs timers late). */
export function runDeadlinePassed(context: Context, signal: AbortSignal): boolean {
  return signal.aborted || context.getRemainingTimeInMillis() <= RUN_ABORT_EARLY_MS;
}

/**
 * One client's deadline, from the Lambda context's remaining time: its time budget from now, and
 * never later than the run's deadline less the status write. `signal` is the run's (middy's).
 */
export function clientDeadline(context: Context, signal: AbortSignal): Deadline {
  const budgetEndsAtRemainingMs = context.getRemainingTimeInMillis() - CLIENT_TIME_BUDGET_MS;
  const runEndsAtRemainingMs = RUN_ABORT_EARLY_MS + STATUS_WRITE_RESERVE_MS;
  return {
    signal,
    remainingMs: () =>
      context.getRemainingTimeInMillis() - Math.max(budgetEndsAtRemainingMs, runEndsAtRemainingMs),
  };
}
