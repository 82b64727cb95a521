import { createHmac } from "node:crypto";
import { CreateKeyCommand, GenerateMacCommand, KMSClient, NotFoundException } from "@aws-sdk/client-kms";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsServiceError } from "../../../local/aws/json-protocol-server.ts";
import { type KmsStandIn, startKms } from "../../../local/aws/kms.ts";
import { standInClientConfig } from "../../support/stand-in-client.ts";

describe("startKms", () => {
  let standIn: KmsStandIn;
  let client: KMSClient;

  beforeAll(async () => {
    standIn = await startKms();
    client = new KMSClient(standInClientConfig(standIn.url));
  });

  afterAll(async () => {
    client.destroy();
    await standIn.close();
  });

  const mac = async (keyId: string, message: string) =>
    (
      await client.send(
        new GenerateMacCommand({ KeyId: keyId, MacAlgorithm: "HMAC_SHA_256", Message: Buffer.from(message) }),
      )
    ).Mac;

  it("generates the same MAC for the same key and message, and different ones otherwise", async () => {
    const key = standIn.createHmacKey();
    const other = standIn.createHmacKey();
    const first = await mac(key, "message");
    expect(first).toHaveLength(32);
    expect(await mac(key, "message")).toEqual(first);
    expect(await mac(key, "other message")).not.toEqual(first);
    expect(await mac(other, "message")).not.toEqual(first);
  });

  it("keeps the key material inside: the MAC is not an HMAC under any key the caller chose", async () => {
    const key = standIn.createHmacKey();
    const generated = Buffer.from((await mac(key, "message")) ?? []);
    expect(generated.equals(createHmac("sha256", key).update("message").digest())).toBe(false);
    expect(generated.equals(createHmac("sha256", "").update("message").digest())).toBe(false);
  });

  it("creates HMAC keys through CreateKey and finds them by id or ARN", async () => {
    const { KeyMetadata } = await client.send(
      new CreateKeyCommand({ KeySpec: "HMAC_256", KeyUsage: "GENERATE_VERIFY_MAC" }),
    );
    expect(await mac(KeyMetadata?.KeyId ?? "", "m")).toEqual(await mac(KeyMetadata?.Arn ?? "", "m"));
  });

  it("answers NotFoundException for an unknown key, and fails as told", async () => {
    await expect(mac("no-such-key", "m")).rejects.toBeInstanceOf(NotFoundException);
    const key = standIn.createHmacKey();
    standIn.failNext("GenerateMac", new AwsServiceError("KMSInternalException", "down", 500));
    await expect(mac(key, "m")).rejects.toMatchObject({ name: "KMSInternalException" });
    expect(await mac(key, "m")).toHaveLength(32);
    expect(standIn.calls.filter((call) => call.operation === "GenerateMac").length).toBeGreaterThan(0);
  });
});
