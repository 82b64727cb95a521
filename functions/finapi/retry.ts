export interface RetryPolicy {
  /** Attempts per call, the first one included. @default 5 */
  readonly maxAttempts: number;
  /** The backoff before the second attempt; it doubles with each further attempt. @default 200 */
  readonly baseDelayMs: number;
  /** The longest single backoff. @default 5000 */
  readonly maxDelayMs: number;
  /**
   * The time one call may take with all its attempts and waits. It must stay well inside the Lambda
   * timeout so that a failing finAPI fails the invocation rather than timing it out. @default 20000
   */
  readonly budgetMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 200,
  maxDelayMs: 5_000,
  budgetMs: 20_000,
};

/** 429 and every 5xx: finAPI asks to come back later, or failed on its side. */
export function isTransientStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** Full jitter: a random wait between 0 and the exponential ceiling for this attempt. */
export function backoffDelayMs(policy: RetryPolicy, attempt: number, random: () => number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** The wait a `Retry-After` header asks for (seconds or an HTTP date), or undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  const value = header.trim();
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  /* Date.parse reads bare numbers such as "-1" as years; an HTTP date always names its weekday. */
  if (!/^[A-Za-z]{3}, /.test(value)) return undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
