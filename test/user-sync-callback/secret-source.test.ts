import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { createSecretsManagerSource } from "../../functions/user-sync-callback/secret-source.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { secrets } from "./support/harness.ts";

describe("createSecretsManagerSource", () => {
  let standIn: SecretsManagerStandIn;
  let client: SecretsManagerClient;
  const logger = { warn: vi.fn(), error: vi.fn() };
  let clock = 0;
  const now = () => new Date(clock);

  beforeAll(async () => {
    standIn = await startSecretsManager();
    client = new SecretsManagerClient(standInClientConfig(standIn.url));
  });

  beforeEach(() => {
    logger.warn.mockClear();
    logger.error.mockClear();
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  const callsFor = (secretId: string) =>
    standIn.calls.filter((call) => call.operation === "GetSecretValue" && call.input.SecretId === secretId);

  const loggedText = () => JSON.stringify([logger.warn.mock.calls, logger.error.mock.calls]);

  it("accepts the current and the previous value of a rotated secret", async () => {
    standIn.putSecret("rotated", secrets.acme.previous);
    standIn.putSecret("rotated", secrets.acme.current);
    const source = createSecretsManagerSource({ client, logger, now });
    expect(await source.acceptedValues("rotated")).toEqual([secrets.acme.current, secrets.acme.previous]);
  });

  it("serves repeat lookups from the cache, a missing AWSPREVIOUS included", async () => {
    standIn.putSecret("never-rotated", secrets.globex.current);
    const source = createSecretsManagerSource({ client, logger, now });
    for (let index = 0; index < 5; index += 1) {
      expect(await source.acceptedValues("never-rotated")).toEqual([secrets.globex.current]);
    }
    expect(callsFor("never-rotated").map((call) => call.input.VersionStage)).toEqual([
      "AWSCURRENT",
      "AWSPREVIOUS",
    ]);
    expect(logger.error).not.toHaveBeenCalled();
  });

  it("fetches anew on request, at most once per interval", async () => {
    standIn.putSecret("refreshing", secrets.acme.previous);
    const source = createSecretsManagerSource({ client, logger, now, minRefreshIntervalSeconds: 10 });
    await source.acceptedValues("refreshing");
    standIn.putSecret("refreshing", secrets.rotated);
    expect(await source.acceptedValues("refreshing")).toEqual([secrets.acme.previous]);
    expect(await source.refreshedValues("refreshing")).toEqual([secrets.rotated, secrets.acme.previous]);
    clock += 9_999;
    expect(await source.refreshedValues("refreshing")).toBeUndefined();
    clock += 1;
    expect(await source.refreshedValues("refreshing")).toEqual([secrets.rotated, secrets.acme.previous]);
    expect(callsFor("refreshing")).toHaveLength(6);
  });

  it("ignores a value shorter than 22 characters and logs the misconfiguration without the value", async () => {
    standIn.putSecret("too-short", "only21charactersxxxxx");
    const source = createSecretsManagerSource({ client, logger, now });
    expect(await source.acceptedValues("too-short")).toEqual([]);
    expect(logger.error).toHaveBeenCalledWith("callback secret ignored: misconfigured", {
      secretId: "too-short",
      versionStage: "AWSCURRENT",
      rule: "SecretString of at least 22 characters",
    });
    expect(loggedText()).not.toContain("only21characters");
  });

  it("logs a secret that does not exist and accepts nothing for it", async () => {
    const source = createSecretsManagerSource({ client, logger, now });
    expect(await source.acceptedValues("missing")).toEqual([]);
    expect(logger.error).toHaveBeenCalledWith("callback secret not found", {
      secretId: "missing",
      versionStage: "AWSCURRENT",
    });
  });

  it("keeps accepting the values it fetched before while Secrets Manager fails", async () => {
    standIn.putSecret("flaky", secrets.globex.current);
    const source = createSecretsManagerSource({ client, logger, now, maxAgeSeconds: 0 });
    await source.acceptedValues("flaky");
    standIn.failNext("GetSecretValue", new AwsServiceError("InternalServiceError", "down", 500), 2);
    expect(await source.acceptedValues("flaky")).toEqual([secrets.globex.current]);
    expect(logger.warn).toHaveBeenCalledWith(
      "Secrets Manager failed; using the secret value fetched before",
      expect.objectContaining({ secretId: "flaky", errorName: "InternalServiceError" }),
    );
    expect(loggedText()).not.toContain(secrets.globex.current);
  });

  it("fails when Secrets Manager fails and nothing was fetched before", async () => {
    standIn.putSecret("unreachable", secrets.globex.current);
    const source = createSecretsManagerSource({ client, logger, now });
    standIn.failNext("GetSecretValue", new AwsServiceError("InternalServiceError", "down", 500), 2);
    await expect(source.acceptedValues("unreachable")).rejects.toThrow();
  });
});
