import { describe, expect, it } from "vitest";
import type { ConfiguredClient } from "../../functions/config-sync/config.ts";
import { selectClients } from "../../functions/config-sync/selection.ts";

const client = (name: string, parameterName: string): ConfiguredClient => ({
  name,
  environment: "sandbox",
  baseUrl: "https://sandbox.finapi.io",
  parameterName,
  credentialsSecretId: `finapi/${name}/credentials`,
  mode: "apply",
});
const acme = client("acme", "/finapi/acme");
const globex = client("globex", "finapi-globex");
const clients = [acme, globex];

describe("selectClients", () => {
  it("reconciles every client on the schedule, through the parameter cache", () => {
    expect(selectClients({ kind: "schedule" }, clients)).toEqual({
      kind: "reconcile",
      trigger: "schedule",
      clients,
      dryRun: false,
      freshParameters: false,
    });
  });

  it("reconciles the changed parameter's client with a fresh read", () => {
    expect(
      selectClients(
        { kind: "parameter-change", parameterName: "/finapi/acme", operation: "Update" },
        clients,
      ),
    ).toEqual({
      kind: "reconcile",
      trigger: "parameter-change",
      clients: [acme],
      dryRun: false,
      freshParameters: true,
    });
  });

  it("matches parameter names whether or not the event or the configuration has the leading slash", () => {
    const withoutSlash = selectClients(
      { kind: "parameter-change", parameterName: "finapi/acme", operation: "Create" },
      clients,
    );
    const withSlash = selectClients(
      { kind: "parameter-change", parameterName: "/finapi-globex", operation: "LabelParameterVersion" },
      clients,
    );
    expect(withoutSlash).toMatchObject({ kind: "reconcile", clients: [acme] });
    expect(withSlash).toMatchObject({ kind: "reconcile", clients: [globex] });
  });

  it("hands a Delete over as a deletion, never as a reconcile", () => {
    expect(
      selectClients(
        { kind: "parameter-change", parameterName: "/finapi/acme", operation: "Delete" },
        clients,
      ),
    ).toEqual({ kind: "parameter-deleted", client: acme });
  });

  it("ignores a parameter that is no client's document", () => {
    expect(
      selectClients(
        { kind: "parameter-change", parameterName: "/finapi/acme-old", operation: "Update" },
        clients,
      ),
    ).toEqual({ kind: "ignored", reason: "the parameter is no configured client's document" });
  });

  it("reconciles the named client, or all of them, on a manual invoke, dry run included", () => {
    expect(selectClients({ kind: "manual", client: "globex", dryRun: true }, clients)).toEqual({
      kind: "reconcile",
      trigger: "manual",
      clients: [globex],
      dryRun: true,
      freshParameters: true,
    });
    expect(selectClients({ kind: "manual", dryRun: false }, clients)).toMatchObject({ clients });
  });

  it("rejects a manual invoke for an unknown client, suggesting the nearest name", () => {
    expect(selectClients({ kind: "manual", client: "acmee", dryRun: false }, clients)).toEqual({
      kind: "rejected",
      reason: 'client: no configured client is named "acmee"; did you mean "acme"?',
    });
  });
});
