import { randomBytes } from "node:crypto";

interface IssuedToken {
  readonly accessToken: string;
  readonly clientId: string;
  /** ms epoch; `undefined` for a token that never expires (validity period 0). */
  expiresAt: number | undefined;
}

export type TokenCheck =
  | { readonly valid: true; readonly clientId: string }
  | { readonly valid: false; readonly reason: "unknown" | "expired" };

/**
 * Client access tokens, as finAPI hands them out: while a client's token is valid, asking again with
 * the same credentials returns the same token, with the seconds it has left.
 */
export class ClientTokens {
  readonly #clock: () => number;
  readonly #byAccessToken = new Map<string, IssuedToken>();
  readonly #currentByClient = new Map<string, IssuedToken>();

  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** The client's valid token, or a new one valid for `validitySeconds` (0: never expires). */
  issue(clientId: string, validitySeconds: number): { accessToken: string; expiresIn: number } {
    const now = this.#clock();
    const current = this.#currentByClient.get(clientId);
    if (current && !this.#hasExpired(current, now)) {
      return { accessToken: current.accessToken, expiresIn: secondsLeft(current, now) };
    }
    if (current) this.#byAccessToken.delete(current.accessToken);
    const token: IssuedToken = {
      // 96 random bytes are 128 base64url characters, finAPI's maximum token length.
      accessToken: randomBytes(96).toString("base64url"),
      clientId,
      expiresAt: validitySeconds === 0 ? undefined : now + validitySeconds * 1000,
    };
    this.#byAccessToken.set(token.accessToken, token);
    this.#currentByClient.set(clientId, token);
    return { accessToken: token.accessToken, expiresIn: secondsLeft(token, now) };
  }

  check(accessToken: string): TokenCheck {
    const token = this.#byAccessToken.get(accessToken);
    if (!token) return { valid: false, reason: "unknown" };
    if (this.#hasExpired(token, this.#clock())) return { valid: false, reason: "expired" };
    return { valid: true, clientId: token.clientId };
  }

  /** Every token issued so far stops working now; the next token request gets a new one. */
  expireAll(): void {
    const now = this.#clock();
    for (const token of this.#byAccessToken.values()) token.expiresAt = now;
  }

  #hasExpired(token: IssuedToken, now: number): boolean {
    return token.expiresAt !== undefined && now >= token.expiresAt;
  }
}

/* Rounded up: a token with 0.4 s left must not report 0, which means "never expires". */
function secondsLeft(token: IssuedToken, now: number): number {
  return token.expiresAt === undefined ? 0 : Math.ceil((token.expiresAt - now) / 1000);
}
