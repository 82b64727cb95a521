import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Context } from "aws-lambda";
import type { FinapiEmulator } from "../../emulator/index.ts";
import { lambdaContext as hostedLambdaContext } from "../../local/lambda-context.ts";

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "config-sync");

/** A fixture's text, e.g. `fixture("documents/acme.json")`. */
export function fixture(path: string): string {
  return readFileSync(join(FIXTURES, path), "utf8");
}

/** A fixture event, parsed, e.g. `event("parameter-update")` or `event("malformed/array")`. */
export function event(name: string): unknown {
  return JSON.parse(fixture(`events/${name}.json`));
}

/** A Parameter Store Change event for `name` with `operation`, as EventBridge delivers it. */
export function parameterChange(name: string, operation = "Update"): unknown {
  const base = event("parameter-update") as { detail: Record<string, unknown> };
  return { ...base, id: randomUUID(), detail: { ...base.detail, name, operation } };
}

/** A Lambda context whose remaining time stays at `remainingMs`. */
export function lambdaContext(remainingMs = 120_000): Context {
  return hostedLambdaContext({ functionName: "config-sync", remainingMs });
}

/** The access tokens the clients sent to these emulators, secrets to scan the output for. */
export function bearerTokens(emulators: readonly FinapiEmulator[]): string[] {
  return emulators.flatMap((emulator) =>
    emulator.requests.flatMap((request) => {
      const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? "")?.[1];
      return bearer ? [bearer] : [];
    }),
  );
}

/** The secrets found in `lines`, to assert that none is. */
export function leakedSecrets(lines: readonly string[], secrets: readonly string[]): string[] {
  return secrets.filter((secret) => lines.some((line) => line.includes(secret)));
}
