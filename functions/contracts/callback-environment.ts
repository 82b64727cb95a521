/*
 * The configured callback clients as the stack writes them into the callback's client registry
 * (client-registry.ts) and the callback reads them: one schema, so that both sides type the same thing.
 */
import { finapiEnvironmentSchema } from "../finapi/schema.ts";
import * as z from "../validation/zod.ts";
import { callbackSecretGenerationSchema } from "./callback-path-secret.ts";
import { NAME_PATTERN, NAME_RULE } from "./names.ts";
import { userBaseSchema } from "./user-deletion.ts";

export const callbackClientNameSchema = z
  .string()
  .check(z.regex(NAME_PATTERN, { error: `a client name is ${NAME_RULE}` }));

/** One finAPI client whose user-synchronization callback the stack hosts. */
export const callbackClientSchema = z.strictObject({
  name: callbackClientNameSchema,
  /** Which of the client's path secrets (derived from the stack's root secret) is accepted; see callback-path-secret.ts. */
  callbackSecretGeneration: z._default(callbackSecretGenerationSchema, 0),
  /** The finAPI user base the client's users belong to: a deletion is (userBase, userId). */
  userBase: userBaseSchema,
  environment: finapiEnvironmentSchema,
});
export type CallbackClient = z.infer<typeof callbackClientSchema>;

/** A user base lives in one finAPI environment, so every client of it must name the same one. */
function userBasesOfOneEnvironment(clients: readonly CallbackClient[]): boolean {
  const environments = new Map<string, string>();
  for (const client of clients) {
    const seen = environments.get(client.userBase);
    if (seen !== undefined && seen !== client.environment) return false;
    environments.set(client.userBase, client.environment);
  }
  return true;
}

export const callbackClientsSchema = z
  .array(callbackClientSchema, {
    error: 'must be a JSON array of {"name", "callbackSecretGeneration", "userBase", "environment"}',
  })
  .check(
    z.minLength(1, { error: "must name at least one client" }),
    z.refine((clients) => new Set(clients.map((client) => client.name)).size === clients.length, {
      error: "client names must be unique",
    }),
    z.refine(userBasesOfOneEnvironment, {
      error: "the clients of one user base must share one environment",
    }),
  );
