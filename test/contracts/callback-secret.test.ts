import { describe, expect, it } from "vitest";
import {
  CALLBACK_SECRET_RULE,
  isCallbackSecret,
  MIN_CALLBACK_SECRET_LENGTH,
} from "../../functions/contracts/callback-secret.ts";

describe("isCallbackSecret", () => {
  it("asks for at least 22 characters, the least that carry 128 bits of alphanumerics", () => {
    expect(MIN_CALLBACK_SECRET_LENGTH).toBe(22);
    expect(62 ** (MIN_CALLBACK_SECRET_LENGTH - 1)).toBeLessThan(2 ** 128);
    expect(62 ** MIN_CALLBACK_SECRET_LENGTH).toBeGreaterThan(2 ** 128);
  });

  it("accepts URL-unreserved characters from 22 on", () => {
    expect(isCallbackSecret("a".repeat(22))).toBe(true);
    expect(isCallbackSecret("Zq3v8N1kLm0Rt7Yx2Wc5Pb9H._~-")).toBe(true);
  });

  it.each([
    ["21 characters", "a".repeat(21)],
    ["a slash, which would split the path", `${"a".repeat(22)}/b`],
    ["a space", `${"a".repeat(22)} b`],
    ["a percent-encoding", `${"a".repeat(22)}%41`],
    ["a JSON document", JSON.stringify({ secret: "a".repeat(30) })],
  ])("refuses %s", (_case, value) => {
    expect(isCallbackSecret(value)).toBe(false);
  });

  it("refuses what is not a string", () => {
    expect(isCallbackSecret(undefined)).toBe(false);
    expect(isCallbackSecret(["a".repeat(30)])).toBe(false);
  });

  it("states its rule without a value", () => {
    expect(CALLBACK_SECRET_RULE).toBe(
      "at least 22 characters of A-Z a-z 0-9 . _ ~ - (it becomes a path segment of the callback URL)",
    );
  });
});
