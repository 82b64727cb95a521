import { describe, expect, it } from "vitest";
import {
  DEPLOYED_BASE_URL_RULE,
  finapiBaseUrlProblem,
  LOCAL_BASE_URL_RULE,
} from "../../functions/finapi/base-url.ts";

const HTTPS_OR_LOOPBACK =
  "must be an absolute https:// URL (http:// only for a loopback host: localhost, 127.0.0.0/8, ::1)";

describe("finapiBaseUrlProblem", () => {
  it.each([
    "https://sandbox.finapi.io",
    "https://live.finapi.io/",
    "https://finapi.example.com:8443/prefix",
    "http://127.0.0.1:4010",
    "http://127.255.0.9",
    "http://localhost:4010/",
    "http://[::1]:4010",
  ])("accepts %s where an emulator on this machine may be used", (url) => {
    expect(finapiBaseUrlProblem(url, LOCAL_BASE_URL_RULE)).toBeUndefined();
  });

  it.each([
    "http://sandbox.finapi.io",
    "http://live.finapi.io",
    "http://128.0.0.1",
    "http://10.0.0.1",
    "http://localhost.finapi.io",
    "http://127.0.0.1.nip.io",
    "http://[::2]",
    "ftp://127.0.0.1",
    "sandbox.finapi.io",
    "",
  ])("refuses %s, which would carry the client secret in cleartext or nowhere sensible", (url) => {
    expect(finapiBaseUrlProblem(url, LOCAL_BASE_URL_RULE)).toBe(HTTPS_OR_LOOPBACK);
  });

  it("refuses user info, a query and a fragment, which the paths would be appended to", () => {
    expect(finapiBaseUrlProblem("https://user:pw@sandbox.finapi.io", LOCAL_BASE_URL_RULE)).toBe(
      `${HTTPS_OR_LOOPBACK} without user info`,
    );
    expect(finapiBaseUrlProblem("https://sandbox.finapi.io/?x=1", LOCAL_BASE_URL_RULE)).toBe(
      `${HTTPS_OR_LOOPBACK} without a query or fragment`,
    );
    expect(finapiBaseUrlProblem("https://sandbox.finapi.io/#x", LOCAL_BASE_URL_RULE)).toBe(
      `${HTTPS_OR_LOOPBACK} without a query or fragment`,
    );
  });

  it("accepts only https, loopback included, where a deployed stack calls finAPI", () => {
    expect(finapiBaseUrlProblem("https://sandbox.finapi.io", DEPLOYED_BASE_URL_RULE)).toBeUndefined();
    for (const url of ["http://127.0.0.1:4010", "http://localhost", "http://sandbox.finapi.io"]) {
      expect(finapiBaseUrlProblem(url, DEPLOYED_BASE_URL_RULE)).toBe("must be an absolute https:// URL");
    }
  });
});
