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

    const cut = source.reader(["/finapi/acme"], { fresh: true, signal: aborted() });
    await expect(cut.read("/finapi/acme")).rejects.toThrow();
    expect(ssm.calls).toHaveLength(callsBefore);

    const reader = source.reader(["/finapi/acme"], { fresh: false, signal: new AbortController().signal });
    expect(await reader.read("/finapi/acme")).toEqual({
      snapshot: { value: '{"refreshTokensValidityPeriod":3600}', version },
      cached: false,
    });
    expect(ssm.calls).toHaveLength(callsBefore + 1);
  });

  it("reads a run's parameters with one GetParameters call per 10 names, a missing one as undefined", async () => {
    const names = Array.from({ length: 25 }, (_, index) => `/batch/client-${index}`);
    for (const name of names.slice(0, 24)) ssm.putParameter(name, `{"for":"${name}"}`);
    const source = createParameterSource(new SSMClient(standInClientConfig(ssm.url)), 60);
    const callsBefore = ssm.calls.length;

    const reader = source.reader(names, { fresh: false });
    const reads = await Promise.all(names.map((name) => reader.read(name)));

    const calls = ssm.calls.slice(callsBefore);
    expect(calls.map((call) => call.operation)).toEqual(["GetParameters", "GetParameters", "GetParameters"]);
    expect(calls.map((call) => (call.input.Names as string[]).length)).toEqual([10, 10, 5]);
    expect(calls.every((call) => call.input.WithDecryption === true)).toBe(true);
    expect(reads.slice(0, 24).map((read) => read.snapshot?.value)).toEqual(
      names.slice(0, 24).map((name) => `{"for":"${name}"}`),
    );
    expect(reads[24]).toEqual({ snapshot: undefined, cached: false });
  });

  it("serves the next run from the cache and says so, but reads afresh when asked and reads a missing parameter again", async () => {
    ssm.putParameter("/cached/present", "{}");
    const source = createParameterSource(new SSMClient(standInClientConfig(ssm.url)), 60);
    const names = ["/cached/present", "/cached/missing"];
    await Promise.all(names.map((name) => source.reader(names, { fresh: false }).read(name)));
    const callsBefore = ssm.calls.length;

    const next = source.reader(names, { fresh: false });
    expect(await next.read("/cached/present")).toMatchObject({ cached: true });
    expect(await next.read("/cached/missing")).toEqual({ snapshot: undefined, cached: false });
    expect(ssm.calls.slice(callsBefore).map((call) => call.input.Names)).toEqual([["/cached/missing"]]);

    const version = ssm.putParameter("/cached/present", '{"refreshTokensValidityPeriod":60}');
    const fresh = await source.reader(["/cached/present"], { fresh: true }).read("/cached/present");
    expect(fresh).toEqual({
      snapshot: { value: '{"refreshTokensValidityPeriod":60}', version },
      cached: false,
    });
  });

  it("starts its GetParameters calls no closer together than the pace allows", async () => {
    const names = Array.from({ length: 30 }, (_, index) => `/paced/client-${index}`);
    let clock = 1_000;
    const waits: number[] = [];
    const source = createParameterSource(new SSMClient(standInClientConfig(ssm.url)), 60, {
      readsPerSecond: 4,
      now: () => clock,
      sleep: async (ms) => {
        waits.push(ms);
        clock += ms;
      },
    });
    const reader = source.reader(names, { fresh: true });
    await Promise.all(names.map((name) => reader.read(name)));
    expect(waits).toEqual([250, 250]);
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
