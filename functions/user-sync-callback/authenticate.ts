import type { CallbackClient } from "./config.ts";
import type { CallbackRoute } from "./route.ts";
import type { CallbackSecretSource, SecretVerdict } from "./secret-source.ts";

/** What the route's client and secret amount to. */
export type CallbackAuthentication =
  | { readonly outcome: "authenticated"; readonly client: CallbackClient }
  /**
   * The client is configured, but its path secret cannot be checked: every request for it is refused
   * (404), or answered 5xx when the verdict's reason is `outage`.
   */
  | {
      readonly outcome: "secret-unusable";
      readonly client: CallbackClient;
      readonly verdict: Extract<SecretVerdict, { usable: false }>;
    }
  /** An unknown client or a wrong secret. */
  | { readonly outcome: "refused" };

/**
 * Checks the route's secret against the client's accepted secrets. A mismatch or an unusable secret is
 * checked once more against a fresh read (rate-limited by the source), because right after a rotation
 * finAPI already calls with the new secret while memory still holds the old one, and a fixed
 * misconfiguration should be seen as soon.
 */
export async function authenticateCallback(
  route: CallbackRoute,
  clients: readonly CallbackClient[],
  secrets: CallbackSecretSource,
): Promise<CallbackAuthentication> {
  const client = clients.find((candidate) => candidate.name === route.client);
  if (!client) return { outcome: "refused" };
  const verdict = await secrets.verdict(client.name);
  if (verdict.usable && verdict.matches(route.secret)) return { outcome: "authenticated", client };
  const latest = (await secrets.refreshedVerdict(client.name)) ?? verdict;
  if (!latest.usable) return { outcome: "secret-unusable", client, verdict: latest };
  return latest.matches(route.secret) ? { outcome: "authenticated", client } : { outcome: "refused" };
}
