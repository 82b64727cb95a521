import { describe, expect, it } from "vitest";
import { type RecordedRequest, startFinapiEmulator } from "../../emulator/index.ts";
import {
  assertConformsToFinapiOpenApi,
  assertFinapiResponseConformsToOpenApi,
  type ObservedResponse,
} from "../support/openapi-conformance.ts";
import { accessTokenOf, call, fixture, getConfigurationRequest, patchRequest } from "./finapi-calls.ts";

const SECRET = "client-secret-5e8b";
const TOKEN = "access-token-91f0";
const CLIENT_CONFIGURATION = fixture("client-configuration-response.json") as Record<string, unknown>;

function recorded(overrides: Partial<RecordedRequest>): RecordedRequest {
  return {
    method: "GET",
    path: "/",
    headers: { "x-request-id": "req-1" },
    body: "",
    status: 200,
    ...overrides,
  };
}

const tokenCall = (overrides: Partial<RecordedRequest> = {}) =>
  recorded({
    method: "POST",
    path: "/oauth/token",
    headers: { "x-request-id": "req-1", "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=client_credentials&client_id=team-a&client_secret=${SECRET}`,
    ...overrides,
  });

const patchCall = (body: unknown, headers: Record<string, string> = {}) =>
  recorded({
    method: "PATCH",
    path: "/api/v1/clientConfiguration",
    headers: {
      "x-request-id": "req-1",
      authorization: `Bearer ${TOKEN}`,
      "content-type": "application/json",
      ...headers,
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });

/** The mismatches the checker lists, or [] when it accepts the request. */
function requestMismatches(request: RecordedRequest): string[] {
  try {
    assertConformsToFinapiOpenApi(request);
    return [];
  } catch (error) {
    const message = (error as Error).message;
    expect(message).not.toContain(SECRET);
    expect(message).not.toContain(TOKEN);
    return message
      .split("\n")
      .slice(1)
      .map((line) => line.replace(/^ {2}- /, ""));
  }
}

function responseMismatches(
  request: Pick<RecordedRequest, "method" | "path" | "headers">,
  response: ObservedResponse,
) {
  try {
    assertFinapiResponseConformsToOpenApi(request, response);
    return [];
  } catch (error) {
    return (error as Error).message
      .split("\n")
      .slice(1)
      .map((line) => line.replace(/^ {2}- /, ""));
  }
}

const jsonResponse = (
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): ObservedResponse => ({
  status,
  headers: { "x-request-id": "req-1", "content-type": "application/json;charset=UTF-8", ...headers },
  body: JSON.stringify(body),
});

const ERROR_MESSAGE = {
  errors: [{ message: "Bad request", code: "BAD_REQUEST", type: "TECHNICAL", multiStepAuthentication: null }],
  date: "2026-03-01 08:00:00.000",
  requestId: "req-1",
  endpoint: "POST /oauth/token",
  authContext: "-",
  bank: null,
};

const GET_CONFIGURATION = recorded({ path: "/api/v1/clientConfiguration" });

describe("assertConformsToFinapiOpenApi", () => {
  it.each([
    ["the client credentials token call", tokenCall()],
    [
      "a GET of the client configuration",
      recorded({
        path: "/api/v1/clientConfiguration",
        headers: { "x-request-id": "r", authorization: `Bearer ${TOKEN}` },
      }),
    ],
    ["a PATCH of the five fields", patchCall(fixture("patch-all-five-fields.json"))],
    ["a PATCH clearing a URL", patchCall({ userNotificationCallbackUrl: "" })],
    [
      "a POST overridden to PATCH",
      {
        ...patchCall({ refreshTokensValidityPeriod: 0 }, { "x-http-method-override": "PATCH" }),
        method: "POST",
      },
    ],
  ])("accepts %s", (_, request) => {
    expect(requestMismatches(request)).toEqual([]);
  });

  it.each([
    [
      "an operation the document does not have",
      recorded({ method: "DELETE", path: "/api/v1/clientConfiguration" }),
      "the document has no operation DELETE /api/v1/clientConfiguration",
    ],
    [
      "a path the document does not have",
      recorded({ path: "/api/v1/users" }),
      "the document has no path /api/v1/users",
    ],
    [
      "a request id longer than 255 characters",
      tokenCall({
        headers: { "x-request-id": "r".repeat(256), "content-type": "application/x-www-form-urlencoded" },
      }),
      "header parameter X-Request-Id must NOT have more than 255 characters",
    ],
    [
      "a token call sent as JSON",
      tokenCall({ headers: { "x-request-id": "r", "content-type": "application/json" } }),
      'request Content-Type is "application/json", expected application/x-www-form-urlencoded',
    ],
    [
      "a token call without a client secret",
      tokenCall({ body: "grant_type=client_credentials&client_id=team-a" }),
      "form body must have required property 'client_secret'",
    ],
    [
      "a token call with a grant type finAPI does not know",
      tokenCall({ body: `grant_type=client-credentials&client_id=team-a&client_secret=${SECRET}` }),
      'form body/grant_type must be one of "password", "client_credentials", "refresh_token"',
    ],
    [
      "a PATCH with a field ClientConfigurationParams does not have",
      patchCall({ applicationName: "My App" }),
      'request body has a property the schema does not allow: "applicationName"',
    ],
    [
      "a PATCH with a validity period as a string",
      patchCall({ clientAccessTokensValidityPeriod: "3600" }),
      "request body/clientAccessTokensValidityPeriod must be integer",
    ],
    [
      "a PATCH with a null URL",
      patchCall({ userNotificationCallbackUrl: null }),
      "request body/userNotificationCallbackUrl must be string",
    ],
    ["a PATCH whose body is not JSON", patchCall("{"), "the request body is not valid JSON"],
    ["a PATCH without a body", patchCall(""), "the request body is missing"],
    [
      "a PATCH without an access token",
      patchCall({}, { authorization: "" }),
      'editClientConfiguration is secured: the "Authorization: Bearer <access token>" header is missing',
    ],
    [
      "a GET with a body",
      recorded({
        path: "/api/v1/clientConfiguration",
        headers: { "x-request-id": "r", authorization: `Bearer ${TOKEN}` },
        body: "{}",
      }),
      "getClientConfiguration takes no request body",
    ],
  ])("flags %s", (_, request, mismatch) => {
    expect(requestMismatches(request)).toEqual([mismatch]);
  });

  it("lists every mismatch of a request at once, without repeating its secrets", () => {
    const request = tokenCall({
      path: `/oauth/token?client_id=team-a&client_secret=${SECRET}`,
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "grant_type=client_credentials",
    });
    expect(requestMismatches(request)).toEqual([
      "the X-Request-Id header is missing (every finAPI call must carry one)",
      'query parameter "client_id" is not declared by getToken',
      'query parameter "client_secret" is not declared by getToken',
      "form body must have required property 'client_id'",
      "form body must have required property 'client_secret'",
    ]);
  });

  it("names the endpoint and the document in its error", () => {
    expect(() => assertConformsToFinapiOpenApi(patchCall({ applicationName: "x" }))).toThrow(
      /^Request PATCH \/api\/v1\/clientConfiguration does not conform to finAPI's OpenAPI document \(test\/fixtures\/finapi\/openapi-subset\.yaml\):\n {2}- /,
    );
  });

  it("accepts the requests of a token, GET and PATCH exchange with the emulator", async () => {
    const emulator = await startFinapiEmulator({ clients: [{ clientId: "team-a", clientSecret: SECRET }] });
    try {
      const token = await accessTokenOf(emulator, "team-a", SECRET);
      await call(emulator, getConfigurationRequest(token));
      await call(emulator, patchRequest(token, { refreshTokensValidityPeriod: 600 }));
      expect(emulator.requests).toHaveLength(3);
      for (const request of emulator.requests) expect(requestMismatches(request)).toEqual([]);
    } finally {
      await emulator.close();
    }
  });
});

describe("assertFinapiResponseConformsToOpenApi", () => {
  it("accepts a ClientConfiguration with finAPI's headers", () => {
    expect(responseMismatches(GET_CONFIGURATION, jsonResponse(200, CLIENT_CONFIGURATION))).toEqual([]);
  });

  it("reads the headers of a fetch Response", () => {
    const response = {
      ...jsonResponse(200, CLIENT_CONFIGURATION),
      headers: new Headers({ "content-type": "application/json" }),
    };
    expect(responseMismatches(GET_CONFIGURATION, response)).toEqual(["the X-Request-Id header is missing"]);
  });

  it.each([
    [
      "a ClientConfiguration without a required field",
      GET_CONFIGURATION,
      jsonResponse(200, { ...CLIENT_CONFIGURATION, corsAllowedOrigins: undefined }),
      "response body must have required property 'corsAllowedOrigins'",
    ],
    [
      "a null validity period",
      GET_CONFIGURATION,
      jsonResponse(200, { ...CLIENT_CONFIGURATION, refreshTokensValidityPeriod: null }),
      "response body/refreshTokensValidityPeriod must be integer",
    ],
    [
      "an AccessToken whose expires_in exceeds int32",
      tokenCall(),
      jsonResponse(200, { access_token: "t", token_type: "bearer", expires_in: 2 ** 31, scope: "all" }),
      'response body/expires_in must match format "int32"',
    ],
    [
      "a 401 without error_description",
      GET_CONFIGURATION,
      jsonResponse(401, { error: "invalid_token", errorDescription: "spelled as in the document's example" }),
      "response body must have required property 'error_description'",
    ],
    [
      "an error of an unknown path that is not an ErrorMessage",
      recorded({ path: "/api/v1/users" }),
      jsonResponse(404, { ...ERROR_MESSAGE, errors: undefined }),
      "response body must have required property 'errors'",
    ],
    [
      "a status the operation does not document",
      GET_CONFIGURATION,
      jsonResponse(204, {}),
      "status 204 is not documented for GET /api/v1/clientConfiguration",
    ],
    [
      "a response without X-Request-Id",
      GET_CONFIGURATION,
      { ...jsonResponse(200, CLIENT_CONFIGURATION), headers: { "content-type": "application/json" } },
      "the X-Request-Id header is missing",
    ],
    [
      "a response of another content type",
      GET_CONFIGURATION,
      jsonResponse(200, CLIENT_CONFIGURATION, { "content-type": "text/html" }),
      'Content-Type is "text/html", expected application/json',
    ],
    [
      "a body that is not JSON",
      GET_CONFIGURATION,
      { ...jsonResponse(200, {}), body: "<html>" },
      "the response body is not valid JSON",
    ],
  ])("flags %s", (_, request, response, mismatch) => {
    expect(responseMismatches(request, response)).toEqual([mismatch]);
  });

  it.each([
    [
      "an OAuth grant error",
      { error: "unsupported_grant_type", error_description: "Unsupported grant type" },
    ],
    [
      "an ErrorMessage",
      {
        errors: [
          { message: "Bad request", code: "BAD_REQUEST", type: "TECHNICAL", multiStepAuthentication: null },
        ],
        date: "2026-03-01 08:00:00.000",
        requestId: "req-1",
        endpoint: "POST /oauth/token",
        authContext: "-",
        bank: null,
      },
    ],
  ])("accepts %s as a 400 from the token endpoint", (_, body) => {
    expect(responseMismatches(tokenCall(), jsonResponse(400, body))).toEqual([]);
  });
});
