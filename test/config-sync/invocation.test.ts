import { describe, expect, it } from "vitest";
import { parseInvocation } from "../../functions/config-sync/invocation.ts";
import { event } from "./support.ts";

const reasonOf = (input: unknown) => {
  const parsed = parseInvocation(input);
  if (parsed.ok) throw new Error("expected the input to be rejected");
  return parsed.reason;
};

describe("parseInvocation", () => {
  it.each([
    ["parameter-create", "Create"],
    ["parameter-update", "Update"],
    ["parameter-label", "LabelParameterVersion"],
    ["parameter-delete", "Delete"],
  ])("reads the parameter name and operation of a Parameter Store Change (%s)", (fixture, operation) => {
    expect(parseInvocation(event(fixture))).toEqual({
      ok: true,
      value: { kind: "parameter-change", parameterName: "/finapi/acme", operation },
    });
  });

  it("reads the reconcile schedule's event", () => {
    expect(parseInvocation(event("scheduled"))).toEqual({ ok: true, value: { kind: "schedule" } });
  });

  it("reads a manual invoke for one client, for all clients, and as a dry run", () => {
    expect(parseInvocation({ client: "acme" })).toEqual({
      ok: true,
      value: { kind: "manual", client: "acme", dryRun: false },
    });
    expect(parseInvocation({})).toEqual({ ok: true, value: { kind: "manual", dryRun: false } });
    expect(parseInvocation({ dryRun: true })).toEqual({
      ok: true,
      value: { kind: "manual", dryRun: true },
    });
  });

  it("reads a dry run's document for one client as JSON text", () => {
    const document = { refreshTokensValidityPeriod: 7200 };
    expect(parseInvocation({ client: "acme", dryRun: true, document })).toEqual({
      ok: true,
      value: { kind: "manual", client: "acme", dryRun: true, document: JSON.stringify(document) },
    });
  });

  it.each([
    ["without dryRun", { client: "acme", document: {} }],
    ["for every client", { dryRun: true, document: {} }],
  ])("rejects a document %s, naming the field and the rule", (_case, input) => {
    expect(reasonOf(input)).toBe(
      'not a valid manual invoke: document: a document is compared for one client in a dry run only: set "client" and "dryRun": true',
    );
  });

  it("rejects a document that is not a JSON object", () => {
    expect(reasonOf({ client: "acme", dryRun: true, document: "{}" })).toBe(
      "not a valid manual invoke: document: must be a JSON object (the desired-state document)",
    );
  });

  it("rejects a Parameter Store Change without a parameter name, naming the field", () => {
    expect(reasonOf(event("malformed/parameter-change-without-name"))).toBe(
      "not a valid Parameter Store Change event: detail.name: Invalid input: expected string, received undefined",
    );
  });

  it("rejects an operation Parameter Store does not send", () => {
    expect(reasonOf(event("malformed/parameter-change-unknown-operation"))).toMatch(
      /^not a valid Parameter Store Change event: detail\.operation: Invalid option: expected one of "Create"/,
    );
  });

  it("rejects an event from another source, and a schedule event of the wrong type", () => {
    expect(reasonOf(event("malformed/unknown-source"))).toContain('source must be "aws.ssm"');
    expect(reasonOf(event("malformed/scheduled-wrong-detail-type"))).toMatch(
      /^not a valid scheduled event: detail-type: /,
    );
  });

  it("rejects a misspelt manual field with the field it resembles", () => {
    expect(reasonOf(event("malformed/manual-misspelt-field"))).toBe(
      'not a valid manual invoke: "clinet" is not a field; did you mean "client"?',
    );
  });

  it("rejects a dry run flag that is not a boolean", () => {
    expect(reasonOf(event("malformed/manual-dry-run-not-boolean"))).toBe(
      "not a valid manual invoke: dryRun: must be true or false",
    );
  });

  it.each([
    ["an array", event("malformed/array")],
    ["a string", "acme"],
    ["null", null],
  ])("rejects %s as not a config-sync input", (_kind, input) => {
    expect(reasonOf(input)).toMatch(/^not a config-sync input: must be a JSON object/);
  });
});
