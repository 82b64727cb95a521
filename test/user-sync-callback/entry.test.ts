import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

const environment = {
  AWS_REGION: "eu-central-1",
  CALLBACK_ROOT_SECRET_ID: "stack/user-sync-callback/root",
  CLIENT_REGISTRY_PATH: join(import.meta.dirname, "../fixtures/client-registry/user-sync-callback.json"),
  DELETIONS_TABLE_NAME: "callback-deletions",
  DELETION_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletions.fifo",
  DEAD_LETTER_QUEUE_URL:
    "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletion-dead-letters.fifo",
  SECRET_DIGEST_KEY_ID: "arn:aws:kms:eu-central-1:000000000000:key/00000000-0000-0000-0000-000000000000",
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

  it("fails to load, naming the registry file, when it is missing", async () => {
    vi.stubEnv("CLIENT_REGISTRY_PATH", join(import.meta.dirname, "../fixtures/client-registry/absent.json"));
    await expect(loadEntry()).rejects.toThrow(/client registry \S+absent\.json: cannot be read \(ENOENT\)/);
  });

  it("fails to load, naming the variable and the rule, when one is malformed", async () => {
    vi.stubEnv("FAN_OUT_WINDOW_SECONDS", "one hour");
    await expect(loadEntry()).rejects.toThrow("FAN_OUT_WINDOW_SECONDS: must be a whole number of seconds");
  });
});
