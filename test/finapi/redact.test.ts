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

  it.each([
    ["a short secret", "https://h.example/user-sync/app/abc", "https://h.example/user-sync/app/***"],
    ["a one-character secret", "https://h.example/user-sync/app/x", "https://h.example/user-sync/app/***"],
    [
      "a secret that looks like a path word",
      "https://h.example/user-sync/app/notifications-v2",
      "https://h.example/user-sync/app/***",
    ],
    [
      "a percent-encoded secret",
      "https://h.example/user-sync/app/%41%2Fb",
      "https://h.example/user-sync/app/***",
    ],
    [
      "unreserved punctuation",
      "https://h.example/user-sync/app/a.b~c_d-e",
      "https://h.example/user-sync/app/***",
    ],
    [
      "more segments after it",
      "https://h.example/user-sync/app/abc/def/",
      "https://h.example/user-sync/app/***",
    ],
    [
      "a query and a fragment",
      "https://h.example/user-sync/app/abc?x=1#frag",
      "https://h.example/user-sync/app/***",
    ],
    [
      "an API Gateway stage and user info",
      "https://u:p@h.example/prod/user-sync/app/abc",
      "https://u:***@h.example/prod/user-sync/app/***",
    ],
    [
      "a callback path with nothing after the client",
      "https://h.example/user-sync/app/",
      "https://h.example/user-sync/app/",
    ],
  ])("masks everything after /user-sync/<client>/ with %s", (_case, url, shown) => {
    expect(redactUrl(url)).toBe(shown);
  });

  it("masks a callback path in text that does not parse as a URL", () => {
    expect(redactUrl("https://bad host/user-sync/app/abc?x=1 then more")).toBe(
      "https://bad host/user-sync/app/*** then more",
    );
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
