import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import {
  type ClientConfiguration,
  type Drift,
  driftSchema,
  type EmulatedEnvironment,
  initialClientConfiguration,
  validatePatch,
  withChanges,
} from "./client-configuration.ts";
import { type EmulatedClientSpec, emulatedClientSpecSchema } from "./contract.ts";
import {
  type AccessToken,
  type BadCredentialsError,
  type ErrorCode,
  type ErrorContext,
  type ErrorEntry,
  errorMessage,
} from "./responses.ts";
import { ClientTokens } from "./tokens.ts";

const REQUEST_ID_MAX_LENGTH = 255;

export interface ApiRequest {
  readonly method: string;
  /** Path and query string, as sent. */
  readonly target: string;
  /** Lower-case names. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** The client the request authenticated as, when it did. */
  readonly clientId?: string;
}

export interface ResolvedRequestId {
  readonly requestId: string;
  /** The caller sent one longer than finAPI allows: the call fails with 400 under a generated id. */
  readonly tooLong: boolean;
}

/** The request id finAPI answers with: the caller's, or a generated one when it sent none or one too long. */
export function requestIdOf(headers: Readonly<Record<string, string>>): ResolvedRequestId {
  const sent = headers["x-request-id"];
  if (sent && sent.length <= REQUEST_ID_MAX_LENGTH) return { requestId: sent, tooLong: false };
  return {
    requestId: `selfgen-${randomUUID()}`,
    tooLong: sent !== undefined && sent.length > REQUEST_ID_MAX_LENGTH,
  };
}

export const pathnameOf = (target: string): string => new URL(target, "http://finapi.invalid").pathname;

/** The method finAPI acts on: a POST may name PATCH or DELETE in X-HTTP-Method-Override. */
export function effectiveMethodOf(method: string, headers: Readonly<Record<string, string>>): string {
  const override = headers["x-http-method-override"];
  return method === "POST" && override ? override.toUpperCase() : method;
}

interface EmulatedClient {
  readonly clientId: string;
  readonly secretDigest: Buffer;
  readonly environment: EmulatedEnvironment;
  /** finAPI's authContext names the mandator and the client by number. */
  readonly number: number;
  configuration: ClientConfiguration;
}

type Operation = (request: ApiRequest, context: ErrorContext) => ApiReply;

const digest = (secret: string) => createHash("sha256").update(secret).digest();

function mediaTypeOf(headers: Readonly<Record<string, string>>): string {
  return (headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
}

const json = (status: number, body: unknown, extra: Omit<ApiReply, "status" | "body"> = {}): ApiReply => ({
  status,
  body,
  ...extra,
});

/* finAPI's OAuth server answers grant errors the RFC 6749 5.2 way. The emulator has no users yet, so
 * every user login and every refresh token is unknown. */
const GRANT_ERRORS: Readonly<Record<string, BadCredentialsError>> = {
  "": { error: "invalid_request", error_description: "Missing grant type" },
  password: { error: "invalid_grant", error_description: "Bad credentials" },
  refresh_token: { error: "invalid_grant", error_description: "Invalid refresh token" },
};
const UNSUPPORTED_GRANT: BadCredentialsError = {
  error: "unsupported_grant_type",
  error_description: "Unsupported grant type",
};

/* RFC 6749 5.1: token responses must not be cached. */
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

/**
 * finAPI's behaviour for the calls this project makes, as a pure request → reply function over the
 * state of the emulated clients. The HTTP server, faults and latency live in server.ts.
 */
export class EmulatedFinapi {
  readonly #clock: () => number;
  readonly #clients = new Map<string, EmulatedClient>();
  readonly #tokens: ClientTokens;
  readonly #routes: Readonly<Record<string, Readonly<Record<string, Operation>>>> = {
    "/oauth/token": { POST: (request) => this.#getToken(request) },
    "/api/v1/clientConfiguration": {
      GET: (request) => this.#getClientConfiguration(request),
      PATCH: (request, context) => this.#editClientConfiguration(request, context),
    },
  };

  constructor(clock: () => number) {
    this.#clock = clock;
    this.#tokens = new ClientTokens(clock);
  }

  addClient(spec: EmulatedClientSpec): void {
    const parsed = emulatedClientSpecSchema.safeParse(spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "spec"}: ${issue.message}`,
      );
      throw new Error(`Invalid emulated client: ${problems.join("; ")}`);
    }
    const { clientId, clientSecret, environment, configuration } = parsed.data;
    if (this.#clients.has(clientId)) throw new Error(`The emulator already has a client "${clientId}"`);
    const validation = validatePatch(configuration ?? {}, environment);
    if (!validation.ok) {
      const problems = validation.errors.map((error) => error.message);
      throw new Error(`Invalid configuration for emulated client "${clientId}": ${problems.join("; ")}`);
    }
    this.#clients.set(clientId, {
      clientId,
      secretDigest: digest(clientSecret),
      environment,
      number: this.#clients.size + 1,
      configuration: withChanges(initialClientConfiguration(environment), validation.changes),
    });
  }

  configurationOf(clientId: string): ClientConfiguration {
    return structuredClone(this.#client(clientId).configuration);
  }

  drift(clientId: string, values: Drift): void {
    const client = this.#client(clientId);
    const parsed = driftSchema.safeParse(values);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "values"}: ${issue.message}`,
      );
      throw new Error(`Invalid drift for emulated client "${clientId}": ${problems.join("; ")}`);
    }
    client.configuration = withChanges(client.configuration, parsed.data);
  }

  expireTokens(): void {
    this.#tokens.expireAll();
  }

  handle(request: ApiRequest, requestId: ResolvedRequestId): ApiReply {
    const pathname = pathnameOf(request.target);
    const method = effectiveMethodOf(request.method, request.headers);
    const context: ErrorContext = {
      requestId: requestId.requestId,
      endpoint: `${method} ${pathname}`,
      authContext: this.#authContextOf(request),
      now: this.#clock(),
    };
    if (requestId.tooLong) {
      return this.#error(400, context, [
        {
          code: "BAD_REQUEST",
          type: "TECHNICAL",
          message: `The X-Request-Id header must not be longer than ${REQUEST_ID_MAX_LENGTH} characters`,
        },
      ]);
    }
    const route = this.#routes[pathname];
    if (!route) {
      return this.#error(404, context, [
        { code: "UNKNOWN_ENTITY", type: "TECHNICAL", message: `No endpoint ${context.endpoint}` },
      ]);
    }
    const operation = route[method];
    if (!operation) {
      const allowed = Object.keys(route).join(", ");
      return this.#error(
        405,
        context,
        [
          {
            code: "METHOD_NOT_ALLOWED",
            type: "TECHNICAL",
            message: `Request method '${method}' is not supported`,
          },
        ],
        { allow: allowed },
      );
    }
    return operation(request, context);
  }

  #client(clientId: string): EmulatedClient {
    const client = this.#clients.get(clientId);
    if (!client) throw new Error(`The emulator has no client "${clientId}"`);
    return client;
  }

  #error(
    status: number,
    context: ErrorContext,
    entries: readonly ErrorEntry[],
    headers: Record<string, string> = {},
  ): ApiReply {
    return json(status, errorMessage(context, entries), { headers });
  }

  #authContextOf(request: ApiRequest): string {
    const accessToken = bearerTokenOf(request);
    const check = accessToken ? this.#tokens.check(accessToken) : undefined;
    return check?.valid ? `1/${this.#client(check.clientId).number}` : "-";
  }

  #clientWithCredentials(clientId: string | null, clientSecret: string | null): EmulatedClient | undefined {
    const client = clientId ? this.#clients.get(clientId) : undefined;
    if (!client || clientSecret === null) return undefined;
    return timingSafeEqual(client.secretDigest, digest(clientSecret)) ? client : undefined;
  }

  #getToken(request: ApiRequest): ApiReply {
    const oauthError = (status: number, body: BadCredentialsError, clientId?: string) =>
      json(status, body, { headers: NO_STORE, ...(clientId ? { clientId } : {}) });
    if (mediaTypeOf(request.headers) !== "application/x-www-form-urlencoded") {
      return oauthError(400, {
        error: "invalid_request",
        error_description: "The Content-Type must be application/x-www-form-urlencoded",
      });
    }
    const form = new URLSearchParams(request.body);
    const client = this.#clientWithCredentials(form.get("client_id"), form.get("client_secret"));
    if (!client) return oauthError(401, { error: "unauthorized", error_description: "Bad credentials" });
    const grantType = form.get("grant_type") ?? "";
    if (grantType !== "client_credentials") {
      return oauthError(400, GRANT_ERRORS[grantType] ?? UNSUPPORTED_GRANT, client.clientId);
    }
    const token = this.#tokens.issue(client.clientId, client.configuration.clientAccessTokensValidityPeriod);
    const body: AccessToken = {
      access_token: token.accessToken,
      token_type: "bearer",
      expires_in: token.expiresIn,
      scope: "all",
    };
    return json(200, body, { headers: NO_STORE, clientId: client.clientId });
  }

  #authenticate(request: ApiRequest): EmulatedClient | ApiReply {
    const accessToken = bearerTokenOf(request);
    const unauthorized = (body: BadCredentialsError, challenge: string) =>
      json(401, body, { headers: { "www-authenticate": challenge } });
    if (!accessToken) {
      return unauthorized(
        {
          error: "unauthorized",
          error_description: "Full authentication is required to access this resource",
        },
        'Bearer realm="finAPI"',
      );
    }
    const check = this.#tokens.check(accessToken);
    if (!check.valid) {
      const description = check.reason === "expired" ? "Access token expired" : "Invalid access token";
      return unauthorized(
        { error: "invalid_token", error_description: description },
        `Bearer realm="finAPI", error="invalid_token", error_description="${description}"`,
      );
    }
    return this.#client(check.clientId);
  }

  #getClientConfiguration(request: ApiRequest): ApiReply {
    const client = this.#authenticate(request);
    if ("status" in client) return client;
    return json(200, structuredClone(client.configuration), { clientId: client.clientId });
  }

  #editClientConfiguration(request: ApiRequest, context: ErrorContext): ApiReply {
    const client = this.#authenticate(request);
    if ("status" in client) return client;
    const rejected = (status: number, code: ErrorCode, entries: readonly Omit<ErrorEntry, "code">[]) => ({
      ...this.#error(
        status,
        context,
        entries.map((entry) => ({ ...entry, code })),
      ),
      clientId: client.clientId,
    });
    const mediaType = mediaTypeOf(request.headers);
    if (mediaType !== "application/json" && !/^application\/[^/]+\+json$/.test(mediaType)) {
      return rejected(415, "UNSUPPORTED_MEDIA_TYPE", [
        { type: "TECHNICAL", message: "The Content-Type must be application/json" },
      ]);
    }
    if (request.body.trim() === "") {
      return rejected(400, "BAD_REQUEST", [
        { type: "TECHNICAL", message: "Required request body is missing" },
      ]);
    }
    let body: unknown;
    try {
      body = JSON.parse(request.body);
    } catch {
      return rejected(400, "BAD_REQUEST", [
        { type: "TECHNICAL", message: "The request body is not valid JSON" },
      ]);
    }
    const validation = validatePatch(body, client.environment);
    if (!validation.ok) return rejected(400, "BAD_REQUEST", validation.errors);
    client.configuration = withChanges(client.configuration, validation.changes);
    return json(200, structuredClone(client.configuration), { clientId: client.clientId });
  }
}

function bearerTokenOf(request: ApiRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
}
