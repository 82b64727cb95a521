import { createHash, randomUUID, timingSafeEqual } from "node:crypto";
import type * as z from "zod";
import type { UserSyncCallback } from "./callbacks.ts";
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
import {
  bodyViolations,
  type EmulatedUserSpec,
  emulatedUserSpecSchema,
  type FinapiUser,
  UserBase,
  type UserIdentifiersList,
  type UserTokenGrant,
  UserTokens,
  userCreateParamsSchema,
  userIdentifiersParamsSchema,
} from "./users.ts";

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
  /** Notifications to send once the reply is out: the users this request deleted, to every client's callback. */
  readonly callbacks?: readonly UserSyncCallback[];
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
  /** The label of the user base the client belongs to. */
  readonly userBase: string;
  /** finAPI's authContext names the mandator and the client by number. */
  readonly number: number;
  configuration: ClientConfiguration;
}

/**
 * One finAPI user base (sandbox, live and each mandator have their own): its users and their tokens.
 * The same user id in two user bases is two users.
 */
interface EmulatedUserBase {
  readonly users: UserBase;
  readonly tokens: UserTokens;
  /** The environment of its clients, once one joined: a user base never spans two environments. */
  environment: EmulatedEnvironment | undefined;
}

/** The user base users are put into by hand when none is named, and that of sandbox clients by default. */
export const DEFAULT_USER_BASE = "sandbox";

/** Who a bearer token belongs to: a client itself, or a user who logged in through a client. */
type Caller =
  | { readonly kind: "client"; readonly client: EmulatedClient }
  | { readonly kind: "user"; readonly client: EmulatedClient; readonly user: FinapiUser };

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

/* finAPI's OAuth server answers grant errors the RFC 6749 5.2 way. */
const MISSING_GRANT_TYPE: BadCredentialsError = {
  error: "invalid_request",
  error_description: "Missing grant type",
};
const BAD_USER_CREDENTIALS: BadCredentialsError = {
  error: "invalid_grant",
  error_description: "Bad credentials",
};
const INVALID_REFRESH_TOKEN: BadCredentialsError = {
  error: "invalid_grant",
  error_description: "Invalid refresh token",
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
  readonly #userBases = new Map<string, EmulatedUserBase>();
  readonly #routes: Readonly<Record<string, Readonly<Record<string, Operation>>>> = {
    "/oauth/token": { POST: (request) => this.#getToken(request) },
    "/api/v1/clientConfiguration": {
      GET: (request, context) => this.#getClientConfiguration(request, context),
      PATCH: (request, context) => this.#editClientConfiguration(request, context),
    },
    "/api/v1/users": {
      GET: (request, context) => this.#getAuthorizedUser(request, context),
      POST: (request, context) => this.#createUser(request, context),
      DELETE: (request, context) => this.#deleteAuthorizedUser(request, context),
    },
    "/api/v1/mandatorAdmin/deleteUsers": {
      POST: (request, context) => this.#deleteUsers(request, context),
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
    const { clientId, clientSecret, environment, configuration, mandatorAdmin } = parsed.data;
    const userBaseLabel = parsed.data.userBase ?? environment;
    if (this.#clients.has(clientId)) throw new Error(`The emulator already has a client "${clientId}"`);
    const userBase = this.#userBase(userBaseLabel);
    if (userBase.environment !== undefined && userBase.environment !== environment) {
      throw new Error(
        `Invalid emulated client "${clientId}": user base "${userBaseLabel}" holds ${userBase.environment} clients, and a user base never spans two environments`,
      );
    }
    const validation = validatePatch(configuration ?? {}, environment);
    if (!validation.ok) {
      const problems = validation.errors.map((error) => error.message);
      throw new Error(`Invalid configuration for emulated client "${clientId}": ${problems.join("; ")}`);
    }
    userBase.environment = environment;
    this.#clients.set(clientId, {
      clientId,
      secretDigest: digest(clientSecret),
      environment,
      userBase: userBaseLabel,
      number: this.#clients.size + 1,
      configuration: {
        ...withChanges(initialClientConfiguration(environment), validation.changes),
        isMandatorAdmin: mandatorAdmin,
      },
    });
  }

  addUser(spec: EmulatedUserSpec): void {
    const parsed = emulatedUserSpecSchema.safeParse(spec);
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (issue) => `${issue.path.join(".") || "spec"}: ${issue.message}`,
      );
      throw new Error(`Invalid emulated user: ${problems.join("; ")}`);
    }
    const { userBase = DEFAULT_USER_BASE, ...user } = parsed.data;
    const created = this.#userBase(userBase).users.create(user);
    if (!created.ok) {
      throw new Error(`The emulator already has a user "${parsed.data.id}" in user base "${userBase}"`);
    }
  }

  userIds(userBase: string = DEFAULT_USER_BASE): string[] {
    return this.#userBases.get(userBase)?.users.ids() ?? [];
  }

  /** The user base with this label, created empty on first use. */
  #userBase(label: string): EmulatedUserBase {
    let userBase = this.#userBases.get(label);
    if (!userBase) {
      userBase = { users: new UserBase(), tokens: new UserTokens(this.#clock), environment: undefined };
      this.#userBases.set(label, userBase);
    }
    return userBase;
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
    for (const userBase of this.#userBases.values()) userBase.tokens.expireAll();
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
    const caller = this.#callerOf(bearerTokenOf(request));
    return "kind" in caller ? `1/${caller.client.number}` : "-";
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
    const granted = (body: AccessToken) => json(200, body, { headers: NO_STORE, clientId: client.clientId });
    const userGrant = (grant: UserTokenGrant | undefined, refused: BadCredentialsError) =>
      grant
        ? granted({
            access_token: grant.accessToken,
            token_type: "bearer",
            refresh_token: grant.refreshToken,
            expires_in: grant.expiresIn,
            scope: "all",
          })
        : oauthError(400, refused, client.clientId);
    const { configuration } = client;
    const { users, tokens } = this.#userBase(client.userBase);
    switch (form.get("grant_type") ?? "") {
      case "client_credentials": {
        const token = this.#tokens.issue(client.clientId, configuration.clientAccessTokensValidityPeriod);
        return granted({
          access_token: token.accessToken,
          token_type: "bearer",
          expires_in: token.expiresIn,
          scope: "all",
        });
      }
      case "password": {
        const user = users.authenticate(form.get("username"), form.get("password"));
        const grant =
          user &&
          tokens.issue(client.clientId, user.id, {
            accessSeconds: configuration.userAccessTokensValidityPeriod,
            refreshSeconds: configuration.refreshTokensValidityPeriod,
          });
        return userGrant(grant, BAD_USER_CREDENTIALS);
      }
      case "refresh_token": {
        const refreshToken = form.get("refresh_token");
        const grant =
          refreshToken === null
            ? undefined
            : tokens.refresh(client.clientId, refreshToken, configuration.userAccessTokensValidityPeriod);
        return userGrant(grant, INVALID_REFRESH_TOKEN);
      }
      case "":
        return oauthError(400, MISSING_GRANT_TYPE, client.clientId);
      default:
        return oauthError(400, UNSUPPORTED_GRANT, client.clientId);
    }
  }

  /** The client or user a bearer token belongs to, or why it does not authenticate. */
  #callerOf(
    accessToken: string | undefined,
  ): Caller | { readonly reason: "missing" | "unknown" | "expired" } {
    if (!accessToken) return { reason: "missing" };
    const clientCheck = this.#tokens.check(accessToken);
    if (clientCheck.valid) return { kind: "client", client: this.#client(clientCheck.clientId) };
    let expired = clientCheck.reason === "expired";
    for (const { users, tokens } of this.#userBases.values()) {
      const userCheck = tokens.check(accessToken);
      if (userCheck.valid) {
        const user = users.find(userCheck.userId);
        if (user) return { kind: "user", client: this.#client(userCheck.clientId), user };
        return { reason: "unknown" };
      }
      expired ||= userCheck.reason === "expired";
    }
    return { reason: expired ? "expired" : "unknown" };
  }

  /**
   * The caller, if its bearer token is valid and its role (a client itself, or a user through a
   * client) may call the service; otherwise finAPI's 401 or 403.
   */
  #authenticate<Role extends Caller["kind"]>(
    request: ApiRequest,
    context: ErrorContext,
    role: Role,
  ): Extract<Caller, { kind: Role }> | ApiReply {
    const unauthorized = (body: BadCredentialsError, challenge: string) =>
      json(401, body, { headers: { "www-authenticate": challenge } });
    const caller = this.#callerOf(bearerTokenOf(request));
    if (!("kind" in caller)) {
      if (caller.reason === "missing") {
        return unauthorized(
          {
            error: "unauthorized",
            error_description: "Full authentication is required to access this resource",
          },
          'Bearer realm="finAPI"',
        );
      }
      const description = caller.reason === "expired" ? "Access token expired" : "Invalid access token";
      return unauthorized(
        { error: "invalid_token", error_description: description },
        `Bearer realm="finAPI", error="invalid_token", error_description="${description}"`,
      );
    }
    if (caller.kind !== role) {
      return {
        ...this.#error(403, context, [
          { code: "UNAUTHORIZED_ACCESS", type: "TECHNICAL", message: "Access is denied" },
        ]),
        clientId: caller.client.clientId,
      };
    }
    return caller as Extract<Caller, { kind: Role }>;
  }

  /** The request's JSON body, or finAPI's 415 or 400 when it has none or it is not JSON. */
  #jsonBody(request: ApiRequest, context: ErrorContext, clientId: string): { value: unknown } | ApiReply {
    const rejected = (status: number, code: ErrorCode, message: string) => ({
      ...this.#error(status, context, [{ code, type: "TECHNICAL", message }]),
      clientId,
    });
    const mediaType = mediaTypeOf(request.headers);
    if (mediaType !== "application/json" && !/^application\/[^/]+\+json$/.test(mediaType)) {
      return rejected(415, "UNSUPPORTED_MEDIA_TYPE", "The Content-Type must be application/json");
    }
    if (request.body.trim() === "") {
      return rejected(400, "BAD_REQUEST", "Required request body is missing");
    }
    try {
      return { value: JSON.parse(request.body) as unknown };
    } catch {
      return rejected(400, "BAD_REQUEST", "The request body is not valid JSON");
    }
  }

  /** A JSON object body that `schema` (finAPI's `schemaName`) accepts, or finAPI's 400/415 answer. */
  #objectBody<T>(
    request: ApiRequest,
    context: ErrorContext,
    clientId: string,
    schema: z.ZodType<T>,
    schemaName: string,
  ): { data: T } | ApiReply {
    const body = this.#jsonBody(request, context, clientId);
    if ("status" in body) return body;
    if (!isJsonObject(body.value)) {
      return this.#rejected(400, "BAD_REQUEST", context, clientId, [
        { type: "TECHNICAL", message: `The request body must be a JSON object (${schemaName})` },
      ]);
    }
    const params = schema.safeParse(body.value);
    if (!params.success) {
      return this.#rejected(400, "BAD_REQUEST", context, clientId, bodyViolations(params.error, schemaName));
    }
    return { data: params.data };
  }

  #rejected(
    status: number,
    code: ErrorCode,
    context: ErrorContext,
    clientId: string,
    entries: readonly Omit<ErrorEntry, "code">[],
  ): ApiReply {
    return {
      ...this.#error(
        status,
        context,
        entries.map((entry) => ({ ...entry, code })),
      ),
      clientId,
    };
  }

  #getClientConfiguration(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "client");
    if ("status" in caller) return caller;
    const { client } = caller;
    return json(200, structuredClone(client.configuration), { clientId: client.clientId });
  }

  #editClientConfiguration(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "client");
    if ("status" in caller) return caller;
    const { client } = caller;
    const body = this.#jsonBody(request, context, client.clientId);
    if ("status" in body) return body;
    const validation = validatePatch(body.value, client.environment);
    if (!validation.ok) {
      return this.#rejected(400, "BAD_REQUEST", context, client.clientId, validation.errors);
    }
    client.configuration = withChanges(client.configuration, validation.changes);
    return json(200, structuredClone(client.configuration), { clientId: client.clientId });
  }

  #createUser(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "client");
    if ("status" in caller) return caller;
    const { client } = caller;
    const params = this.#objectBody(
      request,
      context,
      client.clientId,
      userCreateParamsSchema,
      "UserCreateParams",
    );
    if ("status" in params) return params;
    if (params.data.isAutoUpdateEnabled && !client.configuration.isAutomaticBatchUpdateEnabled) {
      return this.#rejected(422, "ILLEGAL_ENTITY_STATE", context, client.clientId, [
        {
          type: "BUSINESS",
          message:
            "The automatic batch update is disabled for your client, so it cannot be enabled for a user",
        },
      ]);
    }
    const created = this.#userBase(client.userBase).users.create(params.data);
    if (!created.ok) {
      return this.#rejected(422, "ENTITY_EXISTS", context, client.clientId, [
        { type: "BUSINESS", message: "A user with this id already exists (user ids ignore case)" },
      ]);
    }
    return json(201, created.user, { clientId: client.clientId });
  }

  #getAuthorizedUser(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "user");
    if ("status" in caller) return caller;
    return json(200, caller.user, { clientId: caller.client.clientId });
  }

  #deleteAuthorizedUser(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "user");
    if ("status" in caller) return caller;
    const { userBase } = caller.client;
    const deleted = this.#deleteUser(userBase, caller.user.id);
    return {
      status: 200,
      body: undefined,
      clientId: caller.client.clientId,
      callbacks: deleted ? this.#userSyncCallbacks(userBase, [deleted]) : [],
    };
  }

  #deleteUsers(request: ApiRequest, context: ErrorContext): ApiReply {
    const caller = this.#authenticate(request, context, "client");
    if ("status" in caller) return caller;
    const { client } = caller;
    if (!client.configuration.isMandatorAdmin) {
      return this.#rejected(403, "UNAUTHORIZED_ACCESS", context, client.clientId, [
        { type: "TECHNICAL", message: "Access is denied: only a mandator admin client may delete users" },
      ]);
    }
    const params = this.#objectBody(
      request,
      context,
      client.clientId,
      userIdentifiersParamsSchema,
      "UserIdentifiersParams",
    );
    if ("status" in params) return params;
    /* Ids of users that do not exist are ignored entirely, as finAPI documents. */
    /* A mandator admin deletes users of its own user base only. */
    const deleted = params.data.userIds.flatMap((userId) => this.#deleteUser(client.userBase, userId) ?? []);
    const answer: UserIdentifiersList = { deletedUsers: [...deleted].sort(), nonDeletedUsers: [] };
    return json(200, answer, {
      clientId: client.clientId,
      callbacks: this.#userSyncCallbacks(client.userBase, deleted),
    });
  }

  #deleteUser(userBaseLabel: string, userId: string): string | undefined {
    const userBase = this.#userBase(userBaseLabel);
    const deleted = userBase.users.delete(userId);
    if (deleted) userBase.tokens.revokeUser(deleted);
    return deleted;
  }

  /*
   * finAPI notifies every client of the user base that has a callback URL, the deleting client
   * included, once each; clients of other user bases hear nothing.
   */
  #userSyncCallbacks(userBase: string, deletedUserIds: readonly string[]): UserSyncCallback[] {
    return deletedUserIds.flatMap((userId) =>
      [...this.#clients.values()].flatMap((client) => {
        const url = client.configuration.userSynchronizationCallbackUrl;
        return url && client.userBase === userBase
          ? [
              {
                clientId: client.clientId,
                userBase,
                url,
                notification: { userId, event: "DELETED" as const },
              },
            ]
          : [];
      }),
    );
  }
}

const isJsonObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

function bearerTokenOf(request: ApiRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? "")?.[1];
}
