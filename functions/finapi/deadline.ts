/**
 * When the caller's time runs out (a Lambda invocation's). Nothing is sent once `signal` is aborted,
 * and an attempt starts only when it can finish within `remainingMs()`.
 */
export interface Deadline {
  /** Aborted when the time is up: it cancels the attempt in flight and the wait before the next one. */
  readonly signal: AbortSignal;
  /** How long is left, in ms (0 or less when none is). */
  remainingMs(): number;
}

/** A call that was not made, or not finished, because the caller's deadline left no time for it. */
export class FinapiOutOfTimeError extends Error {
  override readonly name = "FinapiOutOfTimeError";
  /** The next run has the time this one lacked. */
  readonly retryable = true;
  readonly method: string;
  readonly path: string;

  constructor(method: string, path: string, why: string) {
    super(`out of time: ${method} ${path} ${why}`);
    this.method = method;
    this.path = path;
  }
}
