import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { GenerateMacCommand, KMSClient } from "@aws-sdk/client-kms";
import {
  DeleteSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { AWS_CLIENT_CONFIG } from "../../functions/aws/client-config.ts";
import { CallbackMetric } from "../../functions/contracts/metrics.ts";
import { createCallbackHandler } from "../../functions/user-sync-callback/app.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { createDefaultDependencies } from "../../functions/user-sync-callback/dependencies.ts";
import { createKmsDigestKey, DIGEST_KEY_MESSAGE } from "../../functions/user-sync-callback/kms-digest-key.ts";
import {
  createDynamoDbDigestStore,
  DEFAULT_DIGEST_MAX_AGE_SECONDS,
} from "../../functions/user-sync-callback/secret-digest-store.ts";
import { createSecretsManagerSource } from "../../functions/user-sync-callback/secret-source.ts";
import {
  type CallbackHandler,
  deletionBody,
  invoke,
  pathOf,
  secrets,
  TABLE_NAME,
} from "./support/harness.ts";
import { useCallbackSuite } from "./support/suite.ts";

const HOUR_MS = 3_600_000;

/**
 * The real handler and forwarding against the stand-ins, with the secret source on a clock of the
 * test's: each call of `environment` is one Lambda environment (a cold start), hosting clients "acme"
 * and "globex" with path secrets derived from the root secret `secretId`.
 */
describe("revocable callback secrets (handler, stand-ins)", () => {
  const suite = useCallbackSuite();
  let clock = Date.now();
  const now = () => new Date(clock);
  let sdk: { secretsManager: SecretsManagerClient; dynamoDb: DynamoDBClient; kms: KMSClient };
  let digestKeyTexts: string[];

  beforeAll(async () => {
    sdk = {
      secretsManager: new SecretsManagerClient(AWS_CLIENT_CONFIG),
      dynamoDb: new DynamoDBClient(AWS_CLIENT_CONFIG),
      kms: new KMSClient(AWS_CLIENT_CONFIG),
    };
    const { Mac } = await sdk.kms.send(
      new GenerateMacCommand({
        KeyId: process.env.SECRET_DIGEST_KEY_ID,
        MacAlgorithm: "HMAC_SHA_256",
        Message: new TextEncoder().encode(DIGEST_KEY_MESSAGE),
      }),
    );
    const key = Buffer.from(Mac ?? []);
    digestKeyTexts = [key.toString("hex"), key.toString("base64"), key.toString("base64url")];
  });

  afterEach(() => {
    suite.standIns.secretsManager.setOutage(undefined);
    const output = suite.output.lines().join("\n");
    for (const text of digestKeyTexts)
      expect(output.includes(text), "the digest key appears in the output").toBe(false);
  });

  afterAll(() => {
    for (const client of Object.values(sdk)) client.destroy();
  });

  const environment = (
    secretId: string,
    rotationOverlapSeconds?: number,
    acmeGeneration = 0,
  ): CallbackHandler => {
    const config = {
      ...loadCallbackConfig(process.env),
      rootSecretId: secretId,
      clients: [
        {
          name: "acme",
          callbackSecretGeneration: acmeGeneration,
          userBase: "live",
          environment: "live" as const,
        },
        { name: "globex", callbackSecretGeneration: 0, userBase: "live", environment: "live" as const },
      ],
    };
    const dependencies = createDefaultDependencies(config);
    return createCallbackHandler({
      ...dependencies,
      secrets: createSecretsManagerSource({
        client: sdk.secretsManager,
        logger: dependencies.logger,
        rootSecretId: config.rootSecretId,
        clients: config.clients,
        now,
        rotationOverlapSeconds,
        keptDigests: {
          store: createDynamoDbDigestStore({ client: sdk.dynamoDb, tableName: TABLE_NAME, now }),
          key: createKmsDigestKey(sdk.kms, config.secretDigestKeyId),
        },
      }),
    });
  };

  let sequence = 0;
  const secretWith = (values: readonly string[], createdAt = now()) => {
    sequence += 1;
    const secretId = `revocation/case-${sequence}`;
    for (const value of values) suite.standIns.secretsManager.putSecret(secretId, value, createdAt);
    return secretId;
  };

  const deliver = async (handler: CallbackHandler, secret: string, userId: string, client = "acme") =>
    (await invoke(handler, { path: pathOf(client, secret), body: deletionBody(userId) })).statusCode;

  const expectNothingForwarded = (userId: string) => {
    expect(suite.standIns.deletionsOf(userId)).toEqual([]);
    expect(suite.standIns.deadLetters().filter((letter) => letter.userId === userId)).toEqual([]);
  };

  const expectUnusableReported = (reason: string, errorName: string) => {
    expect(suite.output.logs()).toContainEqual(
      expect.objectContaining({
        level: "ERROR",
        message: "callback refused: the client's secret is not usable",
        client: "acme",
        reason,
        errorName,
      }),
    );
    expect(suite.output.count(CallbackMetric.SecretUnusable, "acme")).toBeGreaterThan(0);
  };

  it("refuses the value from two rotations ago and forwards nothing", async () => {
    const secretId = secretWith([secrets.root.previous]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.acme.previous, "two-ago-0")).toBe(202);
    suite.standIns.secretsManager.putSecret(secretId, secrets.root.current, now());
    suite.standIns.secretsManager.putSecret(secretId, secrets.rotatedRoot, now());
    clock += 10_000;
    expect(await deliver(callback, secrets.rotated, "two-ago-1")).toBe(202);
    expect(await deliver(callback, secrets.acme.current, "two-ago-2")).toBe(202);
    expect(await deliver(callback, secrets.acme.previous, "two-ago-3")).toBe(404);
    expectNothingForwarded("two-ago-3");
    expect(suite.output.count(CallbackMetric.Unauthenticated)).toBe(1);
    expect(await deliver(environment(secretId), secrets.acme.previous, "two-ago-cold")).toBe(404);
    expectNothingForwarded("two-ago-cold");
  });

  it("accepts AWSPREVIOUS within the overlap and answers 404 past it", async () => {
    const secretId = secretWith([secrets.root.previous, secrets.root.current]);
    const callback = environment(secretId, 3600);
    expect(await deliver(callback, secrets.acme.previous, "overlap-within")).toBe(202);
    /* The root's rotation rotated every client's path secret, each with the same overlap. */
    expect(await deliver(callback, secrets.globex.previous, "overlap-within-globex", "globex")).toBe(202);
    clock += HOUR_MS;
    expect(await deliver(callback, secrets.globex.previous, "overlap-past-globex", "globex")).toBe(404);
    expectNothingForwarded("overlap-past-globex");
    expect(await deliver(callback, secrets.acme.previous, "overlap-past")).toBe(404);
    expectNothingForwarded("overlap-past");
    expect(await deliver(environment(secretId, 3600), secrets.acme.previous, "overlap-past-cold")).toBe(404);
    expectNothingForwarded("overlap-past-cold");
    expect(await deliver(callback, secrets.acme.current, "overlap-current")).toBe(202);
  });

  it.each([
    [
      "access is denied",
      "AccessDeniedException",
      (id: string) => suite.standIns.secretsManager.denyAccess(id),
    ],
    [
      "it cannot be decrypted",
      "DecryptionFailure",
      (id: string) => suite.standIns.secretsManager.failDecryption(id),
    ],
    [
      "it is marked for deletion",
      "InvalidRequestException",
      (id: string) =>
        sdk.secretsManager.send(new DeleteSecretCommand({ SecretId: id, RecoveryWindowInDays: 7 })),
    ],
  ])("answers 404 when %s, even to the right secret, and reports it", async (_case, errorName, revoke) => {
    const secretId = secretWith([secrets.root.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.acme.current, `${errorName}-before`)).toBe(202);
    await revoke(secretId);
    /* A warm environment reads the secret again after the max age (300 s): revocation's delay. */
    clock += 300_000;
    expect(await deliver(callback, secrets.acme.current, `${errorName}-after`)).toBe(404);
    expectNothingForwarded(`${errorName}-after`);
    expectUnusableReported("revoked", errorName);
    /* The root secret is revoked: every client's URL with it. */
    expect(await deliver(callback, secrets.globex.current, `${errorName}-globex`, "globex")).toBe(404);
    expectNothingForwarded(`${errorName}-globex`);
    expect(await deliver(environment(secretId), secrets.acme.current, `${errorName}-cold`)).toBe(404);
    expectNothingForwarded(`${errorName}-cold`);
  });

  it("keeps a warm environment's last known values during an outage", async () => {
    const secretId = secretWith([secrets.root.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.acme.current, "warm-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += 600_000;
    expect(await deliver(callback, secrets.acme.current, "warm-during")).toBe(202);
    expect(suite.standIns.deletionsOf("warm-during")).toHaveLength(1);
  });

  it("authenticates a cold start during an outage from fresh kept digests", async () => {
    const secretId = secretWith([secrets.root.current]);
    expect(await deliver(environment(secretId), secrets.acme.current, "fresh-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += (DEFAULT_DIGEST_MAX_AGE_SECONDS - 60) * 1000;
    expect(await deliver(environment(secretId), secrets.acme.current, "fresh-cold")).toBe(202);
    expect(suite.standIns.deletionsOf("fresh-cold")).toHaveLength(1);
  });

  it("answers 404 to a cold start during an outage whose kept digests expired, and reports it", async () => {
    const secretId = secretWith([secrets.root.current]);
    expect(await deliver(environment(secretId), secrets.acme.current, "expired-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += DEFAULT_DIGEST_MAX_AGE_SECONDS * 1000;
    expect(await deliver(environment(secretId), secrets.acme.current, "expired-cold")).toBe(404);
    expectNothingForwarded("expired-cold");
    expectUnusableReported("unavailable", "InternalServiceError");
  });

  it("does not bring a revoked secret back in a later outage, warm or cold", async () => {
    const secretId = secretWith([secrets.root.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.acme.current, "resurrect-before")).toBe(202);
    suite.standIns.secretsManager.denyAccess(secretId);
    clock += 300_000;
    expect(await deliver(callback, secrets.acme.current, "resurrect-revoked")).toBe(404);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += 600_000;
    expect(await deliver(callback, secrets.acme.current, "resurrect-warm")).toBe(404);
    expect(await deliver(environment(secretId), secrets.acme.current, "resurrect-cold")).toBe(404);
    for (const userId of ["resurrect-revoked", "resurrect-warm", "resurrect-cold"])
      expectNothingForwarded(userId);
  });

  it("refuses a leaked AWSPREVIOUS within the overlap once the label is removed from it (the runbook's no-loss path)", async () => {
    const secretId = secretWith([secrets.root.previous]);
    const callback = environment(secretId);
    suite.standIns.secretsManager.putSecret(secretId, secrets.root.current, now());
    clock += 300_000;
    expect(await deliver(callback, secrets.acme.previous, "unstage-before")).toBe(202);
    const leaked = await sdk.secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSPREVIOUS" }),
    );
    await sdk.secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: "AWSPREVIOUS",
        RemoveFromVersionId: leaked.VersionId,
      }),
    );
    clock += 300_000;
    expect(await deliver(callback, secrets.acme.previous, "unstage-after")).toBe(404);
    expectNothingForwarded("unstage-after");
    expect(await deliver(callback, secrets.acme.current, "unstage-current")).toBe(202);
  });

  describe("per client: a bumped callbackSecretGeneration", () => {
    it("refuses the client's old path secret at once, within the root's rotation overlap too, and leaves the other clients' as they were", async () => {
      const secretId = secretWith([secrets.root.previous]);
      suite.standIns.secretsManager.putSecret(secretId, secrets.root.current, now());
      const before = environment(secretId);
      expect(await deliver(before, secrets.acme.current, "gen-before")).toBe(202);
      expect(await deliver(before, secrets.acme.previous, "gen-before-previous")).toBe(202);
      /* The deployment with acme's generation bumped: new environments, no overlap for acme. */
      const after = environment(secretId, undefined, 1);
      expect(await deliver(after, secrets.acme.current, "gen-old")).toBe(404);
      expect(await deliver(after, secrets.acme.previous, "gen-old-previous")).toBe(404);
      expect(await deliver(after, secrets.acme.generation1, "gen-new")).toBe(202);
      expect(await deliver(after, secrets.globex.current, "gen-globex", "globex")).toBe(202);
      expect(await deliver(after, secrets.globex.previous, "gen-globex-previous", "globex")).toBe(202);
      for (const userId of ["gen-old", "gen-old-previous"]) expectNothingForwarded(userId);
      expect(suite.output.count(CallbackMetric.SecretUnusable, "acme")).toBe(0);
    });

    it("is not undone by digests kept before the bump when the new generation starts during an outage", async () => {
      const secretId = secretWith([secrets.root.current]);
      expect(await deliver(environment(secretId), secrets.acme.current, "gen-kept-before")).toBe(202);
      suite.standIns.secretsManager.setOutage("internal-error");
      const after = environment(secretId, undefined, 1);
      expect(await deliver(after, secrets.acme.current, "gen-kept-old")).toBe(404);
      expectNothingForwarded("gen-kept-old");
      expect(await deliver(after, secrets.globex.current, "gen-kept-globex", "globex")).toBe(202);
    });
  });
});
