import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type EmulatedClientSpec, type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { assertConformsToFinapiOpenApi } from "../support/openapi-conformance.ts";
import {
  accessTokenOf,
  addFreshClient,
  bearer,
  call,
  fixture,
  getConfigurationRequest,
  JSON_CONTENT,
  patchRequest,
} from "./finapi-calls.ts";
import { watchProcessOutput } from "./output-watch.ts";

const NOW = Date.parse("2026-03-01T08:00:00.000Z");
const ALL_FIVE_FIELDS = fixture("patch-all-five-fields.json") as Record<string, unknown>;
const EVERY_RULE_BROKEN = fixture("patch-one-valid-field-and-every-rule-broken.json");
const SECRET_PATH_PARTS = ["callback-path-secret-0c5f", "callback-path-secret-9a1d"];

let emulator: FinapiEmulator;
const secrets = new Set<string>(SECRET_PATH_PARTS);
const output = watchProcessOutput();

beforeAll(async () => {
  emulator = await startFinapiEmulator({ clock: () => NOW });
});

afterAll(async () => {
  await emulator.close();
  output.restore();
  const printed = output.text();
  for (const secret of secrets) expect(printed).not.toContain(secret);
});

/** A fresh client and a token for it. */
async function clientWithToken(spec: Partial<EmulatedClientSpec> = {}) {
  const client = addFreshClient(emulator, spec, secrets);
  return { ...client, token: await accessTokenOf(emulator, client.clientId, client.clientSecret, secrets) };
}

function lastRequestConforms(): void {
  const recorded = emulator.requests.at(-1);
  expect(recorded).toBeDefined();
  if (recorded) assertConformsToFinapiOpenApi(recorded);
}

const errorsOf = (body: unknown) =>
  (body as { errors: { message: string; type: string; code: string }[] }).errors;

describe("GET /api/v1/clientConfiguration", () => {
  it("answers the full ClientConfiguration with the client's five fields, an unset URL as null", async () => {
    const { clientId, token } = await clientWithToken({
      configuration: {
        userSynchronizationCallbackUrl: "https://app.example.com/sync",
        refreshTokensValidityPeriod: 7200,
      },
    });
    const result = await call(emulator, getConfigurationRequest(token));
    lastRequestConforms();
    expect(result.status).toBe(200);
    expect(result.body).toEqual(emulator.configurationOf(clientId));
    expect(result.body).toMatchObject({
      userNotificationCallbackUrl: null,
      userSynchronizationCallbackUrl: "https://app.example.com/sync",
      refreshTokensValidityPeriod: 7200,
      userAccessTokensValidityPeriod: 3600,
      clientAccessTokensValidityPeriod: 3600,
    });
    expect(emulator.requests.at(-1)).toMatchObject({ status: 200, clientId });
  });

  it.each([
    [
      "no Authorization header",
      {},
      { error: "unauthorized", error_description: "Full authentication is required to access this resource" },
    ],
    [
      "an unknown token",
      bearer("made-up-token-4711"),
      { error: "invalid_token", error_description: "Invalid access token" },
    ],
    [
      "another scheme than Bearer",
      { authorization: "Basic bWFkZS11cDp0b2tlbg==" },
      { error: "unauthorized", error_description: "Full authentication is required to access this resource" },
    ],
  ])("answers %s with 401 BadCredentialsError", async (_, headers, expected) => {
    const result = await call(emulator, { path: "/api/v1/clientConfiguration", headers });
    expect(result.status).toBe(401);
    expect(result.body).toEqual(expected);
    expect(result.headers.get("www-authenticate")).toMatch(/^Bearer realm="finAPI"/);
    expect(result.text).not.toContain("made-up-token-4711");
  });

  it("keeps two clients' configurations apart", async () => {
    const first = await clientWithToken();
    const second = await clientWithToken();
    await call(emulator, patchRequest(first.token, { userAccessTokensValidityPeriod: 600 }));
    const firstView = await call(emulator, getConfigurationRequest(first.token));
    const secondView = await call(emulator, getConfigurationRequest(second.token));
    expect(firstView.body).toMatchObject({ userAccessTokensValidityPeriod: 600 });
    expect(secondView.body).toMatchObject({ userAccessTokensValidityPeriod: 3600 });
    expect(emulator.configurationOf(second.clientId).userAccessTokensValidityPeriod).toBe(3600);
  });
});

describe("PATCH /api/v1/clientConfiguration", () => {
  it("sets all five fields and answers the new full ClientConfiguration", async () => {
    const { clientId, token } = await clientWithToken();
    const result = await call(emulator, patchRequest(token, ALL_FIVE_FIELDS));
    lastRequestConforms();
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject(ALL_FIVE_FIELDS);
    expect(emulator.configurationOf(clientId)).toEqual(result.body);
  });

  it("changes only the fields the body names", async () => {
    const { clientId, token } = await clientWithToken({ configuration: ALL_FIVE_FIELDS });
    const before = emulator.configurationOf(clientId);
    const result = await call(emulator, patchRequest(token, { refreshTokensValidityPeriod: 120 }));
    expect(result.body).toEqual({ ...before, refreshTokensValidityPeriod: 120 });
  });

  it('clears a URL sent as "" and reports it as null', async () => {
    const { clientId, token } = await clientWithToken({ configuration: ALL_FIVE_FIELDS });
    const result = await call(emulator, patchRequest(token, { userNotificationCallbackUrl: "" }));
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ userNotificationCallbackUrl: null });
    expect(emulator.configurationOf(clientId).userNotificationCallbackUrl).toBeNull();
  });

  it("leaves a field sent as null unchanged, as finAPI's JSON binding reads null as not sent", async () => {
    const { clientId, token } = await clientWithToken({ configuration: ALL_FIVE_FIELDS });
    const result = await call(
      emulator,
      patchRequest(token, { userNotificationCallbackUrl: null, refreshTokensValidityPeriod: null }),
    );
    expect(result.status).toBe(200);
    expect(emulator.configurationOf(clientId)).toMatchObject({
      userNotificationCallbackUrl: ALL_FIVE_FIELDS.userNotificationCallbackUrl,
      refreshTokensValidityPeriod: ALL_FIVE_FIELDS.refreshTokensValidityPeriod,
    });
  });

  it("accepts an empty object and changes nothing", async () => {
    const { clientId, token } = await clientWithToken({ configuration: ALL_FIVE_FIELDS });
    const before = emulator.configurationOf(clientId);
    const result = await call(emulator, patchRequest(token, {}));
    expect(result.status).toBe(200);
    expect(result.body).toEqual(before);
  });

  it("accepts a POST with X-HTTP-Method-Override: PATCH", async () => {
    const { clientId, token } = await clientWithToken();
    const result = await call(emulator, {
      ...patchRequest(
        token,
        { clientAccessTokensValidityPeriod: 300 },
        { "x-http-method-override": "PATCH" },
      ),
      method: "POST",
    });
    lastRequestConforms();
    expect(result.status).toBe(200);
    expect(emulator.configurationOf(clientId).clientAccessTokensValidityPeriod).toBe(300);
  });

  it.each([
    ["sandbox", "http://localhost:3000/finapi/sync", 200],
    ["alpha", "http://localhost:3000/finapi/sync", 200],
    ["live", "https://app.example.com/finapi/sync", 200],
    ["live", "http://app.example.com/finapi/sync", 400],
  ] as const)("on %s answers %s with %i", async (environment, url, status) => {
    const { clientId, token } = await clientWithToken({ environment });
    const result = await call(emulator, patchRequest(token, { userSynchronizationCallbackUrl: url }));
    expect(result.status).toBe(status);
    if (status === 400) {
      expect(errorsOf(result.body)).toEqual([
        {
          message: "userSynchronizationCallbackUrl: must be an https URL on the live environment",
          code: "BAD_REQUEST",
          type: "BUSINESS",
          multiStepAuthentication: null,
        },
      ]);
      expect(emulator.configurationOf(clientId).userSynchronizationCallbackUrl).toBeNull();
    } else {
      expect(emulator.configurationOf(clientId).userSynchronizationCallbackUrl).toBe(url);
    }
  });

  it.each([
    [
      "a relative URL",
      { userNotificationCallbackUrl: "/finapi/notifications" },
      "userNotificationCallbackUrl: is not a valid absolute http or https URL",
      "BUSINESS",
    ],
    [
      "a URL of another scheme",
      { userNotificationCallbackUrl: "ftp://files.example.com/hook" },
      "userNotificationCallbackUrl: is not a valid absolute http or https URL",
      "BUSINESS",
    ],
    [
      "a URL with a space",
      { userNotificationCallbackUrl: "https://app.example.com/a b" },
      "userNotificationCallbackUrl: is not a valid absolute http or https URL",
      "BUSINESS",
    ],
    [
      "a URL of 513 characters",
      { userNotificationCallbackUrl: `https://app.example.com/${"a".repeat(513 - 24)}` },
      "userNotificationCallbackUrl: must not be longer than 512 characters",
      "BUSINESS",
    ],
    [
      "a URL that is not a string",
      { userSynchronizationCallbackUrl: 42 },
      'userSynchronizationCallbackUrl: must be a string (an absolute http or https URL, or "" to clear it)',
      "TECHNICAL",
    ],
    [
      "a validity period of 59",
      { refreshTokensValidityPeriod: 59 },
      "refreshTokensValidityPeriod: must be greater than or equal to 60, or 0",
      "BUSINESS",
    ],
    [
      "a negative validity period",
      { userAccessTokensValidityPeriod: -60 },
      "userAccessTokensValidityPeriod: must be greater than or equal to 60, or 0",
      "BUSINESS",
    ],
    [
      "a validity period with a fraction",
      { clientAccessTokensValidityPeriod: 60.5 },
      "clientAccessTokensValidityPeriod: must be an integer (a JSON number without fraction)",
      "TECHNICAL",
    ],
    [
      "a validity period given as a string",
      { clientAccessTokensValidityPeriod: "3600" },
      "clientAccessTokensValidityPeriod: must be an integer (a JSON number without fraction)",
      "TECHNICAL",
    ],
    [
      "a validity period beyond int32",
      { clientAccessTokensValidityPeriod: 2_147_483_648 },
      "clientAccessTokensValidityPeriod: is out of range of int (32-bit)",
      "TECHNICAL",
    ],
    [
      "a field ClientConfigurationParams does not have",
      { applicationName: "My App" },
      'Unrecognized field "applicationName" (class ClientConfigurationParams), not marked as ignorable',
      "TECHNICAL",
    ],
  ])("rejects %s with 400 naming the field and the rule", async (_, body, message, type) => {
    const { clientId, token } = await clientWithToken();
    const before = emulator.configurationOf(clientId);
    const result = await call(emulator, patchRequest(token, body));
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)).toEqual([
      { message, code: "BAD_REQUEST", type, multiStepAuthentication: null },
    ]);
    expect(emulator.configurationOf(clientId)).toEqual(before);
  });

  it.each([
    ["a validity period of 0", { refreshTokensValidityPeriod: 0 }],
    ["a validity period of 60", { userAccessTokensValidityPeriod: 60 }],
    ["the largest int32 validity period", { clientAccessTokensValidityPeriod: 2_147_483_647 }],
    [
      "a URL of exactly 512 characters",
      { userNotificationCallbackUrl: `https://app.example.com/${"a".repeat(488)}` },
    ],
    [
      "a URL with a port, query and fragment",
      { userNotificationCallbackUrl: "https://app.example.com:8443/cb?x=1#f" },
    ],
  ])("accepts %s", async (_, body) => {
    const { clientId, token } = await clientWithToken();
    const result = await call(emulator, patchRequest(token, body));
    expect(result.status).toBe(200);
    expect(emulator.configurationOf(clientId)).toMatchObject(body);
  });

  it("reports every violation at once and applies nothing, not even the valid field", async () => {
    const { clientId, token } = await clientWithToken();
    const before = emulator.configurationOf(clientId);
    const result = await call(emulator, patchRequest(token, EVERY_RULE_BROKEN));
    expect(result.status).toBe(400);
    expect(errorsOf(result.body).map(({ message, type }) => ({ message, type }))).toEqual([
      {
        message: "userSynchronizationCallbackUrl: is not a valid absolute http or https URL",
        type: "BUSINESS",
      },
      { message: "refreshTokensValidityPeriod: must be greater than or equal to 60, or 0", type: "BUSINESS" },
      {
        message: "userAccessTokensValidityPeriod: must be an integer (a JSON number without fraction)",
        type: "TECHNICAL",
      },
      {
        message: "clientAccessTokensValidityPeriod: must be an integer (a JSON number without fraction)",
        type: "TECHNICAL",
      },
      {
        message:
          'Unrecognized field "userNotificationCalbackUrl" (class ClientConfigurationParams), not marked as ignorable',
        type: "TECHNICAL",
      },
    ]);
    expect(emulator.configurationOf(clientId)).toEqual(before);
    expect(result.text).not.toContain("callback-path-secret-9a1d");
  });

  it("names the endpoint, request id, client and time in an error body", async () => {
    const { token } = await clientWithToken();
    const result = await call(emulator, {
      ...patchRequest(token, { refreshTokensValidityPeriod: 1 }),
      headers: { ...patchRequest(token, {}).headers, "x-request-id": "reconcile-7f3a" },
    });
    expect(result.body).toMatchObject({
      date: "2026-03-01 08:00:00.000",
      requestId: "reconcile-7f3a",
      endpoint: "PATCH /api/v1/clientConfiguration",
      authContext: expect.stringMatching(/^1\/\d+$/),
      bank: null,
    });
  });

  it.each([
    ["a body that is not JSON", "{", "The request body is not valid JSON"],
    ["a JSON array", "[]", "The request body must be a JSON object (ClientConfigurationParams)"],
    [
      "a JSON string",
      '"https://app.example.com"',
      "The request body must be a JSON object (ClientConfigurationParams)",
    ],
    ["an empty body", "", "Required request body is missing"],
  ])("rejects %s with 400 ErrorMessage", async (_, body, message) => {
    const { token } = await clientWithToken();
    const result = await call(emulator, patchRequest(token, body));
    expect(result.status).toBe(400);
    expect(errorsOf(result.body)).toEqual([
      { message, code: "BAD_REQUEST", type: "TECHNICAL", multiStepAuthentication: null },
    ]);
  });

  it("rejects a body that is not declared as JSON with 415", async () => {
    const { clientId, token } = await clientWithToken();
    const result = await call(emulator, {
      ...patchRequest(token, { refreshTokensValidityPeriod: 120 }),
      headers: { ...bearer(token), "content-type": "text/plain" },
    });
    expect(result.status).toBe(415);
    expect(errorsOf(result.body)[0]).toMatchObject({ code: "UNSUPPORTED_MEDIA_TYPE" });
    expect(emulator.configurationOf(clientId).refreshTokensValidityPeriod).toBe(3600);
  });

  it("accepts a JSON content type with a charset", async () => {
    const { token } = await clientWithToken();
    const result = await call(emulator, {
      ...patchRequest(token, { refreshTokensValidityPeriod: 120 }),
      headers: { ...bearer(token), ...JSON_CONTENT, "content-type": "application/json; charset=utf-8" },
    });
    expect(result.status).toBe(200);
  });

  it("changes nothing without a valid token", async () => {
    const { clientId } = await clientWithToken();
    const before = emulator.configurationOf(clientId);
    const result = await call(
      emulator,
      patchRequest("made-up-token-4711", { refreshTokensValidityPeriod: 120 }),
    );
    expect(result.status).toBe(401);
    expect(emulator.configurationOf(clientId)).toEqual(before);
  });
});

describe("emulator state", () => {
  it("drifts finAPI's state by hand, bypassing its rules, and GET reports the drift", async () => {
    const { clientId, token } = await clientWithToken({
      environment: "live",
      configuration: ALL_FIVE_FIELDS,
    });
    emulator.drift(clientId, {
      userNotificationCallbackUrl: "",
      userSynchronizationCallbackUrl: "http://insecure.example.com/sync",
      clientAccessTokensValidityPeriod: 30,
    });
    const result = await call(emulator, getConfigurationRequest(token));
    expect(result.body).toMatchObject({
      userNotificationCallbackUrl: null,
      userSynchronizationCallbackUrl: "http://insecure.example.com/sync",
      refreshTokensValidityPeriod: ALL_FIVE_FIELDS.refreshTokensValidityPeriod,
      clientAccessTokensValidityPeriod: 30,
    });
  });

  it("sets a URL to null by drift", async () => {
    const { clientId } = await clientWithToken({ configuration: ALL_FIVE_FIELDS });
    emulator.drift(clientId, { userSynchronizationCallbackUrl: null });
    expect(emulator.configurationOf(clientId).userSynchronizationCallbackUrl).toBeNull();
  });

  it("refuses a drift of a field finAPI does not have", async () => {
    const { clientId } = await clientWithToken();
    expect(() => emulator.drift(clientId, { applicationName: "x" } as never)).toThrow(/Unrecognized key/);
  });

  it("refuses a second client with the same id", async () => {
    const { clientId } = await clientWithToken();
    expect(() => emulator.addClient({ clientId, clientSecret: "another-secret" })).toThrow(
      `The emulator already has a client "${clientId}"`,
    );
  });

  it("refuses a starting configuration that breaks finAPI's rules, without naming the secret", () => {
    const spec = {
      clientId: "live-client",
      clientSecret: "live-client-secret-b7e2",
      environment: "live" as const,
      configuration: { userNotificationCallbackUrl: "http://app.example.com/n" },
    };
    secrets.add(spec.clientSecret);
    expect(() => emulator.addClient(spec)).toThrow(
      'Invalid configuration for emulated client "live-client": userNotificationCallbackUrl: must be an https URL on the live environment',
    );
    let message = "";
    try {
      emulator.addClient({ ...spec, environment: "moon" as never });
    } catch (error) {
      message = String(error);
    }
    expect(message).toMatch(/^Error: Invalid emulated client: environment: /);
    expect(message).not.toContain(spec.clientSecret);
  });

  it("answers a copy from configurationOf", async () => {
    const { clientId } = await clientWithToken();
    const copy = emulator.configurationOf(clientId);
    copy.refreshTokensValidityPeriod = 1;
    copy.availableBankGroups.push("XX");
    expect(emulator.configurationOf(clientId)).toMatchObject({
      refreshTokensValidityPeriod: 3600,
      availableBankGroups: ["DE", "AT"],
    });
  });

  it("throws for a client it does not have", () => {
    expect(() => emulator.configurationOf("nobody")).toThrow('The emulator has no client "nobody"');
    expect(() => emulator.drift("nobody", {})).toThrow('The emulator has no client "nobody"');
  });

  it("serves the clients given at start and those added later", async () => {
    const other = await startFinapiEmulator({
      clients: [{ clientId: "at-start", clientSecret: "at-start-secret-1c9e", environment: "alpha" }],
    });
    secrets.add("at-start-secret-1c9e").add("later-secret-2d0f");
    try {
      other.addClient({ clientId: "later", clientSecret: "later-secret-2d0f" });
      await expect(accessTokenOf(other, "at-start", "at-start-secret-1c9e", secrets)).resolves.toEqual(
        expect.any(String),
      );
      await expect(accessTokenOf(other, "later", "later-secret-2d0f", secrets)).resolves.toEqual(
        expect.any(String),
      );
    } finally {
      await other.close();
    }
  });
});
