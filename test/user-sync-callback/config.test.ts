import { describe, expect, it } from "vitest";
import {
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  DEFAULT_ROTATION_OVERLAP_SECONDS,
  loadCallbackConfig,
} from "../../functions/user-sync-callback/config.ts";

const valid = {
  CALLBACK_CLIENTS: JSON.stringify([
    { name: "acme-live", secretId: "arn:aws:secretsmanager:eu-central-1:000000000000:secret:acme-AbCdEf" },
    { name: "acme_sandbox", secretId: "acme/sandbox" },
  ]),
  IDEMPOTENCY_TABLE_NAME: "callback-idempotency",
  SECRET_DIGEST_KEY_ID: "arn:aws:kms:eu-central-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
  EVENT_BUS_NAME: "user-sync",
  DEAD_LETTER_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/000000000000/callback-dead-letters",
};

const failure = (environment: Record<string, string | undefined>) => {
  try {
    loadCallbackConfig(environment);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
};

describe("loadCallbackConfig", () => {
  it("reads the clients, table, window, bus and queue", () => {
    expect(loadCallbackConfig({ ...valid, IDEMPOTENCY_TTL_SECONDS: "86400" })).toEqual({
      clients: [
        {
          name: "acme-live",
          secretId: "arn:aws:secretsmanager:eu-central-1:000000000000:secret:acme-AbCdEf",
        },
        { name: "acme_sandbox", secretId: "acme/sandbox" },
      ],
      idempotencyTableName: "callback-idempotency",
      idempotencyTtlSeconds: 86400,
      secretRotationOverlapSeconds: 86400,
      secretDigestKeyId: "arn:aws:kms:eu-central-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
      eventBusName: "user-sync",
      deadLetterQueueUrl: "https://sqs.eu-central-1.amazonaws.com/000000000000/callback-dead-letters",
    });
  });

  it("defaults the deduplication window to seven days", () => {
    expect(loadCallbackConfig(valid).idempotencyTtlSeconds).toBe(DEFAULT_IDEMPOTENCY_TTL_SECONDS);
    expect(DEFAULT_IDEMPOTENCY_TTL_SECONDS).toBe(604800);
  });

  it("reads the rotation overlap, 24 hours by default", () => {
    expect(loadCallbackConfig(valid).secretRotationOverlapSeconds).toBe(DEFAULT_ROTATION_OVERLAP_SECONDS);
    expect(DEFAULT_ROTATION_OVERLAP_SECONDS).toBe(86400);
    expect(
      loadCallbackConfig({ ...valid, SECRET_ROTATION_OVERLAP_SECONDS: "0" }).secretRotationOverlapSeconds,
    ).toBe(0);
  });

  it.each([
    ["a missing variable", { EVENT_BUS_NAME: undefined }, "EVENT_BUS_NAME: is required"],
    ["no digest key", { SECRET_DIGEST_KEY_ID: undefined }, "SECRET_DIGEST_KEY_ID: is required"],
    [
      "an overlap that is not a whole number",
      { SECRET_ROTATION_OVERLAP_SECONDS: "24h" },
      "SECRET_ROTATION_OVERLAP_SECONDS: must be a whole number of seconds",
    ],
    [
      "an overlap over a week",
      { SECRET_ROTATION_OVERLAP_SECONDS: "604801" },
      "SECRET_ROTATION_OVERLAP_SECONDS: must be at most 604800",
    ],
    ["CALLBACK_CLIENTS that is not JSON", { CALLBACK_CLIENTS: "[{" }, "CALLBACK_CLIENTS: is not valid JSON"],
    [
      "CALLBACK_CLIENTS that is not an array",
      { CALLBACK_CLIENTS: "{}" },
      "CALLBACK_CLIENTS: must be a JSON array",
    ],
    ["no clients", { CALLBACK_CLIENTS: "[]" }, "CALLBACK_CLIENTS: must name at least one client"],
    [
      "a client name with a slash",
      { CALLBACK_CLIENTS: '[{"name":"a/b","secretId":"s"}]' },
      "CALLBACK_CLIENTS [0.name]: a client name is 1..64 characters of a-z A-Z 0-9 - _",
    ],
    [
      "a client name of 65 characters",
      { CALLBACK_CLIENTS: JSON.stringify([{ name: "a".repeat(65), secretId: "s" }]) },
      "CALLBACK_CLIENTS [0.name]: a client name is 1..64",
    ],
    [
      "a client twice",
      { CALLBACK_CLIENTS: '[{"name":"a","secretId":"s"},{"name":"a","secretId":"t"}]' },
      "CALLBACK_CLIENTS: client names must be unique",
    ],
    [
      "a window that is not a number",
      { IDEMPOTENCY_TTL_SECONDS: "7d" },
      "IDEMPOTENCY_TTL_SECONDS: must be a whole number",
    ],
    [
      "a window under an hour",
      { IDEMPOTENCY_TTL_SECONDS: "60" },
      "IDEMPOTENCY_TTL_SECONDS: must be at least 3600",
    ],
    [
      "a queue URL that is no URL",
      { DEAD_LETTER_QUEUE_URL: "dead-letters" },
      "DEAD_LETTER_QUEUE_URL: must be an SQS queue URL",
    ],
  ])("names the variable and the rule for %s", (_case, override, message) => {
    expect(failure({ ...valid, ...override })).toContain(message);
  });

  it("reports every bad variable at once", () => {
    const message = failure({ CALLBACK_CLIENTS: "[]" });
    for (const variable of [
      "CALLBACK_CLIENTS",
      "IDEMPOTENCY_TABLE_NAME",
      "SECRET_DIGEST_KEY_ID",
      "EVENT_BUS_NAME",
      "DEAD_LETTER_QUEUE_URL",
    ]) {
      expect(message).toContain(variable);
    }
  });
});
