import { createHash, createHmac } from "node:crypto";
import { GenerateMacCommand, KMSClient } from "@aws-sdk/client-kms";
import { DeleteSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { authenticateCallback } from "../../functions/user-sync-callback/authenticate.ts";
import { createKmsDigestKey, DIGEST_KEY_MESSAGE } from "../../functions/user-sync-callback/kms-digest-key.ts";
import type {
  KeptDigests,
  SecretDigestStore,
} from "../../functions/user-sync-callback/secret-digest-store.ts";
import {
  type CallbackSecretSource,
  createSecretsManagerSource,
  isSecretsManagerOutage,
  type SecretsManagerSourceOptions,
  type SecretVerdict,
} from "../../functions/user-sync-callback/secret-source.ts";
import { type KmsStandIn, startKms } from "../../local/aws/kms.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { secrets } from "./support/harness.ts";

const HOUR_MS = 3_600_000;
const ACME = { name: "acme", callbackSecretGeneration: 0 };

/* The root secret version an acme path secret of the fixture derives from. */
const rootOf = (value: string): string =>
  ({
    [secrets.acme.previous]: secrets.root.previous,
    [secrets.acme.current]: secrets.root.current,
    [secrets.rotated]: secrets.rotatedRoot,
  })[value] ?? value;
const START = Date.parse("2026-12-01T12:00:00Z");

/** A digest store in memory that counts what is asked of it, can be made to fail, and expires nothing. */
function memoryDigestStore() {
  const saved = new Map<string, KeptDigests>();
  const store = {
    saves: 0,
    loads: 0,
    forgets: 0,
    failing: false,
    saved,
    async save(secretId: string, digests: KeptDigests) {
      if (store.failing) throw new Error("ProvisionedThroughputExceededException");
      store.saves += 1;
      saved.set(secretId, digests);
    },
    async load(secretId: string) {
      store.loads += 1;
      if (store.failing) throw new Error("ProvisionedThroughputExceededException");
      return saved.get(secretId);
    },
    async forget(secretId: string) {
      store.forgets += 1;
      saved.delete(secretId);
    },
  } satisfies SecretDigestStore & Record<string, unknown>;
  return store;
}

const matches = (verdict: SecretVerdict | undefined, candidate: string) =>
  verdict?.usable === true && verdict.matches(candidate);

describe("createSecretsManagerSource (the callback root secret)", () => {
  let secretsManager: SecretsManagerStandIn;
  let kms: KmsStandIn;
  let client: SecretsManagerClient;
  let kmsClient: KMSClient;
  let digestKeyId: string;
  const logger = { warn: vi.fn(), error: vi.fn() };
  let clock = START;
  const now = () => new Date(clock);

  beforeAll(async () => {
    [secretsManager, kms] = await Promise.all([startSecretsManager({}, { now }), startKms()]);
    client = new SecretsManagerClient(standInClientConfig(secretsManager.url));
    kmsClient = new KMSClient(standInClientConfig(kms.url));
    digestKeyId = kms.createHmacKey();
  });

  beforeEach(() => {
    clock = START;
    logger.warn.mockClear();
    logger.error.mockClear();
  });

  afterEach(() => {
    secretsManager.setOutage(undefined);
  });

  afterAll(async () => {
    client.destroy();
    kmsClient.destroy();
    await Promise.all([secretsManager.close(), kms.close()]);
  });

  let sequence = 0;
  /**
   * A root secret of this test alone, created at `createdAt` with each of `values` as a rotation: a
   * path secret of acme's stands for the root version it derives from, anything else is stored as it is.
   */
  const secretWith = (values: readonly string[], createdAt = new Date(START)) => {
    sequence += 1;
    const secretId = `callback/case-${sequence}`;
    for (const value of values) secretsManager.putSecret(secretId, rootOf(value), createdAt);
    return secretId;
  };

  /**
   * An environment hosting acme (generation 0): `verdict(rootSecretId)` is acme's verdict under that
   * root secret. One source per root secret, all with these options (so one digest key derivation).
   */
  const source = (options: Partial<SecretsManagerSourceOptions> = {}) => {
    const sources = new Map<string, CallbackSecretSource>();
    const of = (rootSecretId: string) => {
      const existing = sources.get(rootSecretId);
      if (existing) return existing;
      const created = createSecretsManagerSource({
        client,
        logger,
        now,
        rootSecretId,
        clients: [ACME],
        ...options,
      });
      sources.set(rootSecretId, created);
      return created;
    };
    return {
      verdict: (rootSecretId: string) => of(rootSecretId).verdict(ACME.name),
      refreshedVerdict: (rootSecretId: string) => of(rootSecretId).refreshedVerdict(ACME.name),
    };
  };

  const withKept = (store: SecretDigestStore) => ({
    store,
    key: createKmsDigestKey(kmsClient, digestKeyId),
  });

  const callsFor = (secretId: string) =>
    secretsManager.calls.filter(
      (call) => call.operation === "GetSecretValue" && call.input.SecretId === secretId,
    );

  const loggedText = () => JSON.stringify([logger.warn.mock.calls, logger.error.mock.calls]);

  describe("rotation", () => {
    it("accepts AWSCURRENT and, within the overlap after it was created, AWSPREVIOUS", async () => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const verdict = await source().verdict(secretId);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
      expect(matches(verdict, secrets.acme.previous)).toBe(true);
      expect(matches(verdict, secrets.rotated)).toBe(false);
    });

    it("stops accepting AWSPREVIOUS when the overlap ends, even from memory", async () => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const verdict = await source({ rotationOverlapSeconds: 3600 }).verdict(secretId);
      clock = START + HOUR_MS - 1;
      expect(matches(verdict, secrets.acme.previous)).toBe(true);
      clock = START + HOUR_MS;
      expect(matches(verdict, secrets.acme.previous)).toBe(false);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
    });

    it("does not even read AWSPREVIOUS when AWSCURRENT was created longer ago than the overlap", async () => {
      const secretId = secretWith(
        [secrets.acme.previous, secrets.acme.current],
        new Date(START - 25 * HOUR_MS),
      );
      const verdict = await source().verdict(secretId);
      expect(matches(verdict, secrets.acme.previous)).toBe(false);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
      expect(callsFor(secretId).map((call) => call.input.VersionStage)).toEqual(["AWSCURRENT"]);
    });

    it("refuses the value from two rotations ago once the second rotation is read", async () => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const callback = source({ minRefreshIntervalSeconds: 10 });
      expect(matches(await callback.verdict(secretId), secrets.acme.previous)).toBe(true);
      secretsManager.putSecret(secretId, rootOf(secrets.rotated), new Date(START));
      clock += 10_000;
      const refreshed = await callback.refreshedVerdict(secretId);
      expect(matches(refreshed, secrets.rotated)).toBe(true);
      expect(matches(refreshed, secrets.acme.current)).toBe(true);
      expect(matches(refreshed, secrets.acme.previous)).toBe(false);
      expect(matches(await callback.verdict(secretId), secrets.acme.previous)).toBe(false);
    });

    it("serves repeat lookups from memory, a missing AWSPREVIOUS included", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const callback = source();
      for (let index = 0; index < 5; index += 1) {
        expect(matches(await callback.verdict(secretId), secrets.acme.current)).toBe(true);
      }
      expect(callsFor(secretId).map((call) => call.input.VersionStage)).toEqual([
        "AWSCURRENT",
        "AWSPREVIOUS",
      ]);
      expect(logger.error).not.toHaveBeenCalled();
    });

    it("reads anew on request, at most once per interval, and again when memory is older than the max age", async () => {
      const secretId = secretWith([secrets.acme.previous]);
      const callback = source({ minRefreshIntervalSeconds: 10, maxAgeSeconds: 300 });
      await callback.verdict(secretId);
      secretsManager.putSecret(secretId, rootOf(secrets.rotated), new Date(START));
      clock += 9_999;
      expect(await callback.refreshedVerdict(secretId)).toBeUndefined();
      expect(matches(await callback.verdict(secretId), secrets.rotated)).toBe(false);
      clock += 1;
      expect(matches(await callback.refreshedVerdict(secretId), secrets.rotated)).toBe(true);
      const readsSoFar = callsFor(secretId).length;
      clock += 299_999;
      await callback.verdict(secretId);
      expect(callsFor(secretId)).toHaveLength(readsSoFar);
      clock += 1;
      await callback.verdict(secretId);
      expect(callsFor(secretId).length).toBeGreaterThan(readsSoFar);
    });

    it("shares one read among concurrent lookups", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const callback = source();
      await Promise.all(Array.from({ length: 20 }, () => callback.verdict(secretId)));
      expect(callsFor(secretId)).toHaveLength(2);
    });
  });

  describe("a secret that cannot be used", () => {
    const expectRevoked = (verdict: SecretVerdict, errorName: string) =>
      expect(verdict).toEqual({ usable: false, reason: "revoked", errorName });

    it.each([
      ["access is denied", "AccessDeniedException", (id: string) => secretsManager.denyAccess(id)],
      ["it cannot be decrypted", "DecryptionFailure", (id: string) => secretsManager.failDecryption(id)],
    ])("is refused when %s, and forgets what it knew and kept", async (_case, errorName, revoke) => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      const callback = source({ keptDigests: withKept(store), maxAgeSeconds: 0 });
      expect(matches(await callback.verdict(secretId), secrets.acme.current)).toBe(true);
      expect(store.saved.has(secretId)).toBe(true);
      revoke(secretId);
      expectRevoked(await callback.verdict(secretId), errorName);
      expect(store.saved.has(secretId)).toBe(false);
      expect(logger.error).toHaveBeenCalledWith(
        "callback root secret is not usable; every client's requests are refused",
        {
          secretId,
          errorName,
        },
      );
    });

    it("is refused when marked for deletion (InvalidRequestException)", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const callback = source({ maxAgeSeconds: 0 });
      await callback.verdict(secretId);
      await client.send(new DeleteSecretCommand({ SecretId: secretId, RecoveryWindowInDays: 7 }));
      expectRevoked(await callback.verdict(secretId), "InvalidRequestException");
    });

    it("is refused when it does not exist", async () => {
      expectRevoked(await source().verdict("callback/never-created"), "ResourceNotFoundException");
    });

    it("is refused when its value breaks the shared rule, and the log states the rule without the value", async () => {
      const secretId = secretWith(["only42charactersxxxxxxxxxxxxxxxxxxxxxxxxxx"]);
      expectRevoked(await source().verdict(secretId), "MalformedSecretValue");
      expect(logger.error).toHaveBeenCalledWith("callback root secret is malformed", {
        secretId,
        versionStage: "AWSCURRENT",
        rule: "at least 43 characters of A-Z a-z 0-9 . _ ~ - (the stack generates 64 alphanumerics)",
      });
      expect(loggedText()).not.toContain("only42characters");
    });

    it("accepts only AWSCURRENT when AWSPREVIOUS breaks the rule", async () => {
      const secretId = secretWith(["short", secrets.acme.current]);
      const verdict = await source().verdict(secretId);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
      expect(matches(verdict, "short")).toBe(false);
    });

    it("stays refused through a later outage, here and in an environment that starts during it", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      const warm = source({ keptDigests: withKept(store), maxAgeSeconds: 0 });
      await warm.verdict(secretId);
      secretsManager.denyAccess(secretId);
      expectRevoked(await warm.verdict(secretId), "AccessDeniedException");
      secretsManager.setOutage("internal-error");
      clock += 60_000;
      expectRevoked(await warm.verdict(secretId), "AccessDeniedException");
      expect(matches(await warm.refreshedVerdict(secretId), secrets.acme.current)).toBe(false);
      const cold = source({ keptDigests: withKept(store) });
      expect(await cold.verdict(secretId)).toEqual({
        usable: false,
        reason: "unavailable",
        errorName: "InternalServiceError",
      });
    });

    it("is usable again once Secrets Manager serves it again", async () => {
      const secretId = secretWith([secrets.acme.current]);
      secretsManager.denyAccess(secretId);
      const callback = source({ minRefreshIntervalSeconds: 10 });
      expectRevoked(await callback.verdict(secretId), "AccessDeniedException");
      secretsManager.restoreAccess(secretId);
      clock += 10_000;
      expect(matches(await callback.refreshedVerdict(secretId), secrets.acme.current)).toBe(true);
    });
  });

  describe("while Secrets Manager fails", () => {
    it.each([
      ["throttles", "throttling", "ThrottlingException"],
      ["fails with 500", "internal-error", "InternalServiceError"],
    ] as const)("keeps what this environment read before when it %s", async (_case, outage, errorName) => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const callback = source({ maxAgeSeconds: 0 });
      await callback.verdict(secretId);
      secretsManager.setOutage(outage);
      const verdict = await callback.verdict(secretId);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
      expect(matches(verdict, secrets.acme.previous)).toBe(true);
      expect(logger.warn).toHaveBeenCalledWith(
        "Secrets Manager failed; using what this environment read before",
        {
          secretId,
          errorName,
        },
      );
      expect(loggedText()).not.toContain(secrets.acme.current);
    });

    it("keeps what it read before when Secrets Manager does not answer at all", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const hanging = new SecretsManagerClient({
        ...standInClientConfig(secretsManager.url),
        /* The first read, before the outage, must answer within it: 2 s holds on a starved machine. */
        requestHandler: { requestTimeout: 2_000, throwOnRequestTimeout: true },
      });
      try {
        const callback = source({ client: hanging, maxAgeSeconds: 0 });
        await callback.verdict(secretId);
        secretsManager.setOutage("hang");
        expect(matches(await callback.verdict(secretId), secrets.acme.current)).toBe(true);
      } finally {
        hanging.destroy();
      }
    }, 10_000);

    it("still ends AWSPREVIOUS's overlap during the outage", async () => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const callback = source({ rotationOverlapSeconds: 3600, maxAgeSeconds: 0 });
      await callback.verdict(secretId);
      secretsManager.setOutage("internal-error");
      clock = START + HOUR_MS;
      const verdict = await callback.verdict(secretId);
      expect(matches(verdict, secrets.acme.previous)).toBe(false);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
    });

    it("authenticates a cold start from fresh kept digests, AWSPREVIOUS within its overlap only", async () => {
      const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
      const store = memoryDigestStore();
      await source({ keptDigests: withKept(store), rotationOverlapSeconds: 3600 }).verdict(secretId);
      secretsManager.setOutage("internal-error");
      const verdict = await source({ keptDigests: withKept(store) }).verdict(secretId);
      expect(matches(verdict, secrets.acme.current)).toBe(true);
      expect(matches(verdict, secrets.acme.previous)).toBe(true);
      clock = START + HOUR_MS;
      expect(matches(verdict, secrets.acme.previous)).toBe(false);
      expect(logger.warn).toHaveBeenCalledWith(
        "Secrets Manager failed before this environment read the root secret; using its kept digests",
        { secretId, errorName: "InternalServiceError" },
      );
    });

    it("refuses a cold start that finds no kept digests", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      secretsManager.setOutage("internal-error");
      const unavailable = { usable: false, reason: "unavailable", errorName: "InternalServiceError" };
      expect(await source({ keptDigests: withKept(store) }).verdict(secretId)).toEqual(unavailable);
      expect(logger.error).toHaveBeenCalledWith(
        "Secrets Manager failed and no usable digests are kept; the clients' requests are refused",
        { secretId, errorName: "InternalServiceError" },
      );
    });

    it("answers a cold start that cannot read its kept digests either with an outage, and remembers nothing", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      store.saved.set(secretId, { current: new Map([["acme", new Uint8Array(32)]]) });
      store.failing = true;
      secretsManager.setOutage("throttling");
      const cold = source({ keptDigests: withKept(store) });
      const outage = { usable: false, reason: "outage", errorName: "ThrottlingException" };
      expect(await cold.verdict(secretId)).toEqual(outage);
      expect(logger.error).toHaveBeenCalledWith(
        "Secrets Manager failed and the kept digests could not be read; answering 5xx and remembering nothing",
        { secretId, errorName: "ThrottlingException", keptDigestsError: "Error" },
      );
      /* Each try reads again: no refusal and no outage is remembered. */
      const readsSoFar = callsFor(secretId).length;
      expect(await cold.verdict(secretId)).toEqual(outage);
      expect(callsFor(secretId).length).toBeGreaterThan(readsSoFar);
      secretsManager.setOutage(undefined);
      expect(matches(await cold.verdict(secretId), secrets.acme.current)).toBe(true);
    });

    it("costs no call per request: 1,000 wrong secrets on a warm and on a cold environment", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      const clients = [
        { name: "globex", callbackSecretGeneration: 0, userBase: "live", environment: "live" as const },
      ];
      const environment = () =>
        createSecretsManagerSource({
          client,
          logger,
          now,
          rootSecretId: secretId,
          clients,
          keptDigests: withKept(store),
        });
      const warm = environment();
      await warm.verdict("globex");
      secretsManager.setOutage("internal-error");
      const cold = environment();
      await cold.verdict("globex");
      const before = {
        secretsManager: secretsManager.calls.length,
        kms: kms.calls.length,
        loads: store.loads,
        saves: store.saves,
      };
      for (const environment of [warm, cold]) {
        const answers = await Promise.all(
          Array.from({ length: 1_000 }, (_, index) =>
            authenticateCallback(
              { client: "globex", secret: `wrong-secret-${index}-xxxxxxxxxxxxxx` },
              clients,
              environment,
            ),
          ),
        );
        expect(answers.every((answer) => answer.outcome === "refused")).toBe(true);
      }
      expect({
        secretsManager: secretsManager.calls.length,
        kms: kms.calls.length,
        loads: store.loads,
        saves: store.saves,
      }).toEqual(before);
      const right = await authenticateCallback(
        { client: "globex", secret: secrets.globex.current },
        clients,
        cold,
      );
      expect(right.outcome).toBe("authenticated");
    });
  });

  describe("kept digests", () => {
    it("are HMAC-SHA256 under the key derived from the KMS key, not SHA-256 of the secret", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      await source({ keptDigests: withKept(store) }).verdict(secretId);
      const kept = Buffer.from(store.saved.get(secretId)?.current.get("acme") ?? []);
      expect(kept.equals(createHash("sha256").update(secrets.acme.current).digest())).toBe(false);
      const { Mac } = await kmsClient.send(
        new GenerateMacCommand({
          KeyId: digestKeyId,
          MacAlgorithm: "HMAC_SHA_256",
          Message: new TextEncoder().encode(DIGEST_KEY_MESSAGE),
        }),
      );
      /* Bound to the client's name and generation. */
      const expected = createHmac("sha256", Mac ?? new Uint8Array())
        .update("acme/0")
        .update("\0")
        .update(secrets.acme.current)
        .digest();
      expect(kept.equals(expected)).toBe(true);
    });

    it("derive their key once per environment", async () => {
      const store = memoryDigestStore();
      const callback = source({ keptDigests: withKept(store), maxAgeSeconds: 0 });
      const macsBefore = kms.calls.filter((call) => call.operation === "GenerateMac").length;
      for (const value of [secrets.acme.current, secrets.acme.current]) {
        await callback.verdict(secretWith([value]));
      }
      expect(kms.calls.filter((call) => call.operation === "GenerateMac").length).toBe(macsBefore + 1);
    });

    it("are saved again only when they change", async () => {
      const secretId = secretWith([secrets.acme.previous]);
      const store = memoryDigestStore();
      const callback = source({ keptDigests: withKept(store), maxAgeSeconds: 0 });
      await callback.verdict(secretId);
      await callback.verdict(secretId);
      secretsManager.putSecret(secretId, rootOf(secrets.acme.current), new Date(START));
      await callback.verdict(secretId);
      expect(store.saves).toBe(2);
      expect(store.saved.get(secretId)?.previous?.acceptedUntilMs).toBe(START + 24 * HOUR_MS);
    });

    it("failing to be kept does not stop authentication, and is logged without a value", async () => {
      const secretId = secretWith([secrets.acme.current]);
      const store = memoryDigestStore();
      store.failing = true;
      expect(
        matches(await source({ keptDigests: withKept(store) }).verdict(secretId), secrets.acme.current),
      ).toBe(true);
      expect(logger.warn).toHaveBeenCalledWith(
        "the path secrets' digests could not be kept for cold starts during an outage",
        { secretId, errorName: "Error" },
      );
      expect(loggedText()).not.toContain(secrets.acme.current);
    });
  });
});

describe("isSecretsManagerOutage", () => {
  const serviceError = (name: string, httpStatusCode: number, fault: "client" | "server" = "client") =>
    Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode } });

  it.each([
    ["ThrottlingException", serviceError("ThrottlingException", 400)],
    ["InternalServiceError", serviceError("InternalServiceError", 500, "server")],
    ["a 503 of any name", serviceError("ServiceUnavailable", 503, "server")],
    ["a timeout (no HTTP answer)", Object.assign(new Error("timed out"), { name: "TimeoutError" })],
    ["a refused connection", Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })],
  ])("counts %s as an outage", (_case, error) => {
    expect(isSecretsManagerOutage(error)).toBe(true);
  });

  it.each([
    ["AccessDeniedException", serviceError("AccessDeniedException", 400)],
    ["ResourceNotFoundException", serviceError("ResourceNotFoundException", 400)],
    ["InvalidRequestException (marked for deletion)", serviceError("InvalidRequestException", 400)],
    ["DecryptionFailure", serviceError("DecryptionFailure", 400)],
    ["an unforeseen 4xx", serviceError("UnrecognizedClientException", 403)],
  ])("counts %s as the secret being unusable", (_case, error) => {
    expect(isSecretsManagerOutage(error)).toBe(false);
  });
});
