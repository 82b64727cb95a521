import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { maskedRoute, parseCallbackPath, refusedRoute } from "../../functions/user-sync-callback/route.ts";
import { matchesAcceptedDigest, secretDigest } from "../../functions/user-sync-callback/secret-match.ts";

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

describe("matchesAcceptedDigest", () => {
  const key = Buffer.alloc(32, 7);
  const current = "c".repeat(40);
  const previous = "p".repeat(40);
  const digest = (secret: string, secretId = "callback/acme") => secretDigest(key, secretId, secret);
  const counted = (...secrets: string[]) =>
    secrets.map((secret) => ({ digest: digest(secret), counts: true }));

  it("matches the current or the previous secret", () => {
    const accepted = counted(current, previous);
    expect(matchesAcceptedDigest(digest(current), accepted)).toBe(true);
    expect(matchesAcceptedDigest(digest(previous), accepted)).toBe(true);
  });

  it("rejects a prefix, an extension, another case and anything when nothing is accepted", () => {
    const accepted = counted(current);
    expect(matchesAcceptedDigest(digest(current.slice(0, 39)), accepted)).toBe(false);
    expect(matchesAcceptedDigest(digest(`${current}c`), accepted)).toBe(false);
    expect(matchesAcceptedDigest(digest(current.toUpperCase()), accepted)).toBe(false);
    expect(matchesAcceptedDigest(digest(current), [])).toBe(false);
  });

  it("does not count a digest that is compared but no longer accepted (AWSPREVIOUS past the overlap)", () => {
    expect(matchesAcceptedDigest(digest(previous), [{ digest: digest(previous), counts: false }])).toBe(
      false,
    );
  });

  it("never matches a stored digest of another length (a damaged record)", () => {
    expect(
      matchesAcceptedDigest(digest(current), [{ digest: digest(current).subarray(0, 16), counts: true }]),
    ).toBe(false);
  });
});

describe("secretDigest", () => {
  const secret = "c".repeat(40);

  it("depends on the key and on the secret's id, so digests neither match without the key nor move between clients", () => {
    const key = Buffer.alloc(32, 7);
    expect(secretDigest(key, "callback/acme", secret)).toEqual(secretDigest(key, "callback/acme", secret));
    expect(secretDigest(key, "callback/acme", secret)).not.toEqual(
      secretDigest(Buffer.alloc(32, 8), "callback/acme", secret),
    );
    expect(secretDigest(key, "callback/acme", secret)).not.toEqual(
      secretDigest(key, "callback/globex", secret),
    );
    expect(secretDigest(key, "callback/acme", secret)).not.toEqual(
      createHash("sha256").update(secret).digest(),
    );
  });
});
