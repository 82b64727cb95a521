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
 * test's: each call of `environment` is one Lambda environment (a cold start), hosting client "acme"
 * with the secret `secretId`.
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

  const environment = (secretId: string, rotationOverlapSeconds?: number): CallbackHandler => {
    const config = {
      ...loadCallbackConfig(process.env),
      clients: [{ name: "acme", secretId, userBase: "live", environment: "live" as const }],
    };
    const dependencies = createDefaultDependencies(config);
    return createCallbackHandler({
      ...dependencies,
      secrets: createSecretsManagerSource({
        client: sdk.secretsManager,
        logger: dependencies.logger,
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

  const deliver = async (handler: CallbackHandler, secret: string, userId: string) =>
    (await invoke(handler, { path: pathOf("acme", secret), body: deletionBody(userId) })).statusCode;

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
    const secretId = secretWith([secrets.acme.previous]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.acme.previous, "two-ago-0")).toBe(202);
    suite.standIns.secretsManager.putSecret(secretId, secrets.acme.current, now());
    suite.standIns.secretsManager.putSecret(secretId, secrets.rotated, now());
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
    const secretId = secretWith([secrets.acme.previous, secrets.acme.current]);
    const callback = environment(secretId, 3600);
    expect(await deliver(callback, secrets.acme.previous, "overlap-within")).toBe(202);
    clock += HOUR_MS;
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
    const secretId = secretWith([secrets.globex.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.globex.current, `${errorName}-before`)).toBe(202);
    await revoke(secretId);
    /* A warm environment reads the secret again after the max age (300 s): revocation's delay. */
    clock += 300_000;
    expect(await deliver(callback, secrets.globex.current, `${errorName}-after`)).toBe(404);
    expectNothingForwarded(`${errorName}-after`);
    expectUnusableReported("revoked", errorName);
    expect(await deliver(environment(secretId), secrets.globex.current, `${errorName}-cold`)).toBe(404);
    expectNothingForwarded(`${errorName}-cold`);
  });

  it("keeps a warm environment's last known values during an outage", async () => {
    const secretId = secretWith([secrets.globex.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.globex.current, "warm-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += 600_000;
    expect(await deliver(callback, secrets.globex.current, "warm-during")).toBe(202);
    expect(suite.standIns.deletionsOf("warm-during")).toHaveLength(1);
  });

  it("authenticates a cold start during an outage from fresh kept digests", async () => {
    const secretId = secretWith([secrets.globex.current]);
    expect(await deliver(environment(secretId), secrets.globex.current, "fresh-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += (DEFAULT_DIGEST_MAX_AGE_SECONDS - 60) * 1000;
    expect(await deliver(environment(secretId), secrets.globex.current, "fresh-cold")).toBe(202);
    expect(suite.standIns.deletionsOf("fresh-cold")).toHaveLength(1);
  });

  it("answers 404 to a cold start during an outage whose kept digests expired, and reports it", async () => {
    const secretId = secretWith([secrets.globex.current]);
    expect(await deliver(environment(secretId), secrets.globex.current, "expired-before")).toBe(202);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += DEFAULT_DIGEST_MAX_AGE_SECONDS * 1000;
    expect(await deliver(environment(secretId), secrets.globex.current, "expired-cold")).toBe(404);
    expectNothingForwarded("expired-cold");
    expectUnusableReported("unavailable", "InternalServiceError");
  });

  it("does not bring a revoked secret back in a later outage, warm or cold", async () => {
    const secretId = secretWith([secrets.globex.current]);
    const callback = environment(secretId);
    expect(await deliver(callback, secrets.globex.current, "resurrect-before")).toBe(202);
    suite.standIns.secretsManager.denyAccess(secretId);
    clock += 300_000;
    expect(await deliver(callback, secrets.globex.current, "resurrect-revoked")).toBe(404);
    suite.standIns.secretsManager.setOutage("internal-error");
    clock += 600_000;
    expect(await deliver(callback, secrets.globex.current, "resurrect-warm")).toBe(404);
    expect(await deliver(environment(secretId), secrets.globex.current, "resurrect-cold")).toBe(404);
    for (const userId of ["resurrect-revoked", "resurrect-warm", "resurrect-cold"])
      expectNothingForwarded(userId);
  });

  it("refuses a leaked AWSPREVIOUS within the overlap once the label is removed from it (the runbook's no-loss path)", async () => {
    const secretId = secretWith([secrets.acme.previous]);
    const callback = environment(secretId);
    suite.standIns.secretsManager.putSecret(secretId, secrets.acme.current, now());
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
});
