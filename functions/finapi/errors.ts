/** One entry of finAPI's error body. */
export interface FinapiErrorDetail {
  readonly message: string;
  readonly code?: string;
  readonly type?: string;
}

interface FinapiErrorOptions {
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly requestId: string;
  readonly details?: readonly FinapiErrorDetail[];
  readonly cause?: unknown;
}

/**
 * Something finAPI answered, or failed to answer. Messages carry the method, path, HTTP status, finAPI's
 * own messages and the request id, and never a credential or token.
 */
export abstract class FinapiError extends Error {
  /** Whether trying again later may succeed. */
  abstract readonly retryable: boolean;
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly requestId: string;
  readonly details: readonly FinapiErrorDetail[];

  constructor(summary: string, options: FinapiErrorOptions) {
    const finapiSays = options.details?.length
      ? `: ${options.details.map((detail) => (detail.code ? `${detail.message} (${detail.code})` : detail.message)).join("; ")}`
      : "";
    super(`${options.method} ${options.path} ${summary}${finapiSays} [X-Request-Id ${options.requestId}]`, {
      cause: options.cause,
    });
    this.method = options.method;
    this.path = options.path;
    this.status = options.status;
    this.requestId = options.requestId;
    this.details = options.details ?? [];
  }
}

/**
 * finAPI refused the request (4xx other than 429, or bad credentials), or answered with a redirect, which
 * is never followed: the same request will fail again.
 */
export class FinapiRejectedError extends FinapiError {
  override readonly name = "FinapiRejectedError";
  readonly retryable = false;
}

/**
 * finAPI could not be reached or was unavailable (network error, timeout, 429, 5xx) on every attempt
 * within the retry budget, or answered with something that is not finAPI's format or larger than the
 * answer cap. A host that does not resolve, a TLS failure and an answer over the cap are not retried
 * within the call (an immediate retry would fail the same way), but may succeed on a later run.
 */
export class FinapiUnavailableError extends FinapiError {
  override readonly name = "FinapiUnavailableError";
  readonly retryable = true;
  /** How many attempts were made. */
  readonly attempts: number;

  constructor(summary: string, options: FinapiErrorOptions & { readonly attempts: number }) {
    super(summary, options);
    this.attempts = options.attempts;
  }
}
