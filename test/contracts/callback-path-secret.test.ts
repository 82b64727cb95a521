import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  CALLBACK_ROOT_SECRET_RULE,
  derivePathSecret,
  isCallbackRootSecret,
  MIN_CALLBACK_ROOT_SECRET_LENGTH,
  PATH_SECRET_LABEL,
} from "../../functions/contracts/callback-path-secret.ts";
import { isCallbackSecret } from "../../functions/contracts/callback-secret.ts";

/* Known answers: the callback's tests use these path secrets, so a change of the derivation shows here. */
const vectors = JSON.parse(
  readFileSync(new URL("../fixtures/user-sync-callback/secrets.json", import.meta.url), "utf8"),
) as {
  root: { previous: string; current: string };
  rotatedRoot: string;
  acme: { previous: string; current: string; generation1: string };
  globex: { previous: string; current: string };
  rotated: string;
};
const ROOT = vectors.root.current;
const acme = { name: "acme", callbackSecretGeneration: 0 };

describe("derivePathSecret", () => {
  it("gives the known path secrets of the fixture", () => {
    expect(derivePathSecret(vectors.root.current, acme)).toBe(vectors.acme.current);
    expect(derivePathSecret(vectors.root.previous, acme)).toBe(vectors.acme.previous);
    expect(derivePathSecret(vectors.rotatedRoot, acme)).toBe(vectors.rotated);
    expect(derivePathSecret(ROOT, { name: "acme", callbackSecretGeneration: 1 })).toBe(
      vectors.acme.generation1,
    );
    expect(derivePathSecret(ROOT, { name: "globex", callbackSecretGeneration: 0 })).toBe(
      vectors.globex.current,
    );
  });

  it("is base64url(HMAC-SHA256(root, label NUL name NUL generation)): 43 characters that pass the shared path secret rule", async () => {
    const { createHmac } = await import("node:crypto");
    const expected = createHmac("sha256", ROOT).update(`${PATH_SECRET_LABEL}\0acme\x000`).digest("base64url");
    const secret = derivePathSecret(ROOT, acme);
    expect(secret).toBe(expected);
    expect(secret).toHaveLength(43);
    expect(isCallbackSecret(secret)).toBe(true);
  });

  it("is distinct per client, per generation and per root version, across 1,000 clients and 3 generations", () => {
    const derived = new Set<string>();
    for (const root of [vectors.root.previous, vectors.root.current, vectors.rotatedRoot]) {
      for (let index = 0; index < 1_000; index += 1) {
        for (const callbackSecretGeneration of [0, 1, 2]) {
          derived.add(derivePathSecret(root, { name: `client-${index}`, callbackSecretGeneration }));
        }
      }
    }
    expect(derived.size).toBe(3 * 1_000 * 3);
  });

  it("keeps name and generation apart: no pair's input runs into another's", () => {
    /* With a plain concatenation "a1" generation 0 and "a" generation 10 would both read "a10". */
    expect(derivePathSecret(ROOT, { name: "a1", callbackSecretGeneration: 0 })).not.toBe(
      derivePathSecret(ROOT, { name: "a", callbackSecretGeneration: 10 }),
    );
  });

  it("is separated from any other use of the root secret by its label", async () => {
    const { createHmac } = await import("node:crypto");
    /* The same HMAC without the label, or under another label, gives another value. */
    const unlabelled = createHmac("sha256", ROOT).update("acme\x000").digest("base64url");
    const otherLabel = createHmac("sha256", ROOT)
      .update("finapi-config-sync/something-else/v1\0acme\x000")
      .digest("base64url");
    const secret = derivePathSecret(ROOT, acme);
    expect(secret).not.toBe(unlabelled);
    expect(secret).not.toBe(otherLabel);
    expect(PATH_SECRET_LABEL).toMatch(/\/v1$/);
  });

  it.each([
    ["a name the client name rule refuses", { name: "acme/../globex", callbackSecretGeneration: 0 }],
    ["a name with a NUL", { name: "acme\0", callbackSecretGeneration: 0 }],
    ["a negative generation", { name: "acme", callbackSecretGeneration: -1 }],
    ["a fractional generation", { name: "acme", callbackSecretGeneration: 0.5 }],
    ["an unsafe generation", { name: "acme", callbackSecretGeneration: 2 ** 53 }],
  ])("refuses %s, naming the rule but not the root secret", (_case, client) => {
    expect(() => derivePathSecret(ROOT, client)).toThrow();
    try {
      derivePathSecret(ROOT, client);
    } catch (error) {
      expect(String(error)).not.toContain(ROOT);
    }
  });
});

describe("isCallbackRootSecret", () => {
  it("asks for at least 43 characters, the least that carry 256 bits of alphanumerics", () => {
    expect(MIN_CALLBACK_ROOT_SECRET_LENGTH).toBe(43);
    expect(62 ** (MIN_CALLBACK_ROOT_SECRET_LENGTH - 1)).toBeLessThan(2 ** 256);
    expect(62 ** MIN_CALLBACK_ROOT_SECRET_LENGTH).toBeGreaterThan(2 ** 256);
    expect(CALLBACK_ROOT_SECRET_RULE).toContain("43");
  });

  it("accepts what the stack generates and refuses a short, spaced or non-string value", () => {
    expect(isCallbackRootSecret(vectors.root.current)).toBe(true);
    expect(isCallbackRootSecret("a".repeat(42))).toBe(false);
    expect(isCallbackRootSecret(`${"a".repeat(43)} b`)).toBe(false);
    expect(isCallbackRootSecret(undefined)).toBe(false);
  });
});
