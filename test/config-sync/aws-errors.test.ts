import { describe, expect, it } from "vitest";
import { awsErrorName, isTransientAwsError } from "../../functions/config-sync/aws-errors.ts";

const sdkError = (name: string, fields: Record<string, unknown>) =>
  Object.assign(new Error(`${name} (test)`), { name, $metadata: {}, ...fields });

describe("isTransientAwsError", () => {
  it("treats throttling, AWS-side faults and network failures as transient", () => {
    expect(isTransientAwsError(sdkError("ThrottlingException", { $fault: "client" }))).toBe(true);
    expect(
      isTransientAwsError(sdkError("Anything", { $fault: "client", $metadata: { httpStatusCode: 429 } })),
    ).toBe(true);
    expect(isTransientAwsError(sdkError("InternalServerError", { $fault: "server" }))).toBe(true);
    expect(isTransientAwsError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(
      true,
    );
  });

  it("treats missing resources and denied access as permanent", () => {
    expect(isTransientAwsError(sdkError("AccessDeniedException", { $fault: "client" }))).toBe(false);
    expect(isTransientAwsError(sdkError("ResourceNotFoundException", { $fault: "client" }))).toBe(false);
  });
});

describe("awsErrorName", () => {
  it("names the SDK error, and an error without a name as UnknownError", () => {
    expect(awsErrorName(sdkError("KMSAccessDeniedException", { $fault: "client" }))).toBe(
      "KMSAccessDeniedException",
    );
    expect(awsErrorName("not an error")).toBe("UnknownError");
  });
});
