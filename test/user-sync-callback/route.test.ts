import { describe, expect, it } from "vitest";
import { maskedRoute, parseCallbackPath, refusedRoute } from "../../functions/user-sync-callback/route.ts";
import {
  MIN_SECRET_LENGTH,
  matchesAcceptedSecret,
  secretDigest,
} from "../../functions/user-sync-callback/secret-match.ts";

describe("parseCallbackPath", () => {
  it.each([
    ["/user-sync/acme/s3cr3t", { client: "acme", secret: "s3cr3t" }],
    ["/prod/user-sync/acme/s3cr3t", { client: "acme", secret: "s3cr3t" }],
  ])("reads the client and the secret from %s", (path, route) => {
    expect(parseCallbackPath(path)).toEqual(route);
  });

  it.each([
    undefined,
    "",
    "/",
    "/user-sync",
    "/user-sync/acme",
    "/user-sync/acme/",
    "/user-sync//s3cr3t",
    "/user-sync/acme/s3cr3t/",
    "/user-sync/acme/s3cr3t/extra",
    "/a/b/user-sync/acme/s3cr3t",
    "/USER-SYNC/acme/s3cr3t",
    "user-sync/acme/s3cr3t",
  ])("finds no route in %j", (path) => {
    expect(parseCallbackPath(path)).toBeUndefined();
  });
});

describe("maskedRoute", () => {
  it("keeps the client and masks the secret", () => {
    expect(maskedRoute("acme")).toBe("/user-sync/acme/***");
  });
});

describe("refusedRoute", () => {
  it("names a configured client, hides any other, and says when there was no route", () => {
    expect(refusedRoute({ client: "acme", secret: "guess" }, ["acme"])).toBe("/user-sync/acme/***");
    expect(refusedRoute({ client: "probe", secret: "guess" }, ["acme"])).toBe("/user-sync/?/***");
    expect(refusedRoute(undefined, ["acme"])).toBe("unrecognised");
  });
});

describe("matchesAcceptedSecret", () => {
  const current = "c".repeat(40);
  const previous = "p".repeat(40);

  it("matches the current or the previous secret", () => {
    const accepted = [secretDigest(current), secretDigest(previous)];
    expect(matchesAcceptedSecret(current, accepted)).toBe(true);
    expect(matchesAcceptedSecret(previous, accepted)).toBe(true);
  });

  it("rejects a prefix, an extension, another case and anything when nothing is accepted", () => {
    const accepted = [secretDigest(current)];
    expect(matchesAcceptedSecret(current.slice(0, 39), accepted)).toBe(false);
    expect(matchesAcceptedSecret(`${current}c`, accepted)).toBe(false);
    expect(matchesAcceptedSecret(current.toUpperCase(), accepted)).toBe(false);
    expect(matchesAcceptedSecret(current, [])).toBe(false);
  });

  it("never matches a stored digest that is not a SHA-256 (a damaged record)", () => {
    expect(matchesAcceptedSecret(current, [secretDigest(current).subarray(0, 16)])).toBe(false);
  });

  it("asks for at least 22 characters, the least that carry 128 bits of alphanumerics", () => {
    expect(MIN_SECRET_LENGTH).toBe(22);
    expect(62 ** (MIN_SECRET_LENGTH - 1)).toBeLessThan(2 ** 128);
    expect(62 ** MIN_SECRET_LENGTH).toBeGreaterThan(2 ** 128);
  });
});
