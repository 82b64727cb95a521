import { describe, expect, it } from "vitest";
import {
  DEFAULT_PARAMETER_CACHE_TTL_SECONDS,
  DEFAULT_SECRETS_CACHE_TTL_SECONDS,
  loadConfigSyncConfig,
} from "../../functions/config-sync/config.ts";

const acme = {
  name: "acme",
  environment: "sandbox",
  baseUrl: "https://sandbox.finapi.io/",
  parameterName: "/finapi/acme",
  credentialsSecretId: "finapi/acme/credentials",
  mode: "apply",
  callbackSecretGeneration: 2,
};
const globex = {
  name: "globex",
  environment: "live",
  baseUrl: "https://live.finapi.io",
  parameterName: "/finapi/globex",
  credentialsSecretId: "finapi/globex/credentials",
  mode: "report-only",
};

const environment = (overrides: Record<string, string | undefined> = {}) => ({
  FINAPI_CLIENTS: JSON.stringify([acme, globex]),
  STATUS_TABLE_NAME: "FinapiConfigSync-StatusTable",
  ...overrides,
});

const problemOf = (overrides: Record<string, string | undefined>) => {
  try {
    loadConfigSyncConfig(environment(overrides));
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be refused");
};

describe("loadConfigSyncConfig", () => {
  it("reads the clients, the status table and the cache defaults", () => {
    const config = loadConfigSyncConfig(environment());
    expect(config.clients).toEqual([{ ...acme, baseUrl: "https://sandbox.finapi.io" }, globex]);
    expect(config.statusTableName).toBe("FinapiConfigSync-StatusTable");
    expect(config.callbackBaseUrl).toBeUndefined();
    expect(config.secretsCacheTtlSeconds).toBe(DEFAULT_SECRETS_CACHE_TTL_SECONDS);
    expect(config.parameterCacheTtlSeconds).toBe(DEFAULT_PARAMETER_CACHE_TTL_SECONDS);
  });

  it("takes the callback base URL without its trailing slash, and the cache TTLs as seconds", () => {
    const config = loadConfigSyncConfig(
      environment({
        CALLBACK_BASE_URL: "https://abc.lambda-url.eu-central-1.on.aws/",
        CALLBACK_ROOT_SECRET_ID:
          "arn:aws:secretsmanager:eu-central-1:123456789012:secret:stack/user-sync-callback/root-AbCdEf",
        SECRETS_CACHE_TTL_SECONDS: "30",
        PARAMETER_CACHE_TTL_SECONDS: "0",
      }),
    );
    expect(config.callbackBaseUrl).toBe("https://abc.lambda-url.eu-central-1.on.aws");
    expect(config.callbackRootSecretId).toBe(
      "arn:aws:secretsmanager:eu-central-1:123456789012:secret:stack/user-sync-callback/root-AbCdEf",
    );
    expect(config.secretsCacheTtlSeconds).toBe(30);
    expect(config.parameterCacheTtlSeconds).toBe(0);
  });

  it("treats an empty variable as unset", () => {
    expect(loadConfigSyncConfig(environment({ CALLBACK_BASE_URL: "" })).callbackBaseUrl).toBeUndefined();
    expect(problemOf({ STATUS_TABLE_NAME: "" })).toContain("STATUS_TABLE_NAME: is required");
  });

  it("names every missing variable at once", () => {
    const message = problemOf({ FINAPI_CLIENTS: undefined, STATUS_TABLE_NAME: undefined });
    expect(message).toMatch(/^config-sync configuration is invalid: /);
    expect(message).toContain("FINAPI_CLIENTS: is required");
    expect(message).toContain("STATUS_TABLE_NAME: is required");
  });

  it("refuses FINAPI_CLIENTS that is not JSON, not an array or empty", () => {
    expect(problemOf({ FINAPI_CLIENTS: "[{" })).toContain("FINAPI_CLIENTS: is not valid JSON");
    expect(problemOf({ FINAPI_CLIENTS: "{}" })).toContain("FINAPI_CLIENTS: must be a JSON array of clients");
    expect(problemOf({ FINAPI_CLIENTS: "[]" })).toContain(
      "FINAPI_CLIENTS: must name at least one finAPI client",
    );
  });

  it("names the client and the field of a bad client entry", () => {
    const message = problemOf({
      FINAPI_CLIENTS: JSON.stringify([
        acme,
        {
          ...globex,
          name: "glo bex",
          environment: "production",
          mode: "dry",
          baseUrl: "ftp://x",
          parameterName: undefined,
          extra: 1,
        },
      ]),
    });
    expect(message).toContain("FINAPI_CLIENTS [1.name]: must be 1..64 characters of a-z A-Z 0-9 - _");
    expect(message).toContain("FINAPI_CLIENTS [1.environment]");
    expect(message).toContain("FINAPI_CLIENTS [1.mode]");
    expect(message).toContain("FINAPI_CLIENTS [1.parameterName]: is required");
    expect(message).toContain(
      "FINAPI_CLIENTS [1.baseUrl]: must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)",
    );
    expect(message).toContain('FINAPI_CLIENTS [1]: Unrecognized key: "extra"');
  });

  it("refuses a plain-http finAPI base URL unless its host is loopback (the local loop's emulator)", () => {
    const withBaseUrl = (baseUrl: string) => ({ FINAPI_CLIENTS: JSON.stringify([{ ...acme, baseUrl }]) });
    expect(problemOf(withBaseUrl("http://sandbox.finapi.io"))).toBe(
      "config-sync configuration is invalid: FINAPI_CLIENTS [0.baseUrl]: must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)",
    );
    for (const baseUrl of ["http://127.0.0.1:4010", "http://localhost:4010", "http://[::1]:4010"]) {
      expect(loadConfigSyncConfig(environment(withBaseUrl(baseUrl))).clients[0]?.baseUrl).toBe(baseUrl);
    }
  });

  it("refuses duplicate names, and parameters that differ only by the leading slash", () => {
    const message = problemOf({
      FINAPI_CLIENTS: JSON.stringify([acme, { ...globex, name: "acme", parameterName: "finapi/acme" }]),
    });
    expect(message).toContain('name "acme" is used by more than one client');
    expect(message).toContain('parameter "finapi/acme" is used by more than one client');
  });

  it("refuses a callback base URL that is not http(s) or carries a query, and TTLs that are not whole seconds", () => {
    expect(problemOf({ CALLBACK_BASE_URL: "https://callbacks.example.com" })).toBe(
      "config-sync configuration is invalid: CALLBACK_ROOT_SECRET_ID: CALLBACK_BASE_URL and CALLBACK_ROOT_SECRET_ID are set together or not at all",
    );
    expect(problemOf({ CALLBACK_ROOT_SECRET_ID: "stack/user-sync-callback/root" })).toContain(
      "CALLBACK_BASE_URL: CALLBACK_BASE_URL and CALLBACK_ROOT_SECRET_ID are set together or not at all",
    );
    expect(
      problemOf({ FINAPI_CLIENTS: JSON.stringify([{ ...acme, callbackSecretGeneration: -1 }]) }),
    ).toContain("FINAPI_CLIENTS [0.callbackSecretGeneration]: callbackSecretGeneration must be at least 0");
    expect(
      problemOf({ FINAPI_CLIENTS: JSON.stringify([{ ...acme, callbackSecretGeneration: 1.5 }]) }),
    ).toContain(
      "FINAPI_CLIENTS [0.callbackSecretGeneration]: callbackSecretGeneration must be a whole number",
    );
    expect(problemOf({ CALLBACK_BASE_URL: "callbacks.example.com" })).toContain(
      "CALLBACK_BASE_URL: must be an absolute http:// or https:// URL",
    );
    expect(problemOf({ CALLBACK_BASE_URL: "https://callbacks.example.com/?stage=prod" })).toContain(
      "CALLBACK_BASE_URL: must not have a query or fragment",
    );
    expect(problemOf({ SECRETS_CACHE_TTL_SECONDS: "5m" })).toContain(
      "SECRETS_CACHE_TTL_SECONDS: must be a whole number of seconds",
    );
    expect(problemOf({ PARAMETER_CACHE_TTL_SECONDS: "-1" })).toContain("PARAMETER_CACHE_TTL_SECONDS");
  });

  it("refuses a LOG_LEVEL Powertools does not know", () => {
    expect(problemOf({ LOG_LEVEL: "VERBOSE" })).toContain("LOG_LEVEL: must be one of");
    expect(() => loadConfigSyncConfig(environment({ LOG_LEVEL: "debug" }))).not.toThrow();
  });
});
