import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import type { ValidationError } from "./client-configuration.ts";

/*
 * finAPI's user bases as the emulator plays them: each holds its users (the clients of one user base
 * share them; sandbox, live and each mandator are separate user bases), the rules of POST /api/v1/users and the user tokens of the password grant.
 * Like the configuration rules, the user-id rule is the emulator's own copy, not functions/finapi/user.ts.
 */

const USER_ID_MAX_LENGTH = 36;
const USER_ID_PATTERN = /^[0-9A-Za-z\-_.+@]+$/;
const PASSWORD_MIN_LENGTH = 6;
const PASSWORD_MAX_LENGTH = 128;
const EMAIL_MAX_LENGTH = 320;
const PHONE_MAX_LENGTH = 50;
/** What finAPI shows instead of a password everywhere but in the answer to the user's creation. */
export const DISTORTED_PASSWORD = "XXXXX";

const userIdRule = `must be 1..${USER_ID_MAX_LENGTH} characters of 0-9 A-Z a-z - _ . + @`;
export const emulatedUserIdSchema = z
  .string({ error: "must be a string" })
  .min(1, { error: userIdRule })
  .max(USER_ID_MAX_LENGTH, { error: userIdRule })
  .regex(USER_ID_PATTERN, { error: userIdRule });

/** finAPI's `UserCreateParams`; `null` is what Jackson makes of a field that is not sent. */
export const userCreateParamsSchema = z.strictObject({
  id: emulatedUserIdSchema.nullish(),
  password: z
    .string({ error: "must be a string" })
    .min(PASSWORD_MIN_LENGTH, { error: `must be ${PASSWORD_MIN_LENGTH}..${PASSWORD_MAX_LENGTH} characters` })
    .max(PASSWORD_MAX_LENGTH, { error: `must be ${PASSWORD_MIN_LENGTH}..${PASSWORD_MAX_LENGTH} characters` })
    .nullish(),
  email: z
    .string({ error: "must be a string" })
    .max(EMAIL_MAX_LENGTH, { error: `must not be longer than ${EMAIL_MAX_LENGTH} characters` })
    .nullish(),
  phone: z
    .string({ error: "must be a string" })
    .max(PHONE_MAX_LENGTH, { error: `must not be longer than ${PHONE_MAX_LENGTH} characters` })
    .nullish(),
  isAutoUpdateEnabled: z.boolean({ error: "must be true or false" }).nullish(),
});
export type UserCreateParams = z.infer<typeof userCreateParamsSchema>;

/** finAPI's `UserIdentifiersParams`, the body of POST /api/v1/mandatorAdmin/deleteUsers. */
export const userIdentifiersParamsSchema = z.strictObject({
  userIds: z.array(z.string({ error: "must be a string" }), { error: "must be an array of user ids" }),
});

/** finAPI's `User`. */
export const finapiUserSchema = z.object({
  id: z.string(),
  password: z.string(),
  email: z.string().nullable(),
  phone: z.string().nullable(),
  isAutoUpdateEnabled: z.boolean(),
});
export type FinapiUser = z.infer<typeof finapiUserSchema>;

/** finAPI's `UserIdentifiersList`, the answer of POST /api/v1/mandatorAdmin/deleteUsers. */
export const userIdentifiersListSchema = z.object({
  deletedUsers: z.array(z.string()),
  nonDeletedUsers: z.array(z.string()),
});
export type UserIdentifiersList = z.infer<typeof userIdentifiersListSchema>;

/** A user put into a user base by hand (test or local-loop setup), bypassing the API. */
export const emulatedUserSpecSchema = z.strictObject({
  id: emulatedUserIdSchema,
  password: z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH),
  /** @default "sandbox" */
  userBase: z.string().min(1).optional(),
});
export type EmulatedUserSpec = z.input<typeof emulatedUserSpecSchema>;

/**
 * Every violation of a JSON body that Jackson would refuse or finAPI's rules reject, one message each,
 * never quoting a value (passwords travel in these bodies).
 */
export function bodyViolations(error: z.ZodError, className: string): ValidationError[] {
  return error.issues.flatMap((issue): ValidationError[] => {
    if (issue.code === "unrecognized_keys") {
      return issue.keys.map((key) => ({
        type: "TECHNICAL",
        message: `Unrecognized field "${key}" (class ${className}), not marked as ignorable`,
      }));
    }
    const path = issue.path.map(String).join(".");
    return [{ type: "BUSINESS", message: path === "" ? issue.message : `${path}: ${issue.message}` }];
  });
}

interface StoredUser {
  readonly id: string;
  readonly passwordDigest: Buffer;
  readonly email: string | null;
  readonly phone: string | null;
  readonly isAutoUpdateEnabled: boolean;
}

const digest = (text: string) => createHash("sha256").update(text).digest();

/* finAPI regards user ids case-insensitively: "Alice" and "alice" are one user. */
const keyOf = (userId: string) => userId.toLowerCase();

const asFinapiUser = (user: StoredUser, password: string): FinapiUser => ({
  id: user.id,
  password,
  email: user.email,
  phone: user.phone,
  isAutoUpdateEnabled: user.isAutoUpdateEnabled,
});

export type UserCreation =
  | { readonly ok: true; readonly user: FinapiUser }
  | { readonly ok: false; readonly reason: "exists" };

/** The users of one user base, shared by all of its clients. */
export class UserBase {
  readonly #users = new Map<string, StoredUser>();

  /** Creates the user; an absent id or password is generated, as finAPI does. */
  create(params: UserCreateParams): UserCreation {
    const id = params.id ?? randomUUID();
    if (this.#users.has(keyOf(id))) return { ok: false, reason: "exists" };
    const password = params.password ?? randomBytes(18).toString("base64url");
    const user: StoredUser = {
      id,
      passwordDigest: digest(password),
      email: params.email ?? null,
      phone: params.phone ?? null,
      isAutoUpdateEnabled: params.isAutoUpdateEnabled ?? false,
    };
    this.#users.set(keyOf(id), user);
    return { ok: true, user: asFinapiUser(user, password) };
  }

  /** The user with these credentials, compared in constant time. */
  authenticate(userId: string | null, password: string | null): FinapiUser | undefined {
    const user = userId === null ? undefined : this.#users.get(keyOf(userId));
    if (!user || password === null) return undefined;
    return timingSafeEqual(user.passwordDigest, digest(password))
      ? asFinapiUser(user, DISTORTED_PASSWORD)
      : undefined;
  }

  find(userId: string): FinapiUser | undefined {
    const user = this.#users.get(keyOf(userId));
    return user && asFinapiUser(user, DISTORTED_PASSWORD);
  }

  /** Deletes the user; returns the id as stored, or undefined when there is no such user. */
  delete(userId: string): string | undefined {
    const user = this.#users.get(keyOf(userId));
    if (!user) return undefined;
    this.#users.delete(keyOf(userId));
    return user.id;
  }

  ids(): string[] {
    return [...this.#users.values()].map((user) => user.id);
  }
}

interface IssuedUserToken {
  readonly accessToken: string;
  readonly clientId: string;
  readonly userId: string;
  /** ms epoch; `undefined` for a token that never expires (validity period 0). */
  expiresAt: number | undefined;
}

interface IssuedRefreshToken {
  readonly refreshToken: string;
  readonly clientId: string;
  readonly userId: string;
  readonly expiresAt: number | undefined;
}

export interface UserTokenGrant {
  readonly accessToken: string;
  readonly refreshToken: string;
  readonly expiresIn: number;
}

export type UserTokenCheck =
  | { readonly valid: true; readonly clientId: string; readonly userId: string }
  | { readonly valid: false; readonly reason: "unknown" | "expired" };

export interface UserTokenValidity {
  /** The client's userAccessTokensValidityPeriod (0: never expires). */
  readonly accessSeconds: number;
  /** The client's refreshTokensValidityPeriod (0: never expires). */
  readonly refreshSeconds: number;
}

/* 96 random bytes are 128 base64url characters, finAPI's maximum token length. */
const newToken = () => randomBytes(96).toString("base64url");
const expiry = (now: number, seconds: number) => (seconds === 0 ? undefined : now + seconds * 1000);
const hasExpired = (expiresAt: number | undefined, now: number) =>
  expiresAt !== undefined && now >= expiresAt;
/* Rounded up: a token with 0.4 s left must not report 0, which means "never expires". */
const secondsLeft = (expiresAt: number | undefined, now: number) =>
  expiresAt === undefined ? 0 : Math.ceil((expiresAt - now) / 1000);

/**
 * Access and refresh tokens of users, per client: while a user's token from a client is valid, asking
 * again with the same credentials returns the same token. Deleting a user revokes its tokens.
 */
export class UserTokens {
  readonly #clock: () => number;
  readonly #byAccessToken = new Map<string, IssuedUserToken>();
  readonly #currentBySession = new Map<string, IssuedUserToken>();
  readonly #byRefreshToken = new Map<string, IssuedRefreshToken>();

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** The password grant: the session's valid access token or a new one, and a new refresh token. */
  issue(clientId: string, userId: string, validity: UserTokenValidity): UserTokenGrant {
    const now = this.#clock();
    const refresh: IssuedRefreshToken = {
      refreshToken: newToken(),
      clientId,
      userId,
      expiresAt: expiry(now, validity.refreshSeconds),
    };
    this.#byRefreshToken.set(refresh.refreshToken, refresh);
    const access = this.#currentAccess(clientId, userId, validity.accessSeconds, now);
    return {
      accessToken: access.accessToken,
      refreshToken: refresh.refreshToken,
      expiresIn: secondsLeft(access.expiresAt, now),
    };
  }

  /** The refresh_token grant: a new access token for the refresh token's user, if the token is the client's. */
  refresh(clientId: string, refreshToken: string, accessSeconds: number): UserTokenGrant | undefined {
    const now = this.#clock();
    const refresh = this.#byRefreshToken.get(refreshToken);
    if (!refresh || refresh.clientId !== clientId || hasExpired(refresh.expiresAt, now)) return undefined;
    const current = this.#currentBySession.get(sessionOf(clientId, refresh.userId));
    if (current) current.expiresAt = now;
    const access = this.#currentAccess(clientId, refresh.userId, accessSeconds, now);
    return { accessToken: access.accessToken, refreshToken, expiresIn: secondsLeft(access.expiresAt, now) };
  }

  check(accessToken: string): UserTokenCheck {
    const token = this.#byAccessToken.get(accessToken);
    if (!token) return { valid: false, reason: "unknown" };
    if (hasExpired(token.expiresAt, this.#clock())) return { valid: false, reason: "expired" };
    return { valid: true, clientId: token.clientId, userId: token.userId };
  }

  /** Every token of the user stops existing, as the user does. */
  revokeUser(userId: string): void {
    const key = keyOf(userId);
    for (const [accessToken, token] of this.#byAccessToken) {
      if (keyOf(token.userId) === key) this.#byAccessToken.delete(accessToken);
    }
    for (const [session, token] of this.#currentBySession) {
      if (keyOf(token.userId) === key) this.#currentBySession.delete(session);
    }
    for (const [refreshToken, token] of this.#byRefreshToken) {
      if (keyOf(token.userId) === key) this.#byRefreshToken.delete(refreshToken);
    }
  }

  /** Every access token issued so far stops working now; refresh tokens keep working. */
  expireAll(): void {
    const now = this.#clock();
    for (const token of this.#byAccessToken.values()) token.expiresAt = now;
  }

  #currentAccess(clientId: string, userId: string, accessSeconds: number, now: number): IssuedUserToken {
    const session = sessionOf(clientId, userId);
    const current = this.#currentBySession.get(session);
    if (current && !hasExpired(current.expiresAt, now)) return current;
    if (current) this.#byAccessToken.delete(current.accessToken);
    const token: IssuedUserToken = {
      accessToken: newToken(),
      clientId,
      userId,
      expiresAt: expiry(now, accessSeconds),
    };
    this.#byAccessToken.set(token.accessToken, token);
    this.#currentBySession.set(session, token);
    return token;
  }
}

const sessionOf = (clientId: string, userId: string) => `${clientId}\n${keyOf(userId)}`;
