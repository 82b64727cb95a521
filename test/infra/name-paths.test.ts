import { describe, expect, it } from "vitest";
import {
  EXACT_GRANTS_PER_PATH,
  grantedNames,
  parameterNameMatchers,
  topLevelPath,
} from "../../infra/name-paths.ts";

describe("topLevelPath", () => {
  it("is a name's first path segment with its slashes, and nothing for a name at the root", () => {
    expect(topLevelPath("/finapi/acme")).toBe("/finapi/");
    expect(topLevelPath("/finapi/live/acme")).toBe("/finapi/");
    expect(topLevelPath("finapi/acme/credentials")).toBe("finapi/");
    expect(topLevelPath("/acme")).toBeUndefined();
    expect(topLevelPath("acme")).toBeUndefined();
  });
});

describe("parameterNameMatchers", () => {
  it("matches every name under a top-level path by one prefix, in both spellings", () => {
    const names = Array.from({ length: 1000 }, (_, index) => `/finapi/client-${index}`);
    expect(parameterNameMatchers(names)).toEqual([{ prefix: "/finapi/" }, { prefix: "finapi/" }]);
  });

  it("matches a name at the root exactly, in both spellings, beside the prefixes", () => {
    expect(parameterNameMatchers(["finapi-live", "/finapi/sandbox", "/team/live/acme", "/acme"])).toEqual([
      "/acme",
      "/finapi-live",
      "acme",
      "finapi-live",
      { prefix: "/finapi/" },
      { prefix: "/team/" },
      { prefix: "finapi/" },
      { prefix: "team/" },
    ]);
  });
});

describe("grantedNames", () => {
  it(`grants each name while a top-level path holds at most ${EXACT_GRANTS_PER_PATH} of them`, () => {
    const names = Array.from({ length: EXACT_GRANTS_PER_PATH }, (_, index) => `/finapi/c${index}`);
    expect(grantedNames([...names, "root"])).toEqual({ exact: [...names, "root"], paths: [] });
  });

  it("grants the path instead of the names of a path that holds more", () => {
    const many = Array.from(
      { length: EXACT_GRANTS_PER_PATH + 1 },
      (_, index) => `finapi/c${index}/credentials`,
    );
    expect(grantedNames([...many, "other/one", "root"])).toEqual({
      exact: ["other/one", "root"],
      paths: ["finapi/"],
    });
  });
});
