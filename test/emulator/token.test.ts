import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmulatedClientSpec, type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { assertConformsToFinapiOpenApi } from "../support/openapi-conformance.ts";
import {
  accessTokenOf,
  addFreshClient,
  call,
  FORM,
  getConfigurationRequest,
  JSON_CONTENT,
  patchRequest,
  tokenRequest,
} from "./finapi-calls.ts";
import { watchProcessOutput } from "./output-watch.ts";

describe("POST /oauth/token", () => {
  let emulator: FinapiEmulator;
  let now = Date.parse("2026-03-01T08:00:00.000Z");
  const secrets = new Set<string>();
  const output = watchProcessOutput();

  const newClient = (spec: Partial<EmulatedClientSpec> = {}) => addFreshClient(emulator, spec, secrets);

  beforeAll(async () => {
    emulator = await startFinapiEmulator({ clock: () => now });
  });

  afterAll(async () => {
    await emulator.close();
    output.restore();
    const printed = output.text();
    for (const secret of secrets) expect(printed).not.toContain(secret);
  });

  it("issues a bearer token valid for the client's clientAccessTokensValidityPeriod", async () => {
    const { clientId, clientSecret } = newClient({
      configuration: { clientAccessTokensValidityPeriod: 900 },
    });
    const result = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(result.status).toBe(200);
    expect(result.body).toEqual({
      access_token: expect.stringMatching(/^[\w-]{128}$/),
      token_type: "bearer",
      expires_in: 900,
      scope: "all",
    });
    expect(result.headers.get("cache-control")).toBe("no-store");
    const recorded = emulator.requests.at(-1);
    expect(recorded).toMatchObject({ method: "POST", path: "/oauth/token", status: 200, clientId });
    if (recorded) assertConformsToFinapiOpenApi(recorded);
    secrets.add((result.body as { access_token: string }).access_token);
  });

  it("returns the same token to the same credentials while it is valid, with the seconds it has left", async () => {
    const { clientId, clientSecret } = newClient();
    const first = await call(emulator, tokenRequest(clientId, clientSecret));
    now += 1_000_500;
    const second = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(second.body).toMatchObject({
      access_token: (first.body as { access_token: string }).access_token,
      expires_in: 2600,
    });
  });

  it("reports at least one second left rather than 0, which would mean the token never expires", async () => {
    const { clientId, clientSecret } = newClient({ configuration: { clientAccessTokensValidityPeriod: 60 } });
    await accessTokenOf(emulator, clientId, clientSecret, secrets);
    now += 59_600;
    const again = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(again.body).toMatchObject({ expires_in: 1 });
  });

  it("issues a token that never expires, with expires_in 0, when the validity period is 0", async () => {
    const { clientId, clientSecret } = newClient({ configuration: { clientAccessTokensValidityPeriod: 0 } });
    const result = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(result.body).toMatchObject({ expires_in: 0 });
    now += 10 * 365 * 24 * 3600 * 1000;
    const token = (result.body as { access_token: string }).access_token;
    secrets.add(token);
    expect((await call(emulator, getConfigurationRequest(token))).status).toBe(200);
  });

  it("rejects a token once its validity period has passed and issues a new one", async () => {
    const { clientId, clientSecret } = newClient();
    const expired = await accessTokenOf(emulator, clientId, clientSecret, secrets);
    now += 3_600_000;
    const rejected = await call(emulator, getConfigurationRequest(expired));
    expect(rejected.status).toBe(401);
    expect(rejected.body).toEqual({ error: "invalid_token", error_description: "Access token expired" });
    const renewed = await accessTokenOf(emulator, clientId, clientSecret, secrets);
    expect(renewed).not.toBe(expired);
    expect((await call(emulator, getConfigurationRequest(renewed))).status).toBe(200);
  });

  it("applies a changed validity period to newly issued tokens only", async () => {
    const { clientId, clientSecret } = newClient();
    const token = await accessTokenOf(emulator, clientId, clientSecret, secrets);
    await call(emulator, patchRequest(token, { clientAccessTokensValidityPeriod: 120 }));
    const same = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(same.body).toMatchObject({ access_token: token, expires_in: 3600 });
    now += 3_600_000;
    const fresh = await call(emulator, tokenRequest(clientId, clientSecret));
    expect(fresh.body).toMatchObject({ expires_in: 120 });
    secrets.add((fresh.body as { access_token: string }).access_token);
  });

  it("gives each client its own token", async () => {
    const first = newClient();
    const second = newClient();
    const firstToken = await accessTokenOf(emulator, first.clientId, first.clientSecret, secrets);
    const secondToken = await accessTokenOf(emulator, second.clientId, second.clientSecret, secrets);
    expect(firstToken).not.toBe(secondToken);
  });

  it("invalidates every issued token on expireTokens, so the next API call gets 401 and a new token works", async () => {
    const { clientId, clientSecret } = newClient({ configuration: { clientAccessTokensValidityPeriod: 0 } });
    const token = await accessTokenOf(emulator, clientId, clientSecret, secrets);
    emulator.expireTokens();
    expect((await call(emulator, getConfigurationRequest(token))).status).toBe(401);
    const renewed = await accessTokenOf(emulator, clientId, clientSecret, secrets);
    expect(renewed).not.toBe(token);
    expect((await call(emulator, getConfigurationRequest(renewed))).status).toBe(200);
  });

  it.each([
    ["a wrong secret", (id: string) => ({ client_id: id, client_secret: "wrong-secret" })],
    ["an unknown client id", () => ({ client_id: "nobody", client_secret: "wrong-secret" })],
    ["no secret", (id: string) => ({ client_id: id })],
    ["no client id", () => ({ client_secret: "wrong-secret" })],
  ])("answers %s with 401 Bad credentials", async (_, credentials) => {
    const { clientId } = newClient();
    const result = await call(emulator, {
      method: "POST",
      path: "/oauth/token",
      headers: FORM,
      body: new URLSearchParams({ grant_type: "client_credentials", ...credentials(clientId) }).toString(),
    });
    expect(result.status).toBe(401);
    expect(result.body).toEqual({ error: "unauthorized", error_description: "Bad credentials" });
    expect(result.text).not.toContain("wrong-secret");
  });

  it.each([
    ["no grant type", undefined, { error: "invalid_request", error_description: "Missing grant type" }],
    ["an empty grant type", "", { error: "invalid_request", error_description: "Missing grant type" }],
    [
      "an unsupported grant type",
      "authorization_code",
      { error: "unsupported_grant_type", error_description: "Unsupported grant type" },
    ],
    [
      "a user login (no users exist)",
      "password",
      { error: "invalid_grant", error_description: "Bad credentials" },
    ],
    [
      "a refresh token",
      "refresh_token",
      { error: "invalid_grant", error_description: "Invalid refresh token" },
    ],
  ])("answers %s with 400 in the OAuth error style", async (_, grantType, expected) => {
    const { clientId, clientSecret } = newClient();
    const form = new URLSearchParams({ client_id: clientId, client_secret: clientSecret });
    if (grantType !== undefined) form.set("grant_type", grantType);
    const result = await call(emulator, {
      method: "POST",
      path: "/oauth/token",
      headers: FORM,
      body: form.toString(),
    });
    expect(result.status).toBe(400);
    expect(result.body).toEqual(expected);
  });

  it("checks the credentials before the grant type, as finAPI's OAuth server does", async () => {
    const result = await call(emulator, {
      method: "POST",
      path: "/oauth/token",
      headers: FORM,
      body: "grant_type=authorization_code&client_id=nobody&client_secret=wrong-secret",
    });
    expect(result.status).toBe(401);
  });

  it("rejects a body that is not form-encoded with 400", async () => {
    const { clientId, clientSecret } = newClient();
    const result = await call(emulator, {
      method: "POST",
      path: "/oauth/token",
      headers: JSON_CONTENT,
      body: JSON.stringify({
        grant_type: "client_credentials",
        client_id: clientId,
        client_secret: clientSecret,
      }),
    });
    expect(result.status).toBe(400);
    expect(result.body).toEqual({
      error: "invalid_request",
      error_description: "The Content-Type must be application/x-www-form-urlencoded",
    });
    expect(result.text).not.toContain(clientSecret);
  });

  it("accepts a form content type with a charset parameter", async () => {
    const { clientId, clientSecret } = newClient();
    const request = tokenRequest(clientId, clientSecret);
    const result = await call(emulator, {
      ...request,
      headers: { "content-type": "application/x-www-form-urlencoded; charset=UTF-8" },
    });
    expect(result.status).toBe(200);
    secrets.add((result.body as { access_token: string }).access_token);
  });
});
