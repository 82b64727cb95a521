import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CampaignFigures } from "./campaign.ts";

/*
 * The reliability suite's figures: each test file prints its own, and when RELIABILITY_REPORT_DIR is
 * set (npm run reliability-report sets it) also writes them there as JSON for RELIABILITY.md.
 */

export type ReportSection =
  | { readonly kind: "campaign"; readonly figures: CampaignFigures }
  | {
      readonly kind: "table";
      readonly header: readonly [string, string];
      readonly rows: readonly (readonly [string, string])[];
    };

/** Writes the section for the report command when it asked for one; a plain test run writes nothing. */
export function recordSection(name: string, section: ReportSection): void {
  const directory = process.env.RELIABILITY_REPORT_DIR;
  if (directory === undefined || directory === "") return;
  mkdirSync(directory, { recursive: true });
  writeFileSync(join(directory, `${name}.json`), `${JSON.stringify(section, null, 2)}\n`);
}

const number = (value: number) => value.toLocaleString("en-US");

function table(header: readonly [string, string], rows: readonly (readonly [string, string])[]): string {
  return [
    `| ${header[0]} | ${header[1]} |`,
    "| --- | ---: |",
    ...rows.map(([label, value]) => `| ${label} | ${value} |`),
  ].join("\n");
}

/** The fault campaign as Markdown: the runs, the faults by class, the deletions and the configurations. */
export function campaignMarkdown(figures: CampaignFigures): string {
  const { runs, faults, deletions, configurations } = figures;
  const mustBeZero = (value: number) => `**${number(value)}** (must be 0)`;
  const faultRows = Object.entries(faults.byClass)
    .sort(([, a], [, b]) => b - a)
    .map(([label, count]): [string, string] => [label, number(count)]);
  return [
    table(
      ["Campaign", "Figure"],
      [
        ["Seed", String(figures.seed)],
        [
          "Seeded runs (callback / config-sync)",
          `${number(runs.total)} (${number(runs.callback)} / ${number(runs.configSync)})`,
        ],
        ["Lanes (independent local deployments run side by side)", String(figures.lanes)],
        ["Faults injected (served to a call)", number(faults.total)],
        ["Wall time", `${(figures.durationMs / 1000).toFixed(1)} s`],
      ],
    ),
    table(["Fault class", "Injected"], faultRows),
    table(
      ["Deletions (user-sync-callback)", "Count"],
      [
        ["Sent by finAPI (each to 1–3 client callback URLs)", number(deletions.sent)],
        ["Deliveries", number(deletions.deliveries)],
        ["Deliveries answered other than 202", number(deletions.refusedDeliveries)],
        ["Deletions accepted", number(deletions.accepted)],
        ["Forwarded exactly once", number(deletions.forwardedOnce)],
        ["… on the bus directly", number(deletions.forwardedDirectly)],
        [
          "… kept in the dead-letter queue for the redrive (not on the bus)",
          number(deletions.keptForRedrive),
        ],
        ["Dead-letter messages", number(deletions.deadLetterMessages)],
        [
          "On the bus and also dead-lettered by another delivery (a blind redrive repeats them)",
          number(deletions.forwardedAndDeadLettered),
        ],
        ["Lost", mustBeZero(deletions.lost)],
        ["Duplicated on the bus", mustBeZero(deletions.duplicated)],
      ],
    ),
    table(
      ["Configurations (config-sync)", "Count"],
      [
        ["Runs", number(configurations.runs)],
        ["Invocations", number(configurations.invocations)],
        ["… of which Lambda's asynchronous retries", number(configurations.lambdaRetries)],
        ["Invocations cut short by their timeout", number(configurations.timedOut)],
        ["Events failed after all retries", number(configurations.failedAfterRetries)],
        ["PATCHes finAPI received", number(configurations.patches)],
        ["PATCHes carrying a stale document's value", mustBeZero(configurations.stalePatches)],
        [
          "Converged after the faults cleared",
          `${number(configurations.converged)} of ${number(configurations.runs)}`,
        ],
        ["… by the run itself (its event and retries)", number(configurations.convergedByTheRun)],
        ["… at the next scheduled reconcile", number(configurations.convergedBySchedule)],
        ["Not converged after two scheduled reconciles", mustBeZero(configurations.notConverged)],
      ],
    ),
  ].join("\n\n");
}

export function sectionMarkdown(section: ReportSection): string {
  return section.kind === "campaign"
    ? campaignMarkdown(section.figures)
    : table(section.header, section.rows);
}
