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
      ["Deletions (user-sync-callback → deletion queue → deletion-publisher)", "Count"],
      [
        ["Sent by finAPI (each to every client of the user base: 3 callback URLs)", number(deletions.sent)],
        ["… of a user re-created and deleted again seconds later", number(deletions.reDeletions)],
        ["Deliveries", number(deletions.deliveries)],
        ["Deliveries answered other than 202", number(deletions.refusedDeliveries)],
        ["Deletions accepted", number(deletions.accepted)],
        ["Forwarded once, under one deletion id", number(deletions.forwardedOnce)],
        ["… on the bus directly", number(deletions.forwardedDirectly)],
        [
          "… kept in the dead-letter queue for the redrive (not on the bus)",
          number(deletions.keptForRedrive),
        ],
        ["Dead-letter messages", number(deletions.deadLetterMessages)],
        [
          "A deletion id both on the bus and in the dead-letter queue (one copy's hand-off failed, another's succeeded; the redrive skips it)",
          number(deletions.forwardedAndDeadLettered),
        ],
        ["… without a copy kept by the callback", mustBeZero(deletions.forwardedAndDeadLetteredUnexplained)],
        ["Lost", mustBeZero(deletions.lost)],
        ["Deletions put on the bus more than once or under more than one id", number(deletions.duplicated)],
        [
          "… extra events: published, the published mark not written (publisher's crash window)",
          number(deletions.duplicatedByPublishedMarkWindow),
        ],
        [
          "… extra deletion ids: the deletions table failed, the delivery handed off as new",
          number(deletions.duplicatedByDeletionsTableFailure),
        ],
        ["… extra events or ids no documented window explains", mustBeZero(deletions.duplicatedUnexplained)],
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

/**
 * What the campaign's figures do not cover, printed with them so that they are read as exactly as
 * strong as the runs behind them.
 */
export const CAMPAIGN_LIMITS = [
  "**What the campaign does not model.**",
  "",
  "- SQS refusing or failing: the queues are never faulted, so the callback reaches its dead-letter path only when its hand-off runs out of time (DynamoDB hanging); SendMessage errors are covered by `test/user-sync-callback/forwarding.test.ts`.",
  "- Secrets Manager and DynamoDB failing together on a cold environment (neither the secret nor its kept digests reachable): not armed, because the campaign does not model finAPI redelivering after a 5xx; the callback then answers 503 and remembers no refusal (`test/user-sync-callback/handler.test.ts` and `secret-source.test.ts`).",
  "- A PutEvents that EventBridge accepts but answers after the publisher's 10 s attempt: the SDK's retry puts the deletion on the bus a second time. `test/reliability/callback-edges.test.ts` proves exactly two events and no dead letter for one such answer; the campaign does not inject it.",
  "- Functions killed mid-run (the environment destroyed without warning): the callback's crash windows are in `test/reliability/interrupted-runs.test.ts`; the campaign's interruptions are middy's timeouts of config-sync runs.",
  "- Copies of two deletions of one user crossing (a copy held up longer than deleting, re-creating and deleting the user again): the campaign's re-deletions start after every copy of the previous deletion was answered; `test/reliability/concurrency.test.ts` covers one interleaving and its extra event.",
  "- The fan-out window running out, clock skew between environments, and DynamoDB or SQS time-to-live expiring items: the runs last seconds.",
  "- More than one user base, and user bases with more than three clients: the campaign's lanes have one user base of three clients; `test/reliability/concurrency.test.ts` fans one deletion out to twelve clients with the CPU saturated and runs a second user base.",
  "- The bus's resource policy: the local deployment enforces each function's role policies, not the policy on the bus (a template assertion in `test/infra/stack.test.ts` covers it).",
].join("\n");
