import { randomUUID } from "node:crypto";

/*
 * The few finAPI user calls the demo makes, as an app of the user base would make them: create a user
 * with a client token, log the user in (password grant) through another client, delete it with its own
 * token. Errors name the call and finAPI's status and messages, never a credential or token.
 */

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

async function finapiCall(url: string, what: string, init: RequestInit): Promise<unknown> {
  /* As the finAPI client does: a redirect would carry the secret or token elsewhere, so it is a failure. */
  const response = await fetch(url, { ...init, redirect: "manual" });
  const text = await response.text();
  if (response.status >= 300 && response.status <= 399) {
    const location = URL.parse(response.headers.get("location") ?? "", url);
    throw new Error(
      `${what} answered ${response.status}, a redirect to ${location?.origin ?? "no readable Location"}: not followed`,
    );
  }
  if (!response.ok) {
    let detail = "";
    try {
      const body = JSON.parse(text) as { errors?: { message?: string }[]; error_description?: string };
      detail = body.errors?.map((error) => error.message).join("; ") ?? body.error_description ?? "";
    } catch {
      detail = "";
    }
    throw new Error(`${what} failed with ${response.status}${detail ? `: ${detail}` : ""}`);
  }
  return text === "" ? undefined : (JSON.parse(text) as unknown);
}

const requestId = () => ({ "x-request-id": `local-demo-${randomUUID()}` });

async function tokenCall(baseUrl: string, form: Record<string, string>, what: string): Promise<string> {
  const body = (await finapiCall(`${baseUrl}/oauth/token`, what, {
    method: "POST",
    headers: { ...requestId(), "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(form).toString(),
  })) as { access_token?: unknown } | undefined;
  if (typeof body?.access_token !== "string") throw new Error(`${what} answered without an access token`);
  return body.access_token;
}

export const clientToken = (baseUrl: string, client: ClientCredentials) =>
  tokenCall(
    baseUrl,
    { grant_type: "client_credentials", client_id: client.clientId, client_secret: client.clientSecret },
    `POST /oauth/token (client ${client.clientId})`,
  );

export const userToken = (baseUrl: string, client: ClientCredentials, userId: string, password: string) =>
  tokenCall(
    baseUrl,
    {
      grant_type: "password",
      client_id: client.clientId,
      client_secret: client.clientSecret,
      username: userId,
      password,
    },
    `POST /oauth/token (user ${userId} through client ${client.clientId})`,
  );

export async function createUser(
  baseUrl: string,
  token: string,
  userId: string,
  password: string,
): Promise<void> {
  await finapiCall(`${baseUrl}/api/v1/users`, `POST /api/v1/users (${userId})`, {
    method: "POST",
    headers: { ...requestId(), authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ id: userId, password }),
  });
}

export async function deleteAuthorizedUser(baseUrl: string, token: string): Promise<void> {
  await finapiCall(`${baseUrl}/api/v1/users`, "DELETE /api/v1/users", {
    method: "DELETE",
    headers: { ...requestId(), authorization: `Bearer ${token}` },
  });
}
