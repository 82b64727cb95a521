import { randomUUID } from "node:crypto";
import { createServer, type IncomingMessage } from "node:http";
import type { FinapiEmulator } from "../../emulator/index.ts";
import { listen } from "../../local/listen.ts";

/*
 * Calls of the user services, which the OpenAPI subset in test/fixtures/finapi/ does not cover: plain
 * fetch, the answers checked against the emulator's own zod schemas by the tests.
 */

export interface UserCallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly body: unknown;
}

export async function userCall(
  emulator: FinapiEmulator,
  init: { method: string; path: string; headers?: Record<string, string>; body?: string },
): Promise<UserCallResult> {
  const response = await fetch(`${emulator.url}${init.path}`, {
    method: init.method,
    headers: { "x-request-id": `test-${randomUUID()}`, ...init.headers },
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text === "" ? undefined : JSON.parse(text),
  };
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const JSON_CONTENT = { "content-type": "application/json" };
const FORM = { "content-type": "application/x-www-form-urlencoded" };

export const createUser = (emulator: FinapiEmulator, clientToken: string, params: unknown) =>
  userCall(emulator, {
    method: "POST",
    path: "/api/v1/users",
    headers: { ...bearer(clientToken), ...JSON_CONTENT },
    body: typeof params === "string" ? params : JSON.stringify(params),
  });

export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

export const passwordGrant = (
  emulator: FinapiEmulator,
  client: ClientCredentials,
  username: string,
  password: string,
) =>
  userCall(emulator, {
    method: "POST",
    path: "/oauth/token",
    headers: FORM,
    body: new URLSearchParams({
      grant_type: "password",
      client_id: client.clientId,
      client_secret: client.clientSecret,
      username,
      password,
    }).toString(),
  });

export const refreshGrant = (emulator: FinapiEmulator, client: ClientCredentials, refreshToken: string) =>
  userCall(emulator, {
    method: "POST",
    path: "/oauth/token",
    headers: FORM,
    body: new URLSearchParams({
      grant_type: "refresh_token",
      client_id: client.clientId,
      client_secret: client.clientSecret,
      refresh_token: refreshToken,
    }).toString(),
  });

/** A user's access token through `client`; `issued` collects it and the refresh token for the secret scan. */
export async function userTokenOf(
  emulator: FinapiEmulator,
  client: ClientCredentials,
  username: string,
  password: string,
  issued?: Set<string>,
): Promise<string> {
  const result = await passwordGrant(emulator, client, username, password);
  const body = result.body as { access_token?: unknown; refresh_token?: unknown } | undefined;
  if (result.status !== 200 || typeof body?.access_token !== "string") {
    throw new Error(`expected a user token, got ${result.status}`);
  }
  issued?.add(body.access_token);
  if (typeof body.refresh_token === "string") issued?.add(body.refresh_token);
  return body.access_token;
}

export const getAuthorizedUser = (emulator: FinapiEmulator, token: string) =>
  userCall(emulator, { method: "GET", path: "/api/v1/users", headers: bearer(token) });

export const deleteAuthorizedUser = (emulator: FinapiEmulator, token: string) =>
  userCall(emulator, { method: "DELETE", path: "/api/v1/users", headers: bearer(token) });

export const deleteUsers = (emulator: FinapiEmulator, clientToken: string, body: unknown) =>
  userCall(emulator, {
    method: "POST",
    path: "/api/v1/mandatorAdmin/deleteUsers",
    headers: { ...bearer(clientToken), ...JSON_CONTENT },
    body: JSON.stringify(body),
  });

export interface ReceivedCallback {
  readonly path: string;
  readonly contentType: string | undefined;
  readonly body: unknown;
}

export interface CallbackReceiver {
  readonly url: string;
  readonly received: ReceivedCallback[];
  /** The status the next callbacks are answered with. */
  answerWith(status: number): void;
  close(): Promise<void>;
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** An HTTP server standing in for the clients' callback endpoints: it records every POST. */
export async function startCallbackReceiver(): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  let status = 202;
  const server = createServer(async (request, response) => {
    const text = await readBody(request);
    received.push({
      path: request.url ?? "/",
      contentType: request.headers["content-type"],
      body: JSON.parse(text) as unknown,
    });
    response.writeHead(status).end();
  });
  const { url } = await listen(server, { purpose: "the callback receiver" });
  return {
    url,
    received,
    answerWith: (next) => {
      status = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
