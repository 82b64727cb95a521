import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { SecretDigestStore } from "../../functions/user-sync-callback/secret-digest-store.ts";
import { secretDigest } from "../../functions/user-sync-callback/secret-match.ts";
import { createSecretsManagerSource } from "../../functions/user-sync-callback/secret-source.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { secrets } from "./support/harness.ts";

const digestsOf = (...values: string[]) => values.map(secretDigest);

/** A digest store in memory that counts its saves and can be made to fail. */
function memoryDigestStore() {
  const saved = new Map<string, readonly Uint8Array[]>();
  const store = {
    saves: 0,
    failing: false,
    saved,
    async save(secretId: string, digests: readonly Uint8Array[]) {
      if (store.failing) throw new Error("ProvisionedThroughputExceededException");
      store.saves += 1;
      saved.set(secretId, digests);
    },
    async load(secretId: string) {
      if (store.failing) throw new Error("ProvisionedThroughputExceededException");
      return saved.get(secretId);
    },
  } satisfies SecretDigestStore & Record<string, unknown>;
  return store;
}

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
    expect(await source.acceptedDigests("rotated")).toEqual(
      digestsOf(secrets.acme.current, secrets.acme.previous),
    );
  });

  it("serves repeat lookups from the cache, a missing AWSPREVIOUS included", async () => {
    standIn.putSecret("never-rotated", secrets.globex.current);
    const source = createSecretsManagerSource({ client, logger, now });
    for (let index = 0; index < 5; index += 1) {
      expect(await source.acceptedDigests("never-rotated")).toEqual(digestsOf(secrets.globex.current));
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
    await source.acceptedDigests("refreshing");
    standIn.putSecret("refreshing", secrets.rotated);
    expect(await source.acceptedDigests("refreshing")).toEqual(digestsOf(secrets.acme.previous));
    expect(await source.refreshedDigests("refreshing")).toEqual(
      digestsOf(secrets.rotated, secrets.acme.previous),
    );
    clock += 9_999;
    expect(await source.refreshedDigests("refreshing")).toBeUndefined();
    clock += 1;
    expect(await source.refreshedDigests("refreshing")).toEqual(
      digestsOf(secrets.rotated, secrets.acme.previous),
    );
    expect(callsFor("refreshing")).toHaveLength(6);
  });

  it("ignores a value shorter than 22 characters and logs the misconfiguration without the value", async () => {
    standIn.putSecret("too-short", "only21charactersxxxxx");
    const source = createSecretsManagerSource({ client, logger, now });
    expect(await source.acceptedDigests("too-short")).toEqual([]);
    expect(logger.error).toHaveBeenCalledWith("callback secret ignored: misconfigured", {
      secretId: "too-short",
      versionStage: "AWSCURRENT",
      rule: "SecretString of at least 22 characters",
    });
    expect(loggedText()).not.toContain("only21characters");
  });

  it("logs a secret that does not exist and accepts nothing for it", async () => {
    const source = createSecretsManagerSource({ client, logger, now });
    expect(await source.acceptedDigests("missing")).toEqual([]);
    expect(logger.error).toHaveBeenCalledWith("callback secret not found", {
      secretId: "missing",
      versionStage: "AWSCURRENT",
    });
  });

  it("keeps accepting the values it fetched before while Secrets Manager fails", async () => {
    standIn.putSecret("flaky", secrets.globex.current);
    const source = createSecretsManagerSource({ client, logger, now, maxAgeSeconds: 0 });
    await source.acceptedDigests("flaky");
    standIn.failNext("GetSecretValue", new AwsServiceError("InternalServiceError", "down", 500), 2);
    expect(await source.acceptedDigests("flaky")).toEqual(digestsOf(secrets.globex.current));
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
    await expect(source.acceptedDigests("unreachable")).rejects.toThrow();
  });

  describe("with a digest store", () => {
    /* Both version stages; the stand-in client makes one attempt. */
    const failSecretsManager = () =>
      standIn.failNext("GetSecretValue", new AwsServiceError("InternalServiceError", "down", 500), 2);

    it("keeps the digests of what it read, saving again only when they change", async () => {
      standIn.putSecret("kept", secrets.acme.previous);
      const digestStore = memoryDigestStore();
      const source = createSecretsManagerSource({ client, logger, now, maxAgeSeconds: 0, digestStore });
      await source.acceptedDigests("kept");
      await source.acceptedDigests("kept");
      expect(digestStore.saved.get("kept")).toEqual(digestsOf(secrets.acme.previous));
      standIn.putSecret("kept", secrets.acme.current);
      await source.acceptedDigests("kept");
      expect(digestStore.saved.get("kept")).toEqual(digestsOf(secrets.acme.current, secrets.acme.previous));
      expect(digestStore.saves).toBe(2);
    });

    it("authenticates from the kept digests when Secrets Manager fails before it read the secret", async () => {
      standIn.putSecret("cold-outage", secrets.globex.current);
      const digestStore = memoryDigestStore();
      await createSecretsManagerSource({ client, logger, now, digestStore }).acceptedDigests("cold-outage");
      const coldSource = createSecretsManagerSource({ client, logger, now, digestStore });
      failSecretsManager();
      expect(await coldSource.acceptedDigests("cold-outage")).toEqual(digestsOf(secrets.globex.current));
      expect(logger.warn).toHaveBeenCalledWith(
        "Secrets Manager failed before this environment read the secret; using its kept digests",
        { secretId: "cold-outage", errorName: "InternalServiceError" },
      );
      expect(digestStore.saves).toBe(1);
      expect(loggedText()).not.toContain(secrets.globex.current);
    });

    it("fails with Secrets Manager's error when no digests were kept or the store fails too", async () => {
      standIn.putSecret("never-kept", secrets.globex.current);
      const digestStore = memoryDigestStore();
      failSecretsManager();
      await expect(
        createSecretsManagerSource({ client, logger, now, digestStore }).acceptedDigests("never-kept"),
      ).rejects.toThrow("down");
      digestStore.saved.set("never-kept", digestsOf(secrets.globex.current));
      digestStore.failing = true;
      failSecretsManager();
      await expect(
        createSecretsManagerSource({ client, logger, now, digestStore }).acceptedDigests("never-kept"),
      ).rejects.toThrow("down");
    });

    it("still answers with what it read when keeping the digests fails, and logs that without a value", async () => {
      standIn.putSecret("unkept", secrets.globex.current);
      const digestStore = memoryDigestStore();
      digestStore.failing = true;
      const source = createSecretsManagerSource({ client, logger, now, digestStore });
      expect(await source.acceptedDigests("unkept")).toEqual(digestsOf(secrets.globex.current));
      expect(logger.warn).toHaveBeenCalledWith(
        "the secret's digests could not be kept for cold starts during an outage",
        { secretId: "unkept", errorName: "Error" },
      );
      expect(loggedText()).not.toContain(secrets.globex.current);
    });
  });
});
