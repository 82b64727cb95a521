import {
  BatchGetSecretValueCommand,
  DecryptionFailure,
  DeleteSecretCommand,
  GetSecretValueCommand,
  InternalServiceError,
  InvalidRequestException,
  PutSecretValueCommand,
  ResourceNotFoundException,
  RestoreSecretCommand,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsServiceError } from "../../../local/aws/json-protocol-server.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startSecretsManager", () => {
  let standIn: SecretsManagerStandIn;
  let client: SecretsManagerClient;
  let clock = Date.parse("2026-12-01T12:00:00Z");

  beforeAll(async () => {
    standIn = await startSecretsManager({ "acme/callback": "first-value" }, { now: () => new Date(clock) });
    client = new SecretsManagerClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  const valueAt = async (secretId: string, stage?: string) =>
    (await client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }))).SecretString;

  it("serves the current value by name and by ARN", async () => {
    expect(await valueAt("acme/callback")).toBe("first-value");
    expect(await valueAt(standIn.arnOf("acme/callback"), "AWSCURRENT")).toBe("first-value");
  });

  it("answers ResourceNotFoundException for an unknown secret and for a stage nobody holds", async () => {
    await expect(valueAt("nobody")).rejects.toBeInstanceOf(ResourceNotFoundException);
    standIn.putSecret("fresh", "only-version");
    await expect(valueAt("fresh", "AWSPREVIOUS")).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("moves AWSCURRENT to AWSPREVIOUS on PutSecretValue, as a rotation does", async () => {
    standIn.putSecret("rotating", "one");
    await client.send(new PutSecretValueCommand({ SecretId: "rotating", SecretString: "two" }));
    expect(await valueAt("rotating", "AWSCURRENT")).toBe("two");
    expect(await valueAt("rotating", "AWSPREVIOUS")).toBe("one");
    standIn.putSecret("rotating", "three");
    expect(await valueAt("rotating", "AWSCURRENT")).toBe("three");
    expect(await valueAt("rotating", "AWSPREVIOUS")).toBe("two");
  });

  it("fails the next calls as told", async () => {
    standIn.failNext("GetSecretValue", new AwsServiceError("InternalServiceError", "boom", 500));
    await expect(valueAt("acme/callback")).rejects.toMatchObject({ name: "InternalServiceError" });
    expect(await valueAt("acme/callback")).toBe("first-value");
  });

  const versionAt = (secretId: string, stage: string) =>
    client.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));

  it("dates each version by its clock, or as told, and reports its stages", async () => {
    clock = Date.parse("2026-12-01T12:00:00Z");
    standIn.putSecret("dated", "one", new Date("2026-11-01T00:00:00Z"));
    await client.send(new PutSecretValueCommand({ SecretId: "dated", SecretString: "two" }));
    const current = await versionAt("dated", "AWSCURRENT");
    const previous = await versionAt("dated", "AWSPREVIOUS");
    expect(current).toMatchObject({ CreatedDate: new Date(clock), VersionStages: ["AWSCURRENT"] });
    expect(previous).toMatchObject({
      CreatedDate: new Date("2026-11-01T00:00:00Z"),
      VersionStages: ["AWSPREVIOUS"],
    });
    expect(current.VersionId).not.toBe(previous.VersionId);
  });

  it("answers a secret marked for deletion as AWS does, until it is restored", async () => {
    standIn.putSecret("deleted", "value");
    await client.send(new DeleteSecretCommand({ SecretId: "deleted", RecoveryWindowInDays: 7 }));
    const refusal = valueAt("deleted");
    await expect(refusal).rejects.toBeInstanceOf(InvalidRequestException);
    await expect(refusal).rejects.toThrow(
      "You can't perform this operation on the secret because it was marked for deletion.",
    );
    await expect(
      client.send(new PutSecretValueCommand({ SecretId: "deleted", SecretString: "other" })),
    ).rejects.toBeInstanceOf(InvalidRequestException);
    await client.send(new RestoreSecretCommand({ SecretId: "deleted" }));
    expect(await valueAt("deleted")).toBe("value");
  });

  it("forgets a secret deleted without recovery", async () => {
    standIn.putSecret("gone", "value");
    await client.send(new DeleteSecretCommand({ SecretId: "gone", ForceDeleteWithoutRecovery: true }));
    await expect(valueAt("gone")).rejects.toBeInstanceOf(ResourceNotFoundException);
  });

  it("denies access to or fails to decrypt one secret as told, and serves it again when restored", async () => {
    standIn.putSecret("denied", "value");
    standIn.putSecret("undecryptable", "value");
    standIn.denyAccess("denied");
    standIn.failDecryption("undecryptable");
    await expect(valueAt("denied")).rejects.toMatchObject({ name: "AccessDeniedException" });
    await expect(valueAt("denied", "AWSPREVIOUS")).rejects.toMatchObject({ name: "AccessDeniedException" });
    await expect(valueAt("undecryptable")).rejects.toBeInstanceOf(DecryptionFailure);
    expect(await valueAt("acme/callback")).toBe("first-value");
    standIn.restoreAccess("denied");
    expect(await valueAt("denied")).toBe("value");
  });

  it("throttles, fails with 500 or never answers every call during an outage, until it ends", async () => {
    standIn.setOutage("throttling");
    await expect(valueAt("acme/callback")).rejects.toMatchObject({
      name: "ThrottlingException",
      $metadata: { httpStatusCode: 400 },
    });
    standIn.setOutage("internal-error");
    await expect(valueAt("acme/callback")).rejects.toBeInstanceOf(InternalServiceError);
    await expect(valueAt("acme/callback")).rejects.toMatchObject({ $metadata: { httpStatusCode: 500 } });
    standIn.setOutage("hang");
    const hung = new SecretsManagerClient({
      ...standInClientConfig(standIn.url),
      requestHandler: { requestTimeout: 200, throwOnRequestTimeout: true },
    });
    try {
      await expect(hung.send(new GetSecretValueCommand({ SecretId: "acme/callback" }))).rejects.toMatchObject(
        {
          name: "TimeoutError",
        },
      );
    } finally {
      hung.destroy();
    }
    standIn.setOutage(undefined);
    expect(await valueAt("acme/callback")).toBe("first-value");
  });

  it("answers BatchGetSecretValue with each current value by name or ARN, and each unreadable secret in Errors", async () => {
    standIn.putSecret("batch/one", "one");
    standIn.putSecret("batch/two", "two-old");
    standIn.putSecret("batch/two", "two");
    standIn.putSecret("batch/denied", "value");
    standIn.denyAccess("batch/denied");
    const answer = await client.send(
      new BatchGetSecretValueCommand({
        SecretIdList: ["batch/one", standIn.arnOf("batch/two"), "batch/missing", "batch/denied"],
      }),
    );
    expect(answer.SecretValues).toEqual([
      expect.objectContaining({
        ARN: standIn.arnOf("batch/one"),
        Name: "batch/one",
        SecretString: "one",
        VersionId: expect.any(String),
        VersionStages: ["AWSCURRENT"],
      }),
      expect.objectContaining({ ARN: standIn.arnOf("batch/two"), Name: "batch/two", SecretString: "two" }),
    ]);
    expect(answer.Errors).toEqual([
      {
        SecretId: "batch/missing",
        ErrorCode: "ResourceNotFoundException",
        Message: "Secrets Manager can't find the specified secret.",
      },
      expect.objectContaining({ SecretId: "batch/denied", ErrorCode: "AccessDeniedException" }),
    ]);
    standIn.restoreAccess("batch/denied");
  });

  it("refuses a BatchGetSecretValue of more than 20 ids, of none, or with ids and filters both", async () => {
    const ids = Array.from({ length: 21 }, (_, index) => `batch/${index}`);
    await expect(client.send(new BatchGetSecretValueCommand({ SecretIdList: ids }))).rejects.toMatchObject({
      name: "ValidationException",
    });
    await expect(client.send(new BatchGetSecretValueCommand({}))).rejects.toMatchObject({
      name: "InvalidParameterException",
    });
    await expect(
      client.send(
        new BatchGetSecretValueCommand({
          SecretIdList: ["acme/callback"],
          Filters: [{ Key: "name", Values: ["acme"] }],
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
    await expect(
      client.send(new BatchGetSecretValueCommand({ SecretIdList: ["acme/callback"], MaxResults: 5 })),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
  });

  it("removes a staging label from a version, after which that stage is not found", async () => {
    standIn.putSecret("unstaged", "leaked");
    standIn.putSecret("unstaged", "fresh");
    const leaked = await versionAt("unstaged", "AWSPREVIOUS");
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: "unstaged",
        VersionStage: "AWSPREVIOUS",
        RemoveFromVersionId: leaked.VersionId,
      }),
    );
    await expect(valueAt("unstaged", "AWSPREVIOUS")).rejects.toBeInstanceOf(ResourceNotFoundException);
    expect(await valueAt("unstaged")).toBe("fresh");
    await expect(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: "unstaged",
          VersionStage: "AWSCURRENT",
          MoveToVersionId: leaked.VersionId,
        }),
      ),
    ).rejects.toMatchObject({ name: "InvalidParameterException" });
  });
});
