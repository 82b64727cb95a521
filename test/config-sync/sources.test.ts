import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createParameterSource } from "../../functions/config-sync/parameter-source.ts";
import { createSecretSource } from "../../functions/config-sync/secret-source.ts";
import { type SecretsManagerStandIn, startSecretsManager } from "../../local/aws/secrets-manager.ts";
import { type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";

const aborted = () => {
  const controller = new AbortController();
  controller.abort();
  return controller.signal;
};

describe("config-sync's Parameter Store and Secrets Manager sources (real SDK against the stand-ins)", () => {
  let ssm: SsmStandIn;
  let secretsManager: SecretsManagerStandIn;

  beforeAll(async () => {
    ssm = await startSsm();
    secretsManager = await startSecretsManager({
      "finapi/acme/credentials": '{"clientId":"a","clientSecret":"b"}',
    });
  });
  afterAll(async () => {
    await ssm.close();
    await secretsManager.close();
  });

  it("reads a parameter with its version, and sends nothing once the run's signal is aborted", async () => {
    const version = ssm.putParameter("/finapi/acme", '{"refreshTokensValidityPeriod":3600}');
    const source = createParameterSource(new SSMClient(standInClientConfig(ssm.url)), 60);
    const callsBefore = ssm.calls.length;

    await expect(source.read("/finapi/acme", { fresh: true, signal: aborted() })).rejects.toThrow();
    expect(ssm.calls).toHaveLength(callsBefore);
    expect(source.isCached("/finapi/acme")).toBe(false);

    expect(await source.read("/finapi/acme", { fresh: false, signal: new AbortController().signal })).toEqual(
      {
        value: '{"refreshTokensValidityPeriod":3600}',
        version,
      },
    );
    expect(ssm.calls).toHaveLength(callsBefore + 1);
  });

  it("reads a secret's SecretString through the cache, and sends nothing once the run's signal is aborted", async () => {
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);

    await expect(
      source.read("finapi/acme/credentials", { fresh: true, signal: aborted() }),
    ).rejects.toThrow();
    expect(secretsManager.calls).toHaveLength(0);

    const read = () => source.read("finapi/acme/credentials", { fresh: false });
    expect(await read()).toBe('{"clientId":"a","clientSecret":"b"}');
    expect(await read()).toBe('{"clientId":"a","clientSecret":"b"}');
    expect(secretsManager.calls).toHaveLength(1);
  });

  it("tells a missing secret apart from an aborted read: it is Secrets Manager's ResourceNotFoundException", async () => {
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const failure = await source.read("finapi/missing", { fresh: true }).catch((error: unknown) => error);
    expect((failure as Error & { cause?: { name?: string } }).cause?.name).toBe("ResourceNotFoundException");
  });
});
