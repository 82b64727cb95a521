import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const IMPORT_TIMING = join(import.meta.dirname, "import-timing.ts");

/** One fresh Node process that imports the module with the environment; the import's duration. */
function importOnce(module: string, environment: Readonly<Record<string, string>>): number {
  const output = execFileSync(process.execPath, [IMPORT_TIMING, module], {
    env: { ...environment, PATH: process.env.PATH ?? "" },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  return (JSON.parse(output) as { importMs: number }).importMs;
}

export interface ColdImportSamples {
  readonly bundleMs: number[];
  readonly emptyMs: number[];
}

/**
 * Cold import of each bundle against an empty module, in the same run and the same environment
 * (NODE_OPTIONS included): fresh processes, interleaved so that machine noise hits both alike.
 */
export function measureColdImports(
  bundles: Readonly<
    Record<string, { readonly bundle: string; readonly environment: Record<string, string> }>
  >,
  runs: number,
): Record<string, ColdImportSamples> {
  const directory = mkdtempSync(join(tmpdir(), "finapi-bench-empty-"));
  const empty = join(directory, "index.mjs");
  writeFileSync(empty, "export const handler = async () => {};\n");
  const samples: Record<string, ColdImportSamples> = Object.fromEntries(
    Object.keys(bundles).map((name) => [name, { bundleMs: [], emptyMs: [] }]),
  );
  try {
    for (let run = 0; run < runs; run++) {
      for (const [name, { bundle, environment }] of Object.entries(bundles)) {
        samples[name]?.emptyMs.push(importOnce(empty, environment));
        samples[name]?.bundleMs.push(importOnce(bundle, environment));
      }
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  return samples;
}
