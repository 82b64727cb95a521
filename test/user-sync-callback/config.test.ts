import { describe, expect, it } from "vitest";
import { DEFAULT_ROTATION_OVERLAP_SECONDS } from "../../functions/contracts/callback-secret.ts";
import {
  DEFAULT_FAN_OUT_WINDOW_SECONDS,
  MIN_FAN_OUT_WINDOW_SECONDS,
} from "../../functions/contracts/user-deletion.ts";
import { loadCallbackConfig } from "../../functions/user-sync-callback/config.ts";
import { clientRegistryFile } from "../support/client-registry.ts";

const clients = [
  { name: "acme-live", callbackSecretGeneration: 2, userBase: "live", environment: "live" },
  { name: "acme_sandbox", callbackSecretGeneration: 0, userBase: "sandbox", environment: "sandbox" },
];
const ROOT_SECRET_ID =
  "arn:aws:secretsmanager:eu-central-1:000000000000:secret:stack/user-sync-callback/root-AbCdEf";
const valid = {
  CALLBACK_ROOT_SECRET_ID: ROOT_SECRET_ID,
  CLIENT_REGISTRY_PATH: clientRegistryFile({ clients }),
  DELETIONS_TABLE_NAME: "callback-deletions",
  DELETION_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletions.fifo",
  DEAD_LETTER_QUEUE_URL:
    "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletion-dead-letters.fifo",
  SECRET_DIGEST_KEY_ID: "arn:aws:kms:eu-central-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
};
const withClient = (override: Record<string, unknown>) =>
  clientRegistryFile({
    clients: [{ name: "a", userBase: "live", environment: "live", ...override }],
  });

const failure = (environment: Record<string, string | undefined>) => {
  try {
    loadCallbackConfig(environment);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected the configuration to be rejected");
};

describe("loadCallbackConfig", () => {
  it("reads the clients with their user bases, the table, the window, both queues and the secret settings", () => {
    expect(loadCallbackConfig({ ...valid, FAN_OUT_WINDOW_SECONDS: "600" })).toEqual({
      clients,
      rootSecretId: ROOT_SECRET_ID,
      deletionsTableName: "callback-deletions",
      deletionQueueUrl: "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletions.fifo",
      deadLetterQueueUrl:
        "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletion-dead-letters.fifo",
      fanOutWindowSeconds: 600,
      secretRotationOverlapSeconds: 86400,
      secretDigestKeyId: "arn:aws:kms:eu-central-1:000000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    });
  });

  it("defaults the fan-out window to an hour", () => {
    expect(loadCallbackConfig(valid).fanOutWindowSeconds).toBe(DEFAULT_FAN_OUT_WINDOW_SECONDS);
    expect(DEFAULT_FAN_OUT_WINDOW_SECONDS).toBe(3600);
  });

  it("accepts the shortest window", () => {
    const shortest = String(MIN_FAN_OUT_WINDOW_SECONDS);
    expect(loadCallbackConfig({ ...valid, FAN_OUT_WINDOW_SECONDS: shortest }).fanOutWindowSeconds).toBe(60);
  });

  it("takes a client's callbackSecretGeneration as 0 when it is left out", () => {
    const [client] = loadCallbackConfig({ ...valid, CLIENT_REGISTRY_PATH: withClient({}) }).clients;
    expect(client?.callbackSecretGeneration).toBe(0);
  });

  it("accepts several clients sharing one user base", () => {
    const shared = clientRegistryFile({
      clients: [
        { name: "a", userBase: "mandator-7", environment: "live" },
        { name: "b", userBase: "mandator-7", environment: "live" },
      ],
    });
    expect(loadCallbackConfig({ ...valid, CLIENT_REGISTRY_PATH: shared }).clients).toHaveLength(2);
  });

  it("reads the rotation overlap, 24 hours by default", () => {
    expect(loadCallbackConfig(valid).secretRotationOverlapSeconds).toBe(DEFAULT_ROTATION_OVERLAP_SECONDS);
    expect(DEFAULT_ROTATION_OVERLAP_SECONDS).toBe(86400);
    expect(
      loadCallbackConfig({ ...valid, SECRET_ROTATION_OVERLAP_SECONDS: "0" }).secretRotationOverlapSeconds,
    ).toBe(0);
  });

  it.each([
    ["a missing variable", { DELETIONS_TABLE_NAME: undefined }, "DELETIONS_TABLE_NAME: is required"],
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
    [
      "a registry that is not JSON",
      { CLIENT_REGISTRY_PATH: clientRegistryFile("[{") },
      "client-registry.json: is not valid JSON",
    ],
    [
      "a registry whose clients are not an array",
      { CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: {} }) },
      'client-registry.json [clients]: must be a JSON array of {"name", "callbackSecretGeneration", "userBase", "environment"}',
    ],
    [
      "no clients",
      { CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [] }) },
      "client-registry.json [clients]: must name at least one client",
    ],
    [
      "a negative secret generation",
      { CLIENT_REGISTRY_PATH: withClient({ callbackSecretGeneration: -1 }) },
      "client-registry.json [clients.0.callbackSecretGeneration]: callbackSecretGeneration must be at least 0",
    ],
    [
      "a fractional secret generation",
      { CLIENT_REGISTRY_PATH: withClient({ callbackSecretGeneration: 1.5 }) },
      "client-registry.json [clients.0.callbackSecretGeneration]: callbackSecretGeneration must be a whole number",
    ],
    ["no root secret", { CALLBACK_ROOT_SECRET_ID: undefined }, "CALLBACK_ROOT_SECRET_ID: is required"],
    [
      "a client name with a slash",
      { CLIENT_REGISTRY_PATH: withClient({ name: "a/b" }) },
      "client-registry.json [clients.0.name]: a client name is 1..64 characters of a-z A-Z 0-9 - _",
    ],
    [
      "a client name of 65 characters",
      { CLIENT_REGISTRY_PATH: withClient({ name: "a".repeat(65) }) },
      "client-registry.json [clients.0.name]: a client name is 1..64",
    ],
    [
      "a client without a user base",
      { CLIENT_REGISTRY_PATH: withClient({ userBase: undefined }) },
      "client-registry.json [clients.0.userBase]: Invalid input: expected string",
    ],
    [
      "a user base with a space",
      { CLIENT_REGISTRY_PATH: withClient({ userBase: "my base" }) },
      "client-registry.json [clients.0.userBase]: a user base is 1..64 characters of a-z A-Z 0-9 - _",
    ],
    [
      "an environment finAPI does not have",
      { CLIENT_REGISTRY_PATH: withClient({ environment: "staging" }) },
      'client-registry.json [clients.0.environment]: Invalid option: expected one of "sandbox"|"live"|"alpha"',
    ],
    [
      "a client twice",
      {
        CLIENT_REGISTRY_PATH: clientRegistryFile({
          clients: [
            { name: "a", userBase: "live", environment: "live" },
            { name: "a", userBase: "live", environment: "live" },
          ],
        }),
      },
      "client-registry.json [clients]: client names must be unique",
    ],
    [
      "a user base with clients of two environments",
      {
        CLIENT_REGISTRY_PATH: clientRegistryFile({
          clients: [
            { name: "a", userBase: "shared", environment: "live" },
            { name: "b", userBase: "shared", environment: "sandbox" },
          ],
        }),
      },
      "client-registry.json [clients]: the clients of one user base must share one environment",
    ],
    [
      "a window that is not a number",
      { FAN_OUT_WINDOW_SECONDS: "1h" },
      "FAN_OUT_WINDOW_SECONDS: must be a whole number",
    ],
    [
      "a window under a minute",
      { FAN_OUT_WINDOW_SECONDS: "59" },
      "FAN_OUT_WINDOW_SECONDS: must be at least 60",
    ],
    [
      "a queue URL that is no URL",
      { DEAD_LETTER_QUEUE_URL: "dead-letters" },
      "DEAD_LETTER_QUEUE_URL: must be an SQS FIFO queue URL",
    ],
    [
      "a standard queue's URL",
      { DELETION_QUEUE_URL: "https://sqs.eu-central-1.amazonaws.com/000000000000/user-deletions" },
      "DELETION_QUEUE_URL: must be an SQS FIFO queue URL (the queue name ends in .fifo)",
    ],
  ])("names the variable and the rule for %s", (_case, override, message) => {
    expect(failure({ ...valid, ...override })).toContain(message);
  });

  it("reports every bad variable at once", () => {
    const message = failure({ CLIENT_REGISTRY_PATH: clientRegistryFile({ clients: [] }) });
    for (const variable of [
      "client-registry.json [clients]",
      "DELETIONS_TABLE_NAME",
      "DELETION_QUEUE_URL",
      "SECRET_DIGEST_KEY_ID",
      "DEAD_LETTER_QUEUE_URL",
    ]) {
      expect(message).toContain(variable);
    }
  });
});
