import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import type { EmulatedClientSpec, FinapiEmulator } from "../../emulator/index.ts";
import { assertFinapiResponseConformsToOpenApi } from "../support/openapi-conformance.ts";

export interface CallInit {
  readonly method?: string;
  readonly path: string;
  /** Lower-case names. An `x-request-id` is added unless given; `undefined` leaves a header out. */
  readonly headers?: Readonly<Record<string, string | undefined>>;
  readonly body?: string;
}

export interface CallResult {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body, `undefined` for an empty one. */
  readonly body: unknown;
}

/** One real HTTP call to the emulator; the response is checked against finAPI's OpenAPI document. */
export async function call(emulator: FinapiEmulator, init: CallInit): Promise<CallResult> {
  const method = init.method ?? "GET";
  const headers = Object.fromEntries(
    Object.entries({ "x-request-id": `test-${randomUUID()}`, ...init.headers }).filter(
      (entry): entry is [string, string] => entry[1] !== undefined,
    ),
  );
  const response = await fetch(`${emulator.url}${init.path}`, {
    method,
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  const text = await response.text();
  assertFinapiResponseConformsToOpenApi(
    { method, path: init.path, headers },
    { status: response.status, headers: response.headers, body: text },
  );
  return {
    status: response.status,
    headers: response.headers,
    text,
    body: text === "" ? undefined : JSON.parse(text),
  };
}

export const FORM = { "content-type": "application/x-www-form-urlencoded" } as const;
export const JSON_CONTENT = { "content-type": "application/json" } as const;

export function tokenRequest(clientId: string, clientSecret: string): CallInit {
  return {
    method: "POST",
    path: "/oauth/token",
    headers: FORM,
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: clientId,
      client_secret: clientSecret,
    }).toString(),
  };
}

/** A client access token; `issued` (when given) collects it, so the test can scan output for it. */
export async function accessTokenOf(
  emulator: FinapiEmulator,
  clientId: string,
  clientSecret: string,
  issued?: Set<string>,
): Promise<string> {
  const result = await call(emulator, tokenRequest(clientId, clientSecret));
  const token = (result.body as { access_token?: unknown } | undefined)?.access_token;
  if (result.status !== 200 || typeof token !== "string") {
    throw new Error(`expected a token for ${clientId}, got ${result.status}`);
  }
  issued?.add(token);
  return token;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export function patchRequest(token: string, body: unknown, headers: Record<string, string> = {}): CallInit {
  return {
    method: "PATCH",
    path: "/api/v1/clientConfiguration",
    headers: { ...bearer(token), ...JSON_CONTENT, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export function getConfigurationRequest(token: string): CallInit {
  return { path: "/api/v1/clientConfiguration", headers: bearer(token) };
}

export function fixture(name: string): unknown {
  return JSON.parse(readFileSync(new URL(`../fixtures/finapi/${name}`, import.meta.url), "utf8"));
}

/** Registers a client with unique credentials, so that no test sees another's state or tokens. */
export function addFreshClient(
  emulator: FinapiEmulator,
  spec: Partial<EmulatedClientSpec> = {},
  secrets?: Set<string>,
): { clientId: string; clientSecret: string } {
  const client = { clientId: `client-${randomUUID()}`, clientSecret: `secret-${randomUUID()}`, ...spec };
  secrets?.add(client.clientSecret);
  emulator.addClient(client);
  return client;
}
