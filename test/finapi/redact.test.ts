import { describe, expect, it } from "vitest";
import { redactSecrets, redactUrl } from "../../functions/finapi/redact.ts";

describe("redactUrl", () => {
  it.each([
    [
      "https://a.lambda-url.eu-central-1.on.aws/user-sync/app/Ab3dEf6hIj9kLm2nOp5q",
      "https://a.lambda-url.eu-central-1.on.aws/user-sync/app/***",
    ],
    ["https://user:pass@host.example/x", "https://user:***@host.example/x"],
    ["https://host.example/cb?token=abc&client=x", "https://host.example/cb?token=***&client=***"],
    ["https://backend.example.com/finapi/notifications", "https://backend.example.com/finapi/notifications"],
    ["https://backend.example.com/v2/callbacks2024", "https://backend.example.com/v2/callbacks2024"],
    ["https://backend.example.com/notifications-v2", "https://backend.example.com/notifications-v2"],
    [
      "https://backend.example.com/finapi-user-sync-callbacks-2024",
      "https://backend.example.com/finapi-user-sync-callbacks-2024",
    ],
    [
      "https://h.example/user-sync/app/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b",
      "https://h.example/user-sync/app/***",
    ],
    ["", ""],
    ["not a url", "not a url"],
  ])("shows %s as %s", (url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });
});

describe("redactSecrets", () => {
  it("masks every occurrence of every secret, longest first", () => {
    expect(redactSecrets("id=abcd secret=abcdefgh again abcdefgh", ["abcd", "abcdefgh"])).toBe(
      "id=*** secret=*** again ***",
    );
  });

  it("ignores secrets too short to mask without garbling the text", () => {
    expect(redactSecrets("a b c", ["a", ""])).toBe("a b c");
  });
});
