import { describe, expect, it } from "vitest";
import { formatChanges, patchFor, planChanges, redactChanges } from "../../functions/finapi/plan.ts";

const current = {
  userNotificationCallbackUrl: null,
  userSynchronizationCallbackUrl: "https://old.example.com/sync",
  refreshTokensValidityPeriod: 3600,
  userAccessTokensValidityPeriod: 3600,
  clientAccessTokensValidityPeriod: 3600,
  isAutomaticBatchUpdateEnabled: true,
};

describe("planChanges", () => {
  it("finds nothing to change when every managed field matches", () => {
    expect(
      planChanges(
        { userSynchronizationCallbackUrl: "https://old.example.com/sync", refreshTokensValidityPeriod: 3600 },
        current,
      ),
    ).toEqual([]);
  });

  it("treats a desired empty URL and finAPI's null as equal", () => {
    expect(planChanges({ userNotificationCallbackUrl: "" }, current)).toEqual([]);
  });

  it("leaves fields the document does not name alone", () => {
    expect(planChanges({}, current)).toEqual([]);
  });

  it("lists each differing field with finAPI's value and the desired one, in field order", () => {
    expect(
      planChanges(
        {
          clientAccessTokensValidityPeriod: 0,
          userSynchronizationCallbackUrl: "",
          userNotificationCallbackUrl: "https://new.example.com/n",
        },
        current,
      ),
    ).toEqual([
      { field: "userNotificationCallbackUrl", from: null, to: "https://new.example.com/n" },
      { field: "userSynchronizationCallbackUrl", from: "https://old.example.com/sync", to: "" },
      { field: "clientAccessTokensValidityPeriod", from: 3600, to: 0 },
    ]);
  });

  it("counts a field finAPI does not report as null", () => {
    expect(planChanges({ refreshTokensValidityPeriod: 60 }, {})).toEqual([
      { field: "refreshTokensValidityPeriod", from: null, to: 60 },
    ]);
  });
});

describe("patchFor", () => {
  it("holds exactly the differing fields with their desired values", () => {
    expect(
      patchFor([
        { field: "userSynchronizationCallbackUrl", from: "https://a.example/", to: "" },
        { field: "refreshTokensValidityPeriod", from: 3600, to: 60 },
      ]),
    ).toEqual({ userSynchronizationCallbackUrl: "", refreshTokensValidityPeriod: 60 });
  });
});

describe("redactChanges", () => {
  it("masks URL secrets and the given secrets in both values", () => {
    const secret = "Zq8Vn3Lr5Tx7Wb2Yc4Hd6Jf9Kg1Mp0Ns";
    expect(
      redactChanges(
        [
          {
            field: "userSynchronizationCallbackUrl",
            from: "https://x.example/user-sync/app/short",
            to: `https://x.example/user-sync/app/${secret}`,
          },
        ],
        ["short"],
      ),
    ).toEqual([
      {
        field: "userSynchronizationCallbackUrl",
        from: "https://x.example/user-sync/app/***",
        to: "https://x.example/user-sync/app/***",
      },
    ]);
  });
});

describe("formatChanges", () => {
  it("prints one terraform-style line per change, strings quoted", () => {
    expect(
      formatChanges([
        { field: "userNotificationCallbackUrl", from: null, to: "https://n.example/" },
        { field: "refreshTokensValidityPeriod", from: 3600, to: 0 },
      ]),
    ).toBe(
      '  ~ userNotificationCallbackUrl: null -> "https://n.example/"\n  ~ refreshTokensValidityPeriod: 3600 -> 0',
    );
  });
});
