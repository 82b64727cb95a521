import type { Context } from "aws-lambda";
import { describe, expect, it } from "vitest";
import { AWS_CLIENT_CONFIG } from "../../functions/aws/client-config.ts";
import { STATUS_TABLE_CLIENT_CONFIG } from "../../functions/config-sync/status-store.ts";
import {
  AWS_CALL_WORST_CASE_MS,
  CLIENT_START_RESERVE_MS,
  CLIENT_TIME_BUDGET_MS,
  clientDeadline,
  mayStartClient,
  RUN_ABORT_EARLY_MS,
  runDeadlinePassed,
  STATUS_WRITE_WORST_CASE_MS,
} from "../../functions/config-sync/time-budget.ts";
import { CONFIG_SYNC_TIMEOUT_MS } from "../../functions/contracts/config-sync.ts";
import { DEFAULT_RETRY_POLICY } from "../../functions/finapi/retry.ts";
import { lambdaContext } from "./support.ts";

/** The finAPI client's default request timeout (functions/finapi/client.ts). */
const FINAPI_REQUEST_TIMEOUT_MS = 10_000;

function contextWith(remaining: () => number): Context {
  return { ...lambdaContext(), getRemainingTimeInMillis: remaining };
}

describe("config-sync's time budget", () => {
  const running = new AbortController().signal;

  it("gives a client started with the reserve left the time for its budget, a late AWS read, its status write and the early abort", () => {
    expect(AWS_CALL_WORST_CASE_MS).toBeGreaterThanOrEqual(
      AWS_CLIENT_CONFIG.maxAttempts *
        (AWS_CLIENT_CONFIG.requestHandler.connectionTimeout +
          AWS_CLIENT_CONFIG.requestHandler.requestTimeout),
    );
    expect(STATUS_WRITE_WORST_CASE_MS).toBeGreaterThanOrEqual(
      2 *
        STATUS_TABLE_CLIENT_CONFIG.maxAttempts *
        (STATUS_TABLE_CLIENT_CONFIG.requestHandler.connectionTimeout +
          STATUS_TABLE_CLIENT_CONFIG.requestHandler.requestTimeout),
    );
    expect(CLIENT_START_RESERVE_MS).toBe(
      CLIENT_TIME_BUDGET_MS + AWS_CALL_WORST_CASE_MS + STATUS_WRITE_WORST_CASE_MS + RUN_ABORT_EARLY_MS,
    );
  });

  it("fits the start reserve twice into the Lambda timeout, so that the half-of-the-invocation rule never lowers it", () => {
    expect(CONFIG_SYNC_TIMEOUT_MS % 1000).toBe(0);
    expect(CONFIG_SYNC_TIMEOUT_MS).toBeGreaterThanOrEqual(2 * CLIENT_START_RESERVE_MS);
  });

  it("lets a client's budget hold a Retry-After wait finAPI may ask for within one call's retry budget and two attempts", () => {
    const longestHonouredWait = DEFAULT_RETRY_POLICY.budgetMs - 1;
    expect(CLIENT_TIME_BUDGET_MS).toBeGreaterThanOrEqual(longestHonouredWait + 2 * FINAPI_REQUEST_TIMEOUT_MS);
  });

  it("starts a client while the reserve remains, or half of an invocation shorter than the reserve", () => {
    const remaining = { ms: CONFIG_SYNC_TIMEOUT_MS };
    const context = contextWith(() => remaining.ms);
    remaining.ms = CLIENT_START_RESERVE_MS;
    expect(mayStartClient(context, CONFIG_SYNC_TIMEOUT_MS, running)).toBe(true);
    remaining.ms = CLIENT_START_RESERVE_MS - 1;
    expect(mayStartClient(context, CONFIG_SYNC_TIMEOUT_MS, running)).toBe(false);
    remaining.ms = 5_000;
    expect(mayStartClient(context, 10_000, running)).toBe(true);
    remaining.ms = 4_999;
    expect(mayStartClient(context, 10_000, running)).toBe(false);
  });

  it("starts no client once the run's signal has fired", () => {
    const controller = new AbortController();
    controller.abort();
    expect(mayStartClient(lambdaContext(), CONFIG_SYNC_TIMEOUT_MS, controller.signal)).toBe(false);
  });

  it("ends a client's time at its budget, or earlier when the run's end (less the status write) comes first", () => {
    const remaining = { ms: CONFIG_SYNC_TIMEOUT_MS };
    const context = contextWith(() => remaining.ms);
    const early = clientDeadline(context, running);
    expect(early.remainingMs()).toBe(CLIENT_TIME_BUDGET_MS);
    remaining.ms -= 15_000;
    expect(early.remainingMs()).toBe(CLIENT_TIME_BUDGET_MS - 15_000);

    remaining.ms = CLIENT_START_RESERVE_MS;
    expect(clientDeadline(context, running).remainingMs()).toBe(CLIENT_TIME_BUDGET_MS);

    remaining.ms = 30_000;
    expect(clientDeadline(context, running).remainingMs()).toBe(
      30_000 - RUN_ABORT_EARLY_MS - STATUS_WRITE_WORST_CASE_MS,
    );
  });

  it("counts the run's deadline as passed when its time is up, even before the signal fires", () => {
    const remaining = { ms: RUN_ABORT_EARLY_MS + 1 };
    const context = contextWith(() => remaining.ms);
    expect(runDeadlinePassed(context, running)).toBe(false);
    remaining.ms = RUN_ABORT_EARLY_MS;
    expect(runDeadlinePassed(context, running)).toBe(true);
  });
});
