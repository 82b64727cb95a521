import { randomUUID } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
import type * as z from "../validation/zod.ts";
import {
  accessTokenSchema,
  badCredentialsErrorSchema,
  type ClientConfiguration,
  clientConfigurationSchema,
  errorMessageSchema,
} from "./api-types.ts";
import { finapiBaseUrlProblem, LOCAL_BASE_URL_RULE } from "./base-url.ts";
import { AnswerTooLargeError, MAX_ANSWER_BYTES, readBoundedText } from "./bounded-body.ts";
import { type Deadline, FinapiOutOfTimeError } from "./deadline.ts";
import { type FinapiErrorDetail, FinapiRejectedError, FinapiUnavailableError } from "./errors.ts";
import { type Log, silentLog } from "./log.ts";
import { describeNetworkError } from "./network-error.ts";
import { redactSecrets } from "./redact.ts";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isTransientStatus,
  type RetryPolicy,
  retryAfterMs,
} from "./retry.ts";
import type { ClientConfigurationParams } from "./schema.ts";

export const FINAPI_BASE_URLS = {
  sandbox: "https://sandbox.finapi.io",
  live: "https://live.finapi.io",
} as const;

export interface FinapiCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export interface FinapiClientOptions {
  /** finAPI's base URL, for example `https://sandbox.finapi.io`, or an emulator's. */
  readonly baseUrl: string;
  readonly credentials: FinapiCredentials;
  /** How long one HTTP attempt may take, answer body included. @default 10000 */
  readonly requestTimeoutMs?: number;
  /** The most of an answer's body that is read; a longer answer fails the call. @default MAX_ANSWER_BYTES (1 MiB) */
  readonly maxAnswerBytes?: number;
  /** @default DEFAULT_RETRY_POLICY */
  readonly retry?: Partial<RetryPolicy>;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** @default Date.now */
  readonly now?: () => number;
  /** Rejects when `signal` is aborted before `ms` have passed. @default node:timers/promises setTimeout */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Source of the backoff jitter. @default Math.random */
  readonly random?: () => number;
  /** @default a `finapi-config-sync-` prefixed UUID */
  readonly newRequestId?: () => string;
  /** @default silentLog */
  readonly log?: Log;
}

export interface FinapiResponse<T> {
  readonly body: T;
  /** The `X-Request-Id` of the call that produced this answer. */
  readonly requestId: string;
}

export interface FinapiCallOptions {
  /**
   * The caller's deadline: every attempt (the token's included) starts only when it can finish before
   * it, every wait only when an attempt still fits after it, and its signal cuts both short; the call
   * then fails with FinapiOutOfTimeError. @default - bounded by the retry policy alone
   */
  readonly deadline?: Deadline;
}

/** The finAPI operations this tool uses, with the client's token handled inside. */
export interface FinapiClient {
  getClientConfiguration(options?: FinapiCallOptions): Promise<FinapiResponse<ClientConfiguration>>;
  patchClientConfiguration(
    params: ClientConfigurationParams,
    options?: FinapiCallOptions,
  ): Promise<FinapiResponse<ClientConfiguration>>;
}

interface Exchange {
  readonly status: number;
  readonly text: string;
  readonly retryAfter: string | null;
  /** For a 3xx: where it points, as an origin only (its path and query may hold anything). */
  readonly redirectTo?: string;
  readonly requestId: string;
}

interface CachedToken {
  readonly value: string;
  /** Undefined when finAPI said the token never expires. */
  readonly renewAt: number | undefined;
}

const TOKEN_PATH = "/oauth/token";
const CONFIGURATION_PATH = "/api/v1/clientConfiguration";
/** Renew this long before finAPI's expiry (or at 90% of a shorter lifetime), so a token never dies in flight. */
const TOKEN_RENEWAL_MARGIN_MS = 60_000;

function joinUrl(baseUrl: string, path: string): URL {
  const base = baseUrl.endsWith("/") ? baseUrl : `${baseUrl}/`;
  return new URL(path.replace(/^\//, ""), base);
}

/* The origin alone: a Location's path or query may carry a token or a phishing path worth hiding. */
function redirectTarget(location: string | null, requestUrl: URL): string {
  if (location === null) return "no Location";
  const target = URL.parse(location, requestUrl.href);
  if (!target) return "an unreadable Location";
  return target.origin === "null" ? `a ${target.protocol} URL` : target.origin;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorDetails(text: string): { details: FinapiErrorDetail[]; requestId?: string } {
  const json = parseJson(text);
  const errorMessage = errorMessageSchema.safeParse(json);
  if (errorMessage.success) {
    return {
      details: errorMessage.data.errors.map((error) => ({
        message: error.message ?? "(no message)",
        ...(error.code ? { code: error.code } : {}),
        ...(error.type ? { type: error.type } : {}),
      })),
      ...(errorMessage.data.requestId ? { requestId: errorMessage.data.requestId } : {}),
    };
  }
  const badCredentials = badCredentialsErrorSchema.safeParse(json);
  if (badCredentials.success) {
    return {
      details: [
        {
          message: badCredentials.data.error_description ?? badCredentials.data.error,
          code: badCredentials.data.error,
        },
      ],
    };
  }
  return { details: [] };
}

/**
 * A finAPI client for the client-configuration endpoints: client-credentials token cached until shortly
 * before it expires and renewed once on a 401, a fresh `X-Request-Id` per request, transient failures
 * retried with full-jitter exponential backoff that honours `Retry-After` within a time budget.
 */
export function createFinapiClient(options: FinapiClientOptions): FinapiClient {
  const baseUrlProblem = finapiBaseUrlProblem(options.baseUrl, LOCAL_BASE_URL_RULE);
  if (baseUrlProblem) throw new Error(`finAPI base URL ${baseUrlProblem}`);
  const fetchFn = options.fetch ?? globalThis.fetch;
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number, signal?: AbortSignal) => delay(ms, undefined, { signal }));
  const random = options.random ?? Math.random;
  const newRequestId = options.newRequestId ?? (() => `finapi-config-sync-${randomUUID()}`);
  const log = options.log ?? silentLog;
  const requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
  const maxAnswerBytes = options.maxAnswerBytes ?? MAX_ANSWER_BYTES;
  const policy: RetryPolicy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const { clientId, clientSecret } = options.credentials;

  let cachedToken: CachedToken | undefined;
  let pendingToken: Promise<string> | undefined;

  const scrub = (text: string) =>
    redactSecrets(text, [clientSecret, ...(cachedToken ? [cachedToken.value] : [])]);
  const scrubDetails = (details: FinapiErrorDetail[]) =>
    details.map((detail) => ({ ...detail, message: scrub(detail.message) }));

  async function attempt(
    method: string,
    path: string,
    init: RequestInit,
    requestId: string,
    deadline: Deadline | undefined,
  ): Promise<Exchange> {
    const url = joinUrl(options.baseUrl, path);
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const response = await fetchFn(url, {
      ...init,
      method,
      headers: { ...(init.headers as Record<string, string>), "X-Request-Id": requestId },
      /* A redirect would re-send the client secret or the token (and 307/308 the body) to wherever it points. */
      redirect: "manual",
      signal: deadline ? AbortSignal.any([timeout, deadline.signal]) : timeout,
    });
    const retryAfter = response.headers.get("retry-after");
    if (response.status >= 300 && response.status <= 399) {
      await response.body?.cancel();
      const redirectTo = redirectTarget(response.headers.get("location"), url);
      return { status: response.status, text: "", retryAfter, redirectTo, requestId };
    }
    const text = await readBoundedText(response, maxAnswerBytes);
    return { status: response.status, text, retryAfter, requestId };
  }

  /* An attempt that could still be running when the deadline passes is not started. */
  function ensureTimeForAttempt(method: string, path: string, deadline: Deadline, attemptNumber: number) {
    const left = deadline.remainingMs();
    if (!deadline.signal.aborted && left >= requestTimeoutMs) return;
    const what =
      attemptNumber === 1 ? "was not sent" : `was not retried after ${attemptNumber - 1} attempt(s)`;
    throw new FinapiOutOfTimeError(
      method,
      path,
      `${what}: ${Math.max(0, left)} ms were left and an attempt may take ${requestTimeoutMs} ms`,
    );
  }

  /** One logical call: attempts until a non-transient answer, or fails once the attempts or the budget run out. */
  async function send(
    method: string,
    path: string,
    init: RequestInit,
    deadline: Deadline | undefined,
  ): Promise<Exchange> {
    const startedAt = now();
    for (let attemptNumber = 1; ; attemptNumber++) {
      if (deadline) ensureTimeForAttempt(method, path, deadline, attemptNumber);
      const requestId = newRequestId();
      const attemptStartedAt = now();
      let outcome: Exchange | undefined;
      let failure: string;
      let cause: unknown;
      /* Trying again at once cannot help: the answer was too large, the host does not exist, TLS failed. */
      let hopeless = false;
      try {
        outcome = await attempt(method, path, init, requestId, deadline);
        log.info("finAPI call", {
          method,
          path,
          status: outcome.status,
          finapiRequestId: requestId,
          attempt: attemptNumber,
          durationMs: now() - attemptStartedAt,
        });
        if (outcome.redirectTo !== undefined) throw redirectRejected(outcome, method, path);
        if (!isTransientStatus(outcome.status)) return outcome;
        failure = `answered HTTP ${outcome.status}`;
      } catch (error) {
        if (deadline?.signal.aborted) {
          throw new FinapiOutOfTimeError(
            method,
            path,
            `was cut off by the deadline in attempt ${attemptNumber}`,
          );
        }
        /* A redirect is a verdict on the request, not a failed attempt to retry. */
        if (error instanceof FinapiRejectedError) throw error;
        cause = error;
        if (error instanceof AnswerTooLargeError) {
          failure = error.message;
          hopeless = true;
        } else {
          ({ failure, permanent: hopeless } = describeNetworkError(error, requestTimeoutMs));
        }
        log.warn("finAPI call failed", {
          method,
          path,
          finapiRequestId: requestId,
          attempt: attemptNumber,
          failure,
          durationMs: now() - attemptStartedAt,
        });
      }
      const requestedWait = outcome ? retryAfterMs(outcome.retryAfter, now()) : undefined;
      const wait = requestedWait ?? backoffDelayMs(policy, attemptNumber, random);
      const remaining = policy.budgetMs - (now() - startedAt);
      if (hopeless || attemptNumber >= policy.maxAttempts || wait > remaining) {
        const why = hopeless
          ? "; not retried, as trying again at once would fail the same way"
          : attemptNumber >= policy.maxAttempts
            ? ` after ${attemptNumber} attempts`
            : ` after ${attemptNumber} attempt(s); the next wait of ${wait} ms exceeds the ${policy.budgetMs} ms retry budget`;
        const details = outcome ? scrubDetails(errorDetails(outcome.text).details) : [];
        throw new FinapiUnavailableError(`${failure}${why}`, {
          method,
          path,
          ...(outcome ? { status: outcome.status } : {}),
          requestId,
          details,
          attempts: attemptNumber,
          cause,
        });
      }
      if (deadline && wait + requestTimeoutMs > deadline.remainingMs()) {
        throw new FinapiOutOfTimeError(
          method,
          path,
          `${failure} and was not retried: the wait of ${wait} ms and another attempt (up to ${requestTimeoutMs} ms) would end past the deadline`,
        );
      }
      log.info("finAPI call will be retried", { method, path, finapiRequestId: requestId, waitMs: wait });
      try {
        await sleep(wait, deadline?.signal);
      } catch (error) {
        if (!deadline?.signal.aborted) throw error;
        throw new FinapiOutOfTimeError(
          method,
          path,
          `${failure}; the deadline passed while waiting to retry`,
        );
      }
    }
  }

  function redirectRejected(exchange: Exchange, method: string, path: string): FinapiRejectedError {
    return new FinapiRejectedError(
      `answered HTTP ${exchange.status}, a redirect to ${scrub(exchange.redirectTo ?? "")}: finAPI calls never follow redirects (they would carry the credentials elsewhere)`,
      { method, path, status: exchange.status, requestId: exchange.requestId },
    );
  }

  function rejected(exchange: Exchange, method: string, path: string, summary: string): FinapiRejectedError {
    const { details, requestId } = errorDetails(exchange.text);
    return new FinapiRejectedError(summary, {
      method,
      path,
      status: exchange.status,
      requestId: requestId ?? exchange.requestId,
      details: scrubDetails(details),
    });
  }

  function parseBody<T>(exchange: Exchange, method: string, path: string, schema: z.ZodMiniType<T>): T {
    const parsed = schema.safeParse(parseJson(exchange.text));
    if (parsed.success) return parsed.data;
    throw new FinapiUnavailableError(
      `answered HTTP ${exchange.status} with a body that is not finAPI's format`,
      {
        method,
        path,
        status: exchange.status,
        requestId: exchange.requestId,
        attempts: 1,
      },
    );
  }

  async function fetchToken(deadline: Deadline | undefined): Promise<string> {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    });
    const exchange = await send(
      "POST",
      TOKEN_PATH,
      {
        headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
        body: form.toString(),
      },
      deadline,
    );
    if (exchange.status !== 200) {
      const summary =
        exchange.status === 401
          ? "rejected the client credentials (HTTP 401): check the client id and secret"
          : `refused the token request (HTTP ${exchange.status})`;
      throw rejected(exchange, "POST", TOKEN_PATH, summary);
    }
    const token = parseBody(exchange, "POST", TOKEN_PATH, accessTokenSchema);
    const lifetimeMs = token.expires_in * 1000;
    cachedToken = {
      value: token.access_token,
      renewAt:
        token.expires_in === 0
          ? undefined
          : now() + lifetimeMs - Math.min(TOKEN_RENEWAL_MARGIN_MS, lifetimeMs / 10),
    };
    return token.access_token;
  }

  async function accessToken(deadline: Deadline | undefined): Promise<string> {
    if (cachedToken && (cachedToken.renewAt === undefined || now() < cachedToken.renewAt))
      return cachedToken.value;
    pendingToken ??= fetchToken(deadline).finally(() => {
      pendingToken = undefined;
    });
    return pendingToken;
  }

  async function callApi<T>(
    method: string,
    path: string,
    schema: z.ZodMiniType<T>,
    body: unknown,
    { deadline }: FinapiCallOptions = {},
  ): Promise<FinapiResponse<T>> {
    const init = (token: string): RequestInit => ({
      headers: {
        Authorization: `Bearer ${token}`,
        Accept: "application/json",
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    let token = await accessToken(deadline);
    let exchange = await send(method, path, init(token), deadline);
    if (exchange.status === 401) {
      log.info("finAPI rejected the access token; renewing it once", {
        method,
        path,
        finapiRequestId: exchange.requestId,
      });
      if (cachedToken?.value === token) cachedToken = undefined;
      token = await accessToken(deadline);
      exchange = await send(method, path, init(token), deadline);
    }
    if (exchange.status < 200 || exchange.status > 299) {
      const summary =
        exchange.status === 401
          ? "rejected a freshly issued access token (HTTP 401)"
          : `was rejected by finAPI (HTTP ${exchange.status})`;
      throw rejected(exchange, method, path, summary);
    }
    return { body: parseBody(exchange, method, path, schema), requestId: exchange.requestId };
  }

  return {
    getClientConfiguration: (callOptions) =>
      callApi("GET", CONFIGURATION_PATH, clientConfigurationSchema, undefined, callOptions),
    patchClientConfiguration: (params, callOptions) =>
      callApi("PATCH", CONFIGURATION_PATH, clientConfigurationSchema, params, callOptions),
  };
}
