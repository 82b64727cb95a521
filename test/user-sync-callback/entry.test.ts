import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const environment = {
  AWS_REGION: "eu-central-1",
  CALLBACK_CLIENTS: '[{"name":"acme","secretId":"callback/acme"}]',
  IDEMPOTENCY_TABLE_NAME: "callback-idempotency",
  SECRET_DIGEST_KEY_ID: "arn:aws:kms:eu-central-1:000000000000:key/00000000-0000-0000-0000-000000000000",
  EVENT_BUS_NAME: "project-bus",
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/000000000000/callback-dead-letters",
};

const loadEntry = () => import("../../functions/user-sync-callback/handler.ts");

describe("user-sync-callback entry module", () => {
  beforeEach(() => {
    vi.resetModules();
    for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
  });

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("exports a handler when the environment is complete", async () => {
    expect(typeof (await loadEntry()).handler).toBe("function");
  });

  it("fails to load, naming the variable, when one is missing", async () => {
    vi.stubEnv("DEAD_LETTER_QUEUE_URL", undefined);
    await expect(loadEntry()).rejects.toThrow("DEAD_LETTER_QUEUE_URL: is required");
  });

  it("fails to load, naming the variable and the rule, when one is malformed", async () => {
    vi.stubEnv("IDEMPOTENCY_TTL_SECONDS", "one week");
    await expect(loadEntry()).rejects.toThrow("IDEMPOTENCY_TTL_SECONDS: must be a whole number of seconds");
  });
});
