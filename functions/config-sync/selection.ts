import type { Trigger } from "../contracts/config-sync.ts";
import { nearestName } from "../finapi/nearest-name.ts";
import { type ConfiguredClient, parameterKey } from "./config.ts";
import type { Invocation } from "./invocation.ts";

export type Selection =
  | {
      readonly kind: "reconcile";
      readonly trigger: Trigger;
      readonly clients: readonly ConfiguredClient[];
      readonly dryRun: boolean;
      /**
       * Read each parameter from Parameter Store rather than from the container's cache: a change
       * event or a person asking for "reconcile now" is about a value that may have just changed.
       */
      readonly freshParameters: boolean;
      /** A document to compare instead of the stored one (a dry run of one client), as JSON text. */
      readonly document?: string;
    }
  | { readonly kind: "parameter-deleted"; readonly client: ConfiguredClient }
  | { readonly kind: "ignored"; readonly reason: string }
  | { readonly kind: "rejected"; readonly reason: string };

/** Which clients an invocation is about, and how to reconcile them. */
export function selectClients(invocation: Invocation, clients: readonly ConfiguredClient[]): Selection {
  switch (invocation.kind) {
    case "schedule":
      return { kind: "reconcile", trigger: "schedule", clients, dryRun: false, freshParameters: false };
    case "manual": {
      if (invocation.client === undefined) {
        return {
          kind: "reconcile",
          trigger: "manual",
          clients,
          dryRun: invocation.dryRun,
          freshParameters: true,
        };
      }
      const wanted = invocation.client;
      const client = clients.find((candidate) => candidate.name === wanted);
      if (!client) {
        const suggestion = nearestName(
          wanted,
          clients.map((candidate) => candidate.name),
        );
        return {
          kind: "rejected",
          reason: `client: no configured client is named "${wanted}"${suggestion ? `; did you mean "${suggestion}"?` : ""}`,
        };
      }
      return {
        kind: "reconcile",
        trigger: "manual",
        clients: [client],
        dryRun: invocation.dryRun,
        freshParameters: true,
        ...(invocation.document === undefined ? {} : { document: invocation.document }),
      };
    }
    case "parameter-change": {
      const key = parameterKey(invocation.parameterName);
      const client = clients.find((candidate) => parameterKey(candidate.parameterName) === key);
      if (!client) {
        return { kind: "ignored", reason: "the parameter is no configured client's document" };
      }
      if (invocation.operation === "Delete") return { kind: "parameter-deleted", client };
      return {
        kind: "reconcile",
        trigger: "parameter-change",
        clients: [client],
        dryRun: false,
        freshParameters: true,
      };
    }
  }
}
