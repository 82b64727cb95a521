import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsServiceError } from "../../../local/aws/json-protocol-server.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../../local/aws/secrets-manager.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startSecretsManager", () => {
  let standIn: SecretsManagerStandIn;
  let client: SecretsManagerClient;

  beforeAll(async () => {
    standIn = await startSecretsManager({ "acme/callback": "first-value" });
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
});
