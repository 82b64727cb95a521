import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createParameterSource } from "../../functions/config-sync/parameter-source.ts";
import { createSecretSource } from "../../functions/config-sync/secret-source.ts";
import { AwsServiceError } from "../../local/aws/json-protocol-server.ts";
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
    expect(failure).toMatchObject({ name: "ResourceNotFoundException" });
  });

  const secretCalls = (from: number) =>
    secretsManager.calls
      .slice(from)
      .map((call) =>
        call.operation === "BatchGetSecretValue"
          ? `BatchGetSecretValue ${(call.input.SecretIdList as string[]).length}`
          : `${call.operation} ${String(call.input.SecretId)}`,
      );

  it("reads a run's secrets 20 a call, a batch ahead of the one asked for, and serves them from the cache", async () => {
    const ids = Array.from({ length: 45 }, (_, index) => `batched/client-${index}`);
    for (const id of ids) secretsManager.putSecret(id, `{"for":"${id}"}`);
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const callsBefore = secretsManager.calls.length;

    const batches = source.batches([...ids, ids[0] as string], new AbortController().signal);
    await batches.fetched(ids[0] as string);
    /* Asked only for the first secret, the run has its batch and the next one requested. */
    await vi.waitFor(() =>
      expect(secretCalls(callsBefore)).toEqual(["BatchGetSecretValue 20", "BatchGetSecretValue 20"]),
    );
    await Promise.all(ids.map((id) => batches.fetched(id)));
    const reads = await Promise.all(ids.map((id) => source.read(id, { fresh: false })));

    expect(reads).toEqual(ids.map((id) => `{"for":"${id}"}`));
    expect(secretCalls(callsBefore)).toEqual([
      "BatchGetSecretValue 20",
      "BatchGetSecretValue 20",
      "BatchGetSecretValue 5",
    ]);
    const next = source.batches(ids, new AbortController().signal);
    await Promise.all(ids.map((id) => next.fetched(id)));
    expect(secretsManager.calls).toHaveLength(callsBefore + 3);
  });

  it("reads a secret by its ARN in a batch too, and the callback root secret with the credentials", async () => {
    secretsManager.putSecret("by-arn/credentials", '{"clientId":"c","clientSecret":"d"}');
    const arn = secretsManager.arnOf("by-arn/credentials");
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const callsBefore = secretsManager.calls.length;
    await source.batches([arn, "finapi/acme/credentials"]).fetched(arn);
    expect(await source.read(arn, { fresh: false })).toBe('{"clientId":"c","clientSecret":"d"}');
    expect(await source.read("finapi/acme/credentials", { fresh: false })).toBe(
      '{"clientId":"a","clientSecret":"b"}',
    );
    expect(secretCalls(callsBefore)).toEqual(["BatchGetSecretValue 2"]);
  });

  it("leaves a secret the batch answered with an error to a read of its own, which fails as it always did", async () => {
    secretsManager.putSecret("errors/denied", "value");
    secretsManager.putSecret("errors/readable", "readable");
    secretsManager.denyAccess("errors/denied");
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const callsBefore = secretsManager.calls.length;
    const ids = ["errors/missing", "errors/denied", "errors/readable"];
    const batches = source.batches(ids);
    await Promise.all(ids.map((id) => batches.fetched(id)));

    await expect(source.read("errors/missing", { fresh: false })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
    await expect(source.read("errors/denied", { fresh: false })).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    expect(await source.read("errors/readable", { fresh: false })).toBe("readable");
    expect(secretCalls(callsBefore)).toEqual([
      "BatchGetSecretValue 3",
      "GetSecretValue errors/missing",
      "GetSecretValue errors/denied",
    ]);
    secretsManager.restoreAccess("errors/denied");
  });

  it("leaves every secret of a failed batch call to a read of its own", async () => {
    secretsManager.putSecret("failed-batch/one", "one");
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const callsBefore = secretsManager.calls.length;
    secretsManager.failNext(
      "BatchGetSecretValue",
      new AwsServiceError(
        "AccessDeniedException",
        "not authorized to perform: secretsmanager:BatchGetSecretValue",
      ),
    );
    const batches = source.batches(["failed-batch/one", "finapi/acme/credentials"]);
    await batches.fetched("failed-batch/one");
    await batches.fetched("finapi/acme/credentials");

    expect(await source.read("failed-batch/one", { fresh: false })).toBe("one");
    expect(secretCalls(callsBefore)).toEqual(["BatchGetSecretValue 2", "GetSecretValue failed-batch/one"]);
  });

  it("reads a secret afresh with GetSecretValue, past what the batch cached", async () => {
    secretsManager.putSecret("rotated/credentials", "before");
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    await source.batches(["rotated/credentials"]).fetched("rotated/credentials");
    secretsManager.putSecret("rotated/credentials", "after");
    const callsBefore = secretsManager.calls.length;

    expect(await source.read("rotated/credentials", { fresh: false })).toBe("before");
    expect(await source.read("rotated/credentials", { fresh: true })).toBe("after");
    expect(await source.read("rotated/credentials", { fresh: false })).toBe("after");
    expect(secretCalls(callsBefore)).toEqual(["GetSecretValue rotated/credentials"]);
  });

  it("reads in a batch again what the cache holds longer than its maximum age", async () => {
    secretsManager.putSecret("aging/credentials", "value");
    let clock = 1_000_000;
    const source = createSecretSource(
      new SecretsManagerClient(standInClientConfig(secretsManager.url)),
      300,
      {
        now: () => clock,
      },
    );
    await source.batches(["aging/credentials"]).fetched("aging/credentials");
    const callsBefore = secretsManager.calls.length;

    clock += 299_999;
    await source.batches(["aging/credentials"]).fetched("aging/credentials");
    expect(secretCalls(callsBefore)).toEqual([]);
    clock += 1;
    await source.batches(["aging/credentials"]).fetched("aging/credentials");
    expect(secretCalls(callsBefore)).toEqual(["BatchGetSecretValue 1"]);
  });

  it("sends no batch when caching is off, and reads each secret with a GetSecretValue of its own", async () => {
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 0);
    const callsBefore = secretsManager.calls.length;
    await source.batches(["finapi/acme/credentials"]).fetched("finapi/acme/credentials");
    expect(await source.read("finapi/acme/credentials", { fresh: false })).toBe(
      '{"clientId":"a","clientSecret":"b"}',
    );
    await source.read("finapi/acme/credentials", { fresh: false });
    expect(secretCalls(callsBefore)).toEqual([
      "GetSecretValue finapi/acme/credentials",
      "GetSecretValue finapi/acme/credentials",
    ]);
  });

  it("sends no batch once the run's signal is aborted, and rejects a wait the signal cut", async () => {
    const source = createSecretSource(new SecretsManagerClient(standInClientConfig(secretsManager.url)), 300);
    const callsBefore = secretsManager.calls.length;
    const cut = source.batches(["finapi/acme/credentials"], aborted());
    await expect(cut.fetched("finapi/acme/credentials", aborted())).rejects.toThrow();
    expect(secretsManager.calls).toHaveLength(callsBefore);

    const run = new AbortController();
    secretsManager.setOutage("hang");
    try {
      const waiting = source.batches(["finapi/acme/credentials"], run.signal);
      const wait = waiting.fetched("finapi/acme/credentials", run.signal);
      await vi.waitFor(() => expect(secretsManager.calls).toHaveLength(callsBefore + 1));
      run.abort();
      await expect(wait).rejects.toThrow();
    } finally {
      secretsManager.setOutage(undefined);
    }
  });
});
