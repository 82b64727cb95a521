import type { CallbackClient } from "./config.ts";
import type { CallbackRoute } from "./route.ts";
import { matchesAcceptedSecret } from "./secret-match.ts";
import type { CallbackSecretSource } from "./secret-source.ts";

/**
 * The configured client that the route names, if the route also carries one of that client's
 * accepted secrets. A mismatch is checked once more against freshly fetched secrets, because right
 * after a rotation finAPI already calls with the new secret while the cache still holds the old one.
 */
export async function authenticateCallback(
  route: CallbackRoute,
  clients: readonly CallbackClient[],
  secrets: CallbackSecretSource,
): Promise<CallbackClient | undefined> {
  const client = clients.find((candidate) => candidate.name === route.client);
  if (!client) return undefined;
  if (matchesAcceptedSecret(route.secret, await secrets.acceptedDigests(client.secretId))) return client;
  const refreshed = await secrets.refreshedDigests(client.secretId);
  return refreshed && matchesAcceptedSecret(route.secret, refreshed) ? client : undefined;
}
