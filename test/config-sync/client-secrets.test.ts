import { describe, expect, it } from "vitest";
import { parseCallbackSecret, parseCredentialsSecret } from "../../functions/config-sync/client-secrets.ts";

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

describe("parseCallbackSecret", () => {
  it("accepts a long URL-safe secret and refuses a short one or one that would break the path", () => {
    expect(parseCallbackSecret("Zq3v8N1kLm0Rt7Yx2Wc5Pb9H")).toEqual({
      ok: true,
      value: "Zq3v8N1kLm0Rt7Yx2Wc5Pb9H",
    });
    for (const bad of ["short1", "Zq3v8N1kLm0Rt7Yx2Wc5/b9H", "Zq3v8N1kLm0Rt7Yx2Wc5 b9H"]) {
      const parsed = parseCallbackSecret(bad);
      expect(parsed.ok).toBe(false);
      expect(JSON.stringify(parsed)).not.toContain(bad);
    }
  });
});
