import { describe, expect, it } from "vitest";
import { jsonText, loadEnvironment, requiredVariable } from "../../functions/validation/environment.ts";
import * as z from "../../functions/validation/zod.ts";

describe("loadEnvironment", () => {
  const schema = z.object({
    TABLE_NAME: requiredVariable("must be a DynamoDB table name"),
    CLIENTS: z.pipe(
      z.pipe(requiredVariable("must be a JSON array"), jsonText),
      z.array(z.object({ name: z.string({ error: "is required" }) })),
    ),
    TTL_SECONDS: z._default(z.string(), "60"),
  });

  it("returns the parsed configuration", () => {
    expect(loadEnvironment("probe", schema, { TABLE_NAME: "status", CLIENTS: '[{"name":"acme"}]' })).toEqual({
      TABLE_NAME: "status",
      CLIENTS: [{ name: "acme" }],
      TTL_SECONDS: "60",
    });
  });

  it("takes an empty variable for an unset one (a default applies, a required one is missing)", () => {
    expect(() => loadEnvironment("probe", schema, { TABLE_NAME: "", CLIENTS: "[]" })).toThrow(
      "probe configuration is invalid: TABLE_NAME: is required",
    );
    expect(
      loadEnvironment("probe", schema, { TABLE_NAME: "t", CLIENTS: "[]", TTL_SECONDS: "" }).TTL_SECONDS,
    ).toBe("60");
  });

  it("names every bad variable and the place inside a JSON one in one message, never a value", () => {
    const load = () => loadEnvironment("probe", schema, { CLIENTS: '[{"name":"acme"},{"label":"hunter2"}]' });
    expect(load).toThrow(
      "probe configuration is invalid: TABLE_NAME: is required; CLIENTS [1.name]: is required",
    );
    expect(load).not.toThrow(/hunter2/);
  });
});
