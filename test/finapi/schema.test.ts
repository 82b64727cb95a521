import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type FinapiEnvironment,
  formatViolations,
  MANAGED_FIELDS,
  parseDesiredDocument,
  validateDesiredState,
} from "../../functions/finapi/schema.ts";
import { fuzzParameters } from "../fuzz/settings.ts";

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/desired-state/${name}`, import.meta.url), "utf8");
const example = (name: string) => readFileSync(new URL(`../../examples/${name}`, import.meta.url), "utf8");

function violationsOf(document: unknown, environment: FinapiEnvironment = "sandbox") {
  const result = validateDesiredState(document, environment);
  if (result.ok) throw new Error("expected violations, the document was accepted");
  return result.violations;
}

describe("validateDesiredState", () => {
  it.each([
    ["an empty object (nothing managed)", {}],
    ["every field set", JSON.parse(example("sandbox.json"))],
    ['"" to clear both URLs', { userNotificationCallbackUrl: "", userSynchronizationCallbackUrl: "" }],
    ["http URLs on sandbox", { userNotificationCallbackUrl: "http://backend.example.com:8080/n?x=1" }],
    [
      "a URL of exactly 512 characters",
      { userNotificationCallbackUrl: `https://e.example/${"a".repeat(494)}` },
    ],
    ["0 (never expires)", { refreshTokensValidityPeriod: 0 }],
    ["the lowest period, 60", { userAccessTokensValidityPeriod: 60 }],
    ["the highest period, 2147483647", { clientAccessTokensValidityPeriod: 2_147_483_647 }],
    ["a whole number written with a fraction part", { clientAccessTokensValidityPeriod: 3600.0 }],
  ])("accepts %s", (_, document) => {
    expect(validateDesiredState(document, "sandbox")).toEqual({ ok: true, value: document });
  });

  it("accepts http URLs on alpha as on sandbox", () => {
    expect(validateDesiredState({ userSynchronizationCallbackUrl: "http://a.example/s" }, "alpha").ok).toBe(
      true,
    );
  });

  it.each([
    [
      "a URL over 512 characters",
      { userNotificationCallbackUrl: `https://e.example/${"a".repeat(495)}` },
      "max-length",
    ],
    ["a relative URL", { userNotificationCallbackUrl: "/finapi/notifications" }, "url"],
    ["a URL without a scheme", { userNotificationCallbackUrl: "backend.example.com/n" }, "url"],
    ["an ftp URL", { userSynchronizationCallbackUrl: "ftp://backend.example.com/n" }, "url"],
    ["a URL with a space", { userSynchronizationCallbackUrl: "https://backend.example.com/a b" }, "url"],
    [
      "a URL with surrounding whitespace",
      { userSynchronizationCallbackUrl: " https://backend.example.com/" },
      "url",
    ],
    ["a URL that is a number", { userNotificationCallbackUrl: 42 }, "type"],
    ["a null URL", { userNotificationCallbackUrl: null }, "not-null"],
    ["a null period", { refreshTokensValidityPeriod: null }, "not-null"],
    ["a period as a string", { refreshTokensValidityPeriod: "3600" }, "type"],
    ["a period with a fraction", { refreshTokensValidityPeriod: 3600.5 }, "integer"],
    ["a period of 59 seconds", { userAccessTokensValidityPeriod: 59 }, "range"],
    ["a period of 1 second", { userAccessTokensValidityPeriod: 1 }, "range"],
    ["a negative period", { clientAccessTokensValidityPeriod: -60 }, "range"],
    ["a period above int32", { clientAccessTokensValidityPeriod: 2_147_483_648 }, "range"],
    ["a boolean period", { clientAccessTokensValidityPeriod: true }, "type"],
    ["an unknown key", { applicationName: "My App" }, "unknown-key"],
  ])("rejects %s", (_, document, rule) => {
    const [violation, ...others] = violationsOf(document);
    expect(others).toEqual([]);
    expect(violation).toMatchObject({ path: Object.keys(document)[0], rule });
  });

  it("rejects http URLs on live, naming the environment rule", () => {
    expect(violationsOf({ userSynchronizationCallbackUrl: "http://a.example/s" }, "live")).toEqual([
      {
        path: "userSynchronizationCallbackUrl",
        rule: "https-on-live",
        message: "must use https on finAPI's live environment (http is allowed on sandbox and alpha only)",
      },
    ]);
  });

  it("tells how to clear a URL when it is null", () => {
    expect(violationsOf({ userNotificationCallbackUrl: null })[0]?.message).toBe(
      'must not be null: use "" to clear it, or leave the field out to keep finAPI\'s value',
    );
  });

  it.each([
    ["clientAccesTokensValidityPeriod", "clientAccessTokensValidityPeriod"],
    ["user_notification_callback_url", "userNotificationCallbackUrl"],
    ["UserSynchronizationCallbackURL", "userSynchronizationCallbackUrl"],
    ["refreshTokenValidityPeriod", "refreshTokensValidityPeriod"],
  ])("suggests the nearest field name for the typo %s", (typo, suggestion) => {
    expect(violationsOf({ [typo]: 3600 })[0]?.message).toContain(`did you mean "${suggestion}"?`);
  });

  it("lists the valid fields when an unknown key resembles none of them", () => {
    const message = violationsOf({ supportEmail: "a@b.c" })[0]?.message ?? "";
    for (const field of MANAGED_FIELDS) expect(message).toContain(field);
  });

  it("never repeats a rejected URL in its message, since URLs may carry secrets", () => {
    const secretUrl = "ftp://callbacks.example.com/user-sync/app/s3cr3tS3cr3tS3cr3t";
    const violations = violationsOf({
      userSynchronizationCallbackUrl: secretUrl,
      userNotificationCallbackUrl: 7,
    });
    expect(JSON.stringify(violations)).not.toContain("s3cr3t");
  });

  it.each([
    ["null", null, "it is null"],
    ["an array", [], "it is an array"],
    ["a string", "{}", "it is a string"],
    ["a number", 3600, "it is a number"],
  ])("rejects a document that is %s rather than an object", (_, document, detail) => {
    expect(violationsOf(document)).toEqual([
      { path: "$", rule: "object", message: expect.stringContaining(detail) as string },
    ]);
  });
});

describe("parseDesiredDocument", () => {
  it("reports every violation of a document at once, each with its path and rule", () => {
    const result = parseDesiredDocument(fixture("every-violation.json"), "live");
    expect(result.ok).toBe(false);
    const violations = result.ok ? [] : result.violations;
    expect(violations.map(({ path, rule }) => `${path}:${rule}`).sort()).toEqual([
      "clientAccesTokensValidityPeriod:unknown-key",
      "clientAccessTokensValidityPeriod:integer",
      "refreshTokensValidityPeriod:type",
      "userAccessTokensValidityPeriod:range",
      "userNotificationCallbackUrl:not-null",
      "userSynchronizationCallbackUrl:https-on-live",
    ]);
  });

  it("refuses a key repeated in the document, which JSON.parse would let the last one win", () => {
    expect(parseDesiredDocument(fixture("duplicate-key.json"), "live")).toEqual({
      ok: false,
      violations: [
        {
          path: "clientAccessTokensValidityPeriod",
          rule: "duplicate-key",
          message:
            "appears more than once in its object (first at line 2, column 3); JSON keeps only the last value, so remove the others",
          line: 4,
          column: 3,
        },
        {
          path: "clientAccessTokensValidityPeriod",
          rule: "range",
          message: "must be 0 (never expires) or 60..2147483647 seconds (it is 30)",
          line: 4,
          column: 3,
        },
      ],
    });
  });

  it("counts lines and columns after a byte-order mark and across CRLF line ends as editors do", () => {
    const result = parseDesiredDocument(fixture("duplicate-key-crlf-bom.json"), "sandbox");
    expect(
      result.ok ? [] : result.violations.map(({ rule, line, column }) => ({ rule, line, column })),
    ).toEqual([{ rule: "duplicate-key", line: 3, column: 2 }]);
  });

  it("places each violation at its field's key, and a violation of the document at its start", () => {
    const every = parseDesiredDocument(fixture("every-violation.json"), "live");
    expect(
      every.ok ? [] : every.violations.map(({ path, line, column }) => `${path} ${line}:${column}`).sort(),
    ).toEqual([
      "clientAccesTokensValidityPeriod 7:3",
      "clientAccessTokensValidityPeriod 6:3",
      "refreshTokensValidityPeriod 4:3",
      "userAccessTokensValidityPeriod 5:3",
      "userNotificationCallbackUrl 2:3",
      "userSynchronizationCallbackUrl 3:3",
    ]);
    const array = parseDesiredDocument("\n  [1]", "live");
    expect(array.ok ? [] : array.violations).toMatchObject([
      { path: "$", rule: "object", line: 2, column: 3 },
    ]);
    const syntax = parseDesiredDocument('{\n  "a": 1 oops}', "live");
    expect(syntax.ok ? [] : syntax.violations).toMatchObject([
      { path: "$", rule: "json", line: 2, column: 10 },
    ]);
  });

  it.each([
    ["empty.json", "$ is empty: expected a JSON object such as {} [json]"],
    ["truncated.json", "$ is not valid JSON: it ends before the JSON object does [json]"],
    ["trailing-text.json", "$ has unexpected text after the JSON object at line 2, column 1 [json]"],
    ["trailing-comma.json", "$ is not valid JSON at line 4, column 1 [json]"],
    ["array.json", expect.stringContaining("$ must be a JSON object") as string],
  ])("explains why %s is not a document", (name, message) => {
    const result = parseDesiredDocument(fixture(name), "sandbox");
    expect(result.ok ? "accepted" : formatViolations(result.violations)).toEqual(message);
  });

  it("accepts a document that starts with a byte-order mark", () => {
    expect(parseDesiredDocument(fixture("with-bom.json"), "sandbox")).toEqual({
      ok: true,
      value: { clientAccessTokensValidityPeriod: 0 },
    });
  });

  it("does not quote the document in a JSON syntax error", () => {
    const result = parseDesiredDocument(
      '{"userSynchronizationCallbackUrl": "https://x.example/s3cr3tValue" oops}',
      "sandbox",
    );
    expect(result.ok ? "" : formatViolations(result.violations)).not.toContain("s3cr3t");
  });

  it.each([
    ["sandbox.json", "sandbox"],
    ["live.json", "live"],
  ] as const)("accepts the example %s on %s", (name, environment) => {
    expect(parseDesiredDocument(example(name), environment).ok).toBe(true);
  });
});

describe("formatViolations", () => {
  it("prints one line per violation with the source, the path, the message and the rule", () => {
    expect(
      formatViolations(
        [
          { path: "a", rule: "range", message: "must be 0 or more" },
          { path: "$", rule: "json", message: "is empty" },
        ],
        "doc.json",
      ),
    ).toBe("doc.json: a must be 0 or more [range]\ndoc.json: $ is empty [json]");
  });

  it("puts a violation's line and column after the source, as editors and CI annotations read them", () => {
    const violations = [
      { path: "a", rule: "duplicate-key", message: "appears more than once", line: 3, column: 5 },
    ] as const;
    expect(formatViolations(violations, "doc.json")).toBe(
      "doc.json:3:5: a appears more than once [duplicate-key]",
    );
    expect(formatViolations(violations)).toBe("a appears more than once [duplicate-key]");
  });
});

/*
 * The property tests build each value together with whether the rules allow it, so the oracle is the
 * construction itself rather than a second implementation of the validator.
 */
interface Tagged {
  readonly value: unknown;
  readonly validOn: (environment: FinapiEnvironment) => boolean;
}
const always = () => true;
const never = () => false;

const hostArbitrary = fc.domain();
const pathArbitrary = fc
  .array(fc.stringMatching(/^[a-zA-Z0-9_-]{1,12}$/), { maxLength: 4 })
  .map((parts) => parts.join("/"));
const urlArbitrary: fc.Arbitrary<Tagged> = fc.oneof(
  fc.constant({ value: "", validOn: always }),
  fc
    .tuple(hostArbitrary, pathArbitrary)
    .map(([host, path]) => ({ value: `https://${host}/${path}`, validOn: always })),
  fc.tuple(hostArbitrary, pathArbitrary).map(([host, path]) => ({
    value: `http://${host}/${path}`,
    validOn: (env: FinapiEnvironment) => env !== "live",
  })),
  fc.tuple(hostArbitrary, fc.integer({ min: 513, max: 700 })).map(([host, length]) => {
    const prefix = `https://${host}/`;
    return { value: prefix + "x".repeat(Math.max(0, length - prefix.length)), validOn: never };
  }),
  fc
    .tuple(fc.constantFrom("ftp://", "mailto:", "", "//", "file:///"), hostArbitrary)
    .map(([scheme, host]) => ({
      value: `${scheme}${host}`,
      validOn: never,
    })),
  fc.constantFrom(null, 0, true, [], {}).map((value) => ({ value, validOn: never })),
);
const periodArbitrary: fc.Arbitrary<Tagged> = fc.oneof(
  fc.constant({ value: 0, validOn: always }),
  fc.integer({ min: 60, max: 2_147_483_647 }).map((value) => ({ value, validOn: always })),
  fc
    .integer({ min: -1_000_000, max: 59 })
    .filter((n) => n !== 0)
    .map((value) => ({ value, validOn: never })),
  fc
    .integer({ min: 2_147_483_648, max: Number.MAX_SAFE_INTEGER })
    .map((value) => ({ value, validOn: never })),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((n) => !Number.isInteger(n))
    .map((value) => ({ value, validOn: never })),
  fc.constantFrom(null, "3600", "0", true, [60]).map((value) => ({ value, validOn: never })),
);
const fieldArbitraries: Record<(typeof MANAGED_FIELDS)[number], fc.Arbitrary<Tagged>> = {
  userNotificationCallbackUrl: urlArbitrary,
  userSynchronizationCallbackUrl: urlArbitrary,
  refreshTokensValidityPeriod: periodArbitrary,
  userAccessTokensValidityPeriod: periodArbitrary,
  clientAccessTokensValidityPeriod: periodArbitrary,
};
const extraKeyArbitrary = fc
  .string({ minLength: 1, maxLength: 20 })
  .filter((key) => !(MANAGED_FIELDS as readonly string[]).includes(key) && key !== "__proto__");

const PROPERTY_RUNS = 2_000;

describe("the desired-state rules, as properties", () => {
  it("accepts exactly the documents the rules allow", () => {
    fc.assert(
      fc.property(
        fc.record(fieldArbitraries, { requiredKeys: [] }),
        fc.option(fc.tuple(extraKeyArbitrary, fc.jsonValue()), { nil: undefined }),
        fc.constantFrom<FinapiEnvironment>("sandbox", "live", "alpha"),
        (tagged, extra, environment) => {
          const document: Record<string, unknown> = Object.fromEntries(
            Object.entries(tagged).map(([field, { value }]) => [field, value]),
          );
          if (extra) document[extra[0]] = extra[1];
          const allowed = !extra && Object.values(tagged).every(({ validOn }) => validOn(environment));
          const result = parseDesiredDocument(JSON.stringify(document), environment);
          expect(result.ok).toBe(allowed);
          if (result.ok) expect(result.value).toEqual(document);
          else expect(result.violations.length).toBeGreaterThan(0);
        },
      ),
      fuzzParameters(PROPERTY_RUNS),
    );
  });

  it("never throws, whatever the text, and explains every refusal", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc.jsonValue().map((value) => JSON.stringify(value)),
        ),
        fc.constantFrom<FinapiEnvironment>("sandbox", "live", "alpha"),
        (text, environment) => {
          const result = parseDesiredDocument(text, environment);
          if (!result.ok) {
            expect(result.violations.length).toBeGreaterThan(0);
            for (const violation of result.violations) expect(violation.message.length).toBeGreaterThan(0);
          }
        },
      ),
      fuzzParameters(PROPERTY_RUNS),
    );
  });
});
