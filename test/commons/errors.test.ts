import { describe, expect, it } from "vitest";
import { describeError, errorFields, errorName } from "../../functions/commons/errors.ts";

class ThrottlingException extends Error {
  override readonly name = "ThrottlingException";
}

describe("errorName", () => {
  it("names an Error by its name and anything else thrown by its type", () => {
    expect(errorName(new ThrottlingException("Rate exceeded"))).toBe("ThrottlingException");
    expect(errorName("a string")).toBe("string");
    expect(errorName(undefined)).toBe("undefined");
  });
});

describe("describeError", () => {
  it("gives name and message, and the chain of causes", () => {
    const error = new Error("the deletions table failed", {
      cause: new ThrottlingException("Rate exceeded"),
    });
    expect(describeError(error)).toBe(
      "Error: the deletions table failed (cause: ThrottlingException: Rate exceeded)",
    );
  });

  it("gives what is not an Error as text", () => {
    expect(describeError(42)).toBe("42");
  });
});

describe("errorFields", () => {
  it("gives name and message as log fields, and only the type of what is not an Error", () => {
    expect(errorFields(new ThrottlingException("Rate exceeded"))).toEqual({
      name: "ThrottlingException",
      message: "Rate exceeded",
    });
    expect(errorFields({ secret: "x" })).toEqual({ name: "object" });
  });
});
