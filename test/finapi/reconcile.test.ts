import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { createFinapiClient } from "../../functions/finapi/client.ts";
import { type ReconcileRequest, reconcile } from "../../functions/finapi/reconcile.ts";
import { type DesiredDocument, parseDesiredDocument } from "../../functions/finapi/schema.ts";
import { fakeTime } from "../support/fake-time.ts";
import { assertConformsToFinapiOpenApi } from "../support/openapi-conformance.ts";

const HOSTED_SECRET = "Hq7Wm2Xc9Vb4Nz6Lk1Jp3Rt5Ys8Ud0Fg";

/** The document as the caller hands it over: parsed and validated once, before the reconcile. */
function valid(document: unknown): DesiredDocument {
  const parsed = parseDesiredDocument(JSON.stringify(document), "sandbox");
  if (!parsed.ok) throw new Error(`the test's document is invalid: ${JSON.stringify(parsed.violations)}`);
  return parsed.value;
}

describe("reconcile", () => {
  let emulator: FinapiEmulator;
  let clientCount = 0;

  beforeAll(async () => {
    emulator = await startFinapiEmulator();
  });
  afterAll(() => emulator.close());
  afterEach(() => {
    for (const request of emulator.requests) assertConformsToFinapiOpenApi(request);
    emulator.clearRequests();
  });

  /** A fresh emulated client with a known configuration, and a reconcile bound to it. */
  function freshClient() {
    clientCount++;
    const clientId = `reconcile-${clientCount}`;
    emulator.addClient({
      clientId,
      clientSecret: `S3cret-of-${clientId}`,
      configuration: {
        userNotificationCallbackUrl: "https://old.example.com/notify",
        refreshTokensValidityPeriod: 3600,
        userAccessTokensValidityPeriod: 3600,
        clientAccessTokensValidityPeriod: 3600,
      },
    });
    const time = fakeTime();
    const client = createFinapiClient({
      baseUrl: emulator.url,
      credentials: { clientId, clientSecret: `S3cret-of-${clientId}` },
      now: time.now,
      sleep: time.sleep,
      retry: { maxAttempts: 2 },
    });
    const run = (document: unknown, options: Partial<ReconcileRequest> = {}) =>
      reconcile({ document: valid(document), environment: "sandbox", client, ...options });
    const requests = () =>
      emulator.requests
        .filter((request) => request.clientId === clientId)
        .map((request) => `${request.method} ${request.path}`);
    return { clientId, run, requests };
  }

  it("PATCHes only the fields that differ and reports them as applied", async () => {
    const { clientId, run } = freshClient();
    const outcome = await run({
      refreshTokensValidityPeriod: 3600,
      clientAccessTokensValidityPeriod: 600,
      userNotificationCallbackUrl: "",
    });
    expect(outcome).toEqual({
      outcome: "applied",
      changes: [
        { field: "userNotificationCallbackUrl", from: "https://old.example.com/notify", to: "" },
        { field: "clientAccessTokensValidityPeriod", from: 3600, to: 600 },
      ],
      finapiRequestId: expect.any(String),
    });
    const patch = emulator.requests.find((request) => request.method === "PATCH");
    expect(JSON.parse(patch?.body ?? "")).toEqual({
      userNotificationCallbackUrl: "",
      clientAccessTokensValidityPeriod: 600,
    });
    expect(emulator.configurationOf(clientId)).toMatchObject({
      userNotificationCallbackUrl: null,
      clientAccessTokensValidityPeriod: 600,
    });
  });

  it("sends no PATCH when finAPI already matches, including a cleared URL finAPI reports as null", async () => {
    const { run, requests } = freshClient();
    await run({ userNotificationCallbackUrl: "" });
    emulator.clearRequests();
    const outcome = await run({ userNotificationCallbackUrl: "", refreshTokensValidityPeriod: 3600 });
    expect(outcome).toEqual({ outcome: "in-sync", finapiRequestId: expect.any(String) });
    expect(requests()).toEqual(["GET /api/v1/clientConfiguration"]);
  });

  it("corrects drift made in finAPI behind its back", async () => {
    const { clientId, run } = freshClient();
    emulator.drift(clientId, { userAccessTokensValidityPeriod: 120 });
    const outcome = await run({ userAccessTokensValidityPeriod: 3600 });
    expect(outcome).toMatchObject({
      outcome: "applied",
      changes: [{ field: "userAccessTokensValidityPeriod", from: 120, to: 3600 }],
    });
    expect(emulator.configurationOf(clientId).userAccessTokensValidityPeriod).toBe(3600);
  });

  it("only reports drift for a report-only client", async () => {
    const { clientId, run, requests } = freshClient();
    const outcome = await run({ refreshTokensValidityPeriod: 0 }, { mode: "report-only" });
    expect(outcome).toMatchObject({
      outcome: "drift-reported",
      dryRun: false,
      changes: [{ field: "refreshTokensValidityPeriod", from: 3600, to: 0 }],
    });
    expect(requests()).not.toContain("PATCH /api/v1/clientConfiguration");
    expect(emulator.configurationOf(clientId).refreshTokensValidityPeriod).toBe(3600);
  });

  it("patches nothing on a dry run", async () => {
    const { run, requests } = freshClient();
    expect(await run({ refreshTokensValidityPeriod: 0 }, { dryRun: true })).toMatchObject({
      outcome: "drift-reported",
      dryRun: true,
    });
    expect(requests()).not.toContain("PATCH /api/v1/clientConfiguration");
  });

  it("never calls finAPI when a managed default breaks a rule, and names the field", async () => {
    const { run, requests } = freshClient();
    const outcome = await run(
      { refreshTokensValidityPeriod: 3600 },
      { defaults: { userSynchronizationCallbackUrl: "ftp://callbacks.example.com/user-sync" } },
    );
    expect(outcome).toEqual({
      outcome: "invalid",
      violations: [expect.objectContaining({ path: "userSynchronizationCallbackUrl", rule: "url" })],
    });
    expect(requests()).toEqual([]);
  });

  it("applies the latest document asked for before patching, planned against the same GET", async () => {
    const { clientId, run, requests } = freshClient();
    const outcome = await run(
      { refreshTokensValidityPeriod: 600 },
      { latestDocument: async () => ({ ok: true, document: valid({ refreshTokensValidityPeriod: 7200 }) }) },
    );
    expect(outcome).toMatchObject({
      outcome: "applied",
      changes: [{ field: "refreshTokensValidityPeriod", from: 3600, to: 7200 }],
    });
    expect(requests()).toEqual([
      "POST /oauth/token",
      "GET /api/v1/clientConfiguration",
      "PATCH /api/v1/clientConfiguration",
    ]);
    expect(emulator.configurationOf(clientId).refreshTokensValidityPeriod).toBe(7200);
  });

  it("patches nothing when the latest document matches finAPI, or cannot be had", async () => {
    const { run, requests } = freshClient();
    expect(
      await run(
        { refreshTokensValidityPeriod: 600 },
        {
          latestDocument: async () => ({ ok: true, document: valid({ refreshTokensValidityPeriod: 3600 }) }),
        },
      ),
    ).toMatchObject({ outcome: "in-sync" });
    const unreadable = {
      outcome: "failed",
      message: "the parameter could not be read",
      retryable: true,
    } as const;
    expect(
      await run(
        { refreshTokensValidityPeriod: 600 },
        { latestDocument: async () => ({ ok: false, outcome: unreadable }) },
      ),
    ).toEqual(unreadable);
    expect(requests()).not.toContain("PATCH /api/v1/clientConfiguration");
  });

  it("does not ask for the latest document when finAPI is in sync or nothing will be patched", async () => {
    const { run } = freshClient();
    let asked = 0;
    const latestDocument = async () => {
      asked++;
      return { ok: true, document: valid({}) } as const;
    };
    await run({ refreshTokensValidityPeriod: 3600 }, { latestDocument });
    await run({ refreshTokensValidityPeriod: 600 }, { latestDocument, dryRun: true });
    await run({ refreshTokensValidityPeriod: 600 }, { latestDocument, mode: "report-only" });
    expect(asked).toBe(0);
  });

  it("sets a managed default where the document leaves the field out, and masks its secret", async () => {
    const { clientId, run } = freshClient();
    const hosted = `https://callbacks.example.com/user-sync/${clientId}/${HOSTED_SECRET}`;
    const outcome = await run(
      {},
      { defaults: { userSynchronizationCallbackUrl: hosted }, secrets: [HOSTED_SECRET] },
    );
    expect(outcome).toMatchObject({
      outcome: "applied",
      changes: [
        {
          field: "userSynchronizationCallbackUrl",
          from: null,
          to: `https://callbacks.example.com/user-sync/${clientId}/***`,
        },
      ],
    });
    expect(JSON.stringify(outcome)).not.toContain(HOSTED_SECRET);
    expect(emulator.configurationOf(clientId).userSynchronizationCallbackUrl).toBe(hosted);
  });

  it("lets the document's own value win over a managed default", async () => {
    const { clientId, run } = freshClient();
    await run(
      { userSynchronizationCallbackUrl: "https://own.example.com/sync" },
      { defaults: { userSynchronizationCallbackUrl: "https://hosted.example.com/user-sync/x/y" } },
    );
    expect(emulator.configurationOf(clientId).userSynchronizationCallbackUrl).toBe(
      "https://own.example.com/sync",
    );
  });

  it("reports finAPI's refusal with its messages and request id", async () => {
    const { run } = freshClient();
    emulator.enqueueFault({
      match: { method: "PATCH" },
      kind: "status",
      status: 400,
      body: {
        errors: [{ message: "Invalid callback URL", code: "BAD_REQUEST", type: "BUSINESS" }],
        date: "2026-11-21 10:00:00.000",
        requestId: "finapi-side-id",
        endpoint: "PATCH /api/v1/clientConfiguration",
        authContext: "1/1",
        bank: null,
      },
    });
    const outcome = await run({ userNotificationCallbackUrl: "https://unreachable.example.com/n" });
    expect(outcome).toEqual({
      outcome: "rejected",
      status: 400,
      message: expect.stringContaining("Invalid callback URL (BAD_REQUEST)"),
      finapiErrors: [{ message: "Invalid callback URL", code: "BAD_REQUEST", type: "BUSINESS" }],
      finapiRequestId: "finapi-side-id",
    });
  });

  it("reports a retryable failure when finAPI stays unavailable", async () => {
    const { run } = freshClient();
    emulator.enqueueFault({ match: { method: "GET" }, kind: "status", status: 503 });
    emulator.enqueueFault({ match: { method: "GET" }, kind: "status", status: 503 });
    expect(await run({ refreshTokensValidityPeriod: 60 })).toMatchObject({
      outcome: "failed",
      retryable: true,
    });
  });

  it("fails without retrying when finAPI's answer to the PATCH does not hold the desired values", async () => {
    const { clientId, run } = freshClient();
    emulator.enqueueFault({
      match: { method: "PATCH" },
      kind: "status",
      status: 200,
      body: emulator.configurationOf(clientId),
    });
    expect(await run({ refreshTokensValidityPeriod: 60 })).toEqual({
      outcome: "failed",
      message: "finAPI accepted the PATCH but still reports different values for refreshTokensValidityPeriod",
      retryable: false,
      finapiRequestId: expect.any(String),
    });
  });
});
