import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LIMITS } from "../infra/limits.ts";
import { manyClientsContext, synthesizeScale } from "../test/infra/many-clients.ts";
import { kilobytes } from "./stats.ts";

/** The synthesized stack of one client count: what grows with the clients. */
export interface TemplateScale {
  readonly clients: number;
  readonly resources: number;
  readonly outputs: number;
  readonly templateBytes: number;
  /** config-sync's client registry (in its bundle, not in the template or the environment). */
  readonly registryBytes: number;
  /** The limits the template exceeds, as the synth reports them. */
  readonly excesses: readonly string[];
}

/** Synthesizes the stack (cdk.json's context, `count` generated clients, no bundling) for each count. */
export function measureTemplateScaling(counts: readonly number[]): TemplateScale[] {
  return counts.map((clients) => {
    const outdir = mkdtempSync(join(tmpdir(), "finapi-bench-template-"));
    try {
      const scale = synthesizeScale(manyClientsContext(clients), outdir);
      return {
        clients,
        resources: scale.resourceCount,
        outputs: Object.keys(scale.template.Outputs ?? {}).length,
        templateBytes: scale.templateBytes,
        registryBytes: scale.registryBytes.configSync,
        excesses: scale.excesses.map((excess) => excess.what),
      };
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
}

/** The section `npm run bench` prints: one row per client count. */
export function templateScalingSection(scales: readonly TemplateScale[]): string {
  const rows = scales.map((scale) => [
    String(scale.clients),
    `${scale.resources} / ${LIMITS.resources}`,
    `${scale.outputs} / ${LIMITS.outputs}`,
    `${kilobytes(scale.templateBytes)} / ${kilobytes(LIMITS.templateBytes)}`,
    kilobytes(scale.registryBytes),
    scale.excesses.length === 0 ? "none" : scale.excesses.join("; "),
  ]);
  return [
    "### The stack's template as clients grow (cdk.json's context, generated clients)",
    [
      [
        "Clients",
        "Resources / limit",
        "Outputs / limit",
        "Template / limit",
        "config-sync registry",
        "Limits exceeded",
      ],
      ["---", "---:", "---:", "---:", "---:", "---"],
      ...rows,
    ]
      .map((row) => `| ${row.join(" | ")} |`)
      .join("\n"),
  ].join("\n\n");
}
