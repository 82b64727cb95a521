import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLIENT_REGISTRY_FILE } from "../../functions/contracts/client-registry.ts";

let directory: string | undefined;

/**
 * Writes a client registry file (a value as JSON, a string as it is) for a function under test and
 * returns its path, for CLIENT_REGISTRY_PATH. The files go to one temporary directory, removed when
 * the test process exits.
 */
export function clientRegistryFile(registry: unknown): string {
  if (directory === undefined) {
    const created = mkdtempSync(join(tmpdir(), "finapi-client-registry-"));
    process.once("exit", () => rmSync(created, { recursive: true, force: true }));
    directory = created;
  }
  const path = join(mkdtempSync(join(directory, "registry-")), CLIENT_REGISTRY_FILE);
  writeFileSync(path, typeof registry === "string" ? registry : JSON.stringify(registry));
  return path;
}
