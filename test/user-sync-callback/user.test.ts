import { describe, expect, it } from "vitest";
import { finapiUserIdSchema, userSyncCallbackPayloadSchema } from "../../functions/finapi/user.ts";

const messages = (input: unknown) => {
  const result = userSyncCallbackPayloadSchema.safeParse(input);
  return result.success
    ? []
    : result.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
};

describe("finapiUserIdSchema", () => {
  it.each(["a", "user-1_test.name+tag@example.com".slice(0, 36), "0123456789abcdefghijklmnopqrstuvwxyz"])(
    "accepts %j",
    (userId) => {
      expect(finapiUserIdSchema.parse(userId)).toBe(userId);
    },
  );

  it.each([
    ["the empty string", ""],
    ["37 characters", "a".repeat(37)],
    ["a space", "a b"],
    ["a slash", "a/b"],
    ["a non-ASCII letter", "jürgen"],
    ["a newline", "a\n"],
  ])("rejects %s", (_case, userId) => {
    expect(finapiUserIdSchema.safeParse(userId).success).toBe(false);
  });
});

describe("userSyncCallbackPayloadSchema", () => {
  it("keeps userId and event and drops any other key", () => {
    expect(userSyncCallbackPayloadSchema.parse({ userId: "u1", event: "DELETED", extra: { x: 1 } })).toEqual({
      userId: "u1",
      event: "DELETED",
    });
  });

  it("accepts an event other than DELETED, since finAPI may add events", () => {
    expect(userSyncCallbackPayloadSchema.parse({ userId: "u1", event: "CREATED" }).event).toBe("CREATED");
  });

  it("names each field and its rule, all at once", () => {
    expect(messages({ userId: "x".repeat(40), event: 7 })).toEqual([
      "userId: must be 1..36 characters of 0-9 A-Z a-z - _ . + @",
      "event: must be a string",
    ]);
    expect(messages({})).toEqual(["userId: is required", "event: is required"]);
    expect(messages([1])).toEqual([": must be a JSON object"]);
  });
});
