import { describe, expect, it } from "vitest";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isTransientStatus,
  retryAfterMs,
} from "../../functions/finapi/retry.ts";

describe("isTransientStatus", () => {
  it.each([429, 500, 502, 503, 504])("treats %i as transient", (status) => {
    expect(isTransientStatus(status)).toBe(true);
  });
  it.each([200, 400, 401, 403, 404, 409, 422])("treats %i as final", (status) => {
    expect(isTransientStatus(status)).toBe(false);
  });
});

describe("backoffDelayMs", () => {
  it("doubles the ceiling with each attempt and caps it at the longest backoff", () => {
    const ceiling = (attempt: number) => backoffDelayMs(DEFAULT_RETRY_POLICY, attempt, () => 0.999_999);
    expect([1, 2, 3, 4, 5, 6, 7, 8].map(ceiling)).toEqual([199, 399, 799, 1599, 3199, 4999, 4999, 4999]);
  });

  it("draws the wait between zero and the ceiling (full jitter)", () => {
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(DEFAULT_RETRY_POLICY, 3, () => 0.5)).toBe(400);
  });
});

describe("retryAfterMs", () => {
  const now = Date.parse("2026-11-21T10:00:00Z");
  it.each([
    ["3", 3000],
    [" 0 ", 0],
    ["Sat, 21 Nov 2026 10:00:05 GMT", 5000],
    ["Sat, 21 Nov 2026 09:59:00 GMT", 0],
  ])("reads %j as %i ms", (header, ms) => {
    expect(retryAfterMs(header, now)).toBe(ms);
  });
  it.each([[null], [""], ["soon"], ["-1"]])("ignores %j", (header) => {
    expect(retryAfterMs(header, now)).toBeUndefined();
  });
});
