import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  DEFAULT_PARAMETER_CACHE_TTL_SECONDS,
  DEFAULT_SECRETS_CACHE_TTL_SECONDS,
  loadConfigSyncConfig,
} from "../../functions/config-sync/config.ts";
import { clientRegistryFile } from "../support/client-registry.ts";

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
  CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [acme, globex] }),
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

  it("names a missing variable and a missing registry file at once", () => {
    const missing = join(dirname(clientRegistryFile("")), "absent", "client-registry.json");
    const message = problemOf({ CLIENT_REGISTRY_PATH: missing, STATUS_TABLE_NAME: undefined });
    expect(message).toMatch(/^config-sync configuration is invalid: /);
    expect(message).toContain("STATUS_TABLE_NAME: is required");
    expect(message).toContain(`client registry ${missing}: cannot be read (ENOENT)`);
  });

  it("looks for the registry beside the module when CLIENT_REGISTRY_PATH is not set", () => {
    expect(problemOf({ CLIENT_REGISTRY_PATH: undefined })).toMatch(
      /client registry \S+\/functions\/contracts\/client-registry\.json: cannot be read \(ENOENT\)/,
    );
  });

  it("refuses a registry that is not JSON, has no client array or no client", () => {
    const withRegistry = (registry: unknown) => ({ CLIENT_REGISTRY_PATH: clientRegistryFile(registry) });
    expect(problemOf(withRegistry("[{"))).toMatch(/client-registry\.json: is not valid JSON$/);
    expect(problemOf(withRegistry({ clients: {} }))).toContain(
      "client-registry.json [clients]: must be a JSON array of clients",
    );
    expect(problemOf(withRegistry({ clients: [] }))).toContain(
      "client-registry.json [clients]: must name at least one finAPI client",
    );
    expect(problemOf(withRegistry({ clients: [acme], extra: true }))).toContain(
      'client-registry.json: Unrecognized key: "extra"',
    );
  });

  it("names the client and the field of a bad client entry", () => {
    const message = problemOf({
      CLIENT_REGISTRY_PATH: clientRegistryFile({
        clients: [
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
        ],
      }),
    });
    expect(message).toContain(
      "client-registry.json [clients.1.name]: must be 1..64 characters of a-z A-Z 0-9 - _",
    );
    expect(message).toContain("client-registry.json [clients.1.environment]");
    expect(message).toContain("client-registry.json [clients.1.mode]");
    expect(message).toContain("client-registry.json [clients.1.parameterName]: is required");
    expect(message).toContain(
      "client-registry.json [clients.1.baseUrl]: must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)",
    );
    expect(message).toContain('client-registry.json [clients.1]: Unrecognized key: "extra"');
  });

  it("refuses a plain-http finAPI base URL unless its host is loopback (the local loop's emulator)", () => {
    const withBaseUrl = (baseUrl: string) => ({
      CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [{ ...acme, baseUrl }] }),
    });
    const plainHttp = withBaseUrl("http://sandbox.finapi.io");
    expect(problemOf(plainHttp)).toBe(
      `config-sync configuration is invalid: client registry ${plainHttp.CLIENT_REGISTRY_PATH} [clients.0.baseUrl]: must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)`,
    );
    for (const baseUrl of ["http://127.0.0.1:4010", "http://localhost:4010", "http://[::1]:4010"]) {
      expect(loadConfigSyncConfig(environment(withBaseUrl(baseUrl))).clients[0]?.baseUrl).toBe(baseUrl);
    }
  });

  it("refuses duplicate names, and parameters that differ only by the leading slash", () => {
    const message = problemOf({
      CLIENT_REGISTRY_PATH: clientRegistryFile({
        clients: [acme, { ...globex, name: "acme", parameterName: "finapi/acme" }],
      }),
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
      problemOf({
        CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [{ ...acme, callbackSecretGeneration: -1 }] }),
      }),
    ).toContain(
      "client-registry.json [clients.0.callbackSecretGeneration]: callbackSecretGeneration must be at least 0",
    );
    expect(
      problemOf({
        CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [{ ...acme, callbackSecretGeneration: 1.5 }] }),
      }),
    ).toContain(
      "client-registry.json [clients.0.callbackSecretGeneration]: callbackSecretGeneration must be a whole number",
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
