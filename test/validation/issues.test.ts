import { describe, expect, it } from "vitest";
import * as classic from "zod";
import { describeIssues, issuePath } from "../../functions/validation/issues.ts";
import * as z from "../../functions/validation/zod.ts";

describe("describeIssues", () => {
  const mini = z.strictObject({
    client: z.string({ error: "must be a string" }),
    options: z.object({ dryRun: z.boolean({ error: "must be true or false" }) }),
  });

  it("names the field and the rule of each zod/mini issue, never the value", () => {
    const result = mini.safeParse({ client: 7, options: { dryRun: "s3cr3t" } });
    expect(result.success).toBe(false);
    const lines = describeIssues(result.error?.issues ?? []);
    expect(lines).toEqual(["client: must be a string", "options.dryRun: must be true or false"]);
    expect(lines.join()).not.toContain("s3cr3t");
  });

  it("reads classic zod's issues the same way", () => {
    const result = classic
      .object({ name: classic.string({ error: "must be a string" }) })
      .safeParse({ name: 1 });
    expect(describeIssues(result.error?.issues ?? [])).toEqual(["name: must be a string"]);
  });

  it("calls the whole value by its name, or gives the rule alone", () => {
    const issue = { code: "invalid_type", path: [], message: "must be a JSON object" };
    expect(describeIssues([issue], { whole: "body" })).toEqual(["body must be a JSON object"]);
    expect(describeIssues([issue])).toEqual(["must be a JSON object"]);
  });

  it("gives each unknown key its own line when asked, and drops repeats", () => {
    const result = mini.safeParse({ client: "acme", options: { dryRun: true }, clinet: "x", extra: 1 });
    expect(
      describeIssues(result.error?.issues ?? [], { unknownKey: (key) => `"${key}" is not a field` }),
    ).toEqual(['"clinet" is not a field', '"extra" is not a field']);
    const twice = { path: ["client"], message: "is required" };
    expect(describeIssues([twice, twice])).toEqual(["client: is required"]);
  });
});

describe("issuePath", () => {
  it("joins segments with dots, array indexes included", () => {
    expect(issuePath(["clients", 1, "name"])).toBe("clients.1.name");
    expect(issuePath([])).toBe("");
  });
});
