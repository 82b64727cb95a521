import { describe, expect, it } from "vitest";
import {
  parseCallbackRootSecret,
  parseCredentialsSecret,
} from "../../functions/config-sync/client-secrets.ts";

describe("parseCredentialsSecret", () => {
  it("reads clientId and clientSecret, ignoring other keys", () => {
    expect(parseCredentialsSecret('{"clientId":"id-1","clientSecret":"s3cr3t-value","note":"x"}')).toEqual({
      ok: true,
      value: { clientId: "id-1", clientSecret: "s3cr3t-value" },
    });
  });

  it("names the rule of a secret that is not JSON without quoting any of it", () => {
    const parsed = parseCredentialsSecret("clientSecret=hunter2-hunter2");
    expect(parsed).toEqual({
      ok: false,
      problem: 'is not JSON; it must be {"clientId": "...", "clientSecret": "..."}',
    });
  });

  it("names each missing or empty field", () => {
    expect(parseCredentialsSecret('{"clientId":""}')).toEqual({
      ok: false,
      problem: "clientId must not be empty; clientSecret is required",
    });
    expect(parseCredentialsSecret('"just-a-string"')).toMatchObject({
      ok: false,
      problem: 'must be a JSON object {"clientId": "...", "clientSecret": "..."}',
    });
  });
});

describe("parseCallbackRootSecret", () => {
  it("accepts a long URL-safe root secret and refuses a short one or one that would break the rule, never quoting it", () => {
    const root = "Zq3v8N1kLm0Rt7Yx2Wc5Pb9HZq3v8N1kLm0Rt7Yx2Wc5Pb9H";
    expect(parseCallbackRootSecret(root)).toEqual({ ok: true, value: root });
    for (const bad of [
      "short1",
      /* Long enough for a path secret (22), too short for a root (43). */
      "Zq3v8N1kLm0Rt7Yx2Wc5Pb9HZq3v8N1kLm0Rt7Yx2W",
      "Zq3v8N1kLm0Rt7Yx2Wc5/b9HZq3v8N1kLm0Rt7Yx2Wc5Pb9H",
      "Zq3v8N1kLm0Rt7Yx2Wc5 b9HZq3v8N1kLm0Rt7Yx2Wc5Pb9H",
    ]) {
      const parsed = parseCallbackRootSecret(bad);
      expect(parsed).toEqual({
        ok: false,
        problem:
          "must be at least 43 characters of A-Z a-z 0-9 . _ ~ - (the stack generates 64 alphanumerics)",
      });
      expect(JSON.stringify(parsed)).not.toContain(bad);
    }
  });
});
