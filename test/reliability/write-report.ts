import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import * as z from "zod";
import { writeGeneratedBlock } from "../../bench/generated-block.ts";
import { describeMachine, machineLine } from "../../bench/machine.ts";
import { REPOSITORY_ROOT } from "../../infra/constructs/observed-node-function.ts";
import { CAMPAIGN_LIMITS, type ReportSection, sectionMarkdown } from "./support/report.ts";

/*
 * `npm run reliability-report`: runs the reliability suite and the fuzzers at full strength
 * (FUZZ_RUNS=10000), and when everything passes writes their figures into RELIABILITY.md between its
 * generated markers. A failing run writes nothing and exits 1.
 */

const FUZZ_RUNS = "10000";
const TEST_PATHS = [
  "test/reliability",
  "test/fuzz",
  "test/finapi/schema.test.ts",
  "test/user-sync-callback/fuzz.test.ts",
];
const SECTION_ORDER = [
  "fault-campaign",
  "simultaneous-callbacks",
  "schedule-and-change-event",
  "config-sync-corpus",
  "config-sync-fuzz",
];

const vitestResultsSchema = z.object({
  numTotalTests: z.number(),
  numPassedTests: z.number(),
  numFailedTests: z.number(),
  testResults: z.array(
    z.object({
      name: z.string(),
      startTime: z.number(),
      endTime: z.number(),
      assertionResults: z.array(
        z.object({ title: z.string(), status: z.string(), duration: z.number().nullish() }),
      ),
    }),
  ),
});

const workDirectory = mkdtempSync(join(tmpdir(), "finapi-reliability-report-"));
const sectionsDirectory = join(workDirectory, "sections");
const resultsFile = join(workDirectory, "vitest.json");

try {
  const run = spawnSync(
    process.execPath,
    [
      join(REPOSITORY_ROOT, "node_modules/vitest/vitest.mjs"),
      "run",
      ...TEST_PATHS,
      "--reporter=default",
      "--reporter=json",
      `--outputFile.json=${resultsFile}`,
    ],
    {
      cwd: REPOSITORY_ROOT,
      stdio: "inherit",
      env: { ...process.env, RELIABILITY_REPORT_DIR: sectionsDirectory, FUZZ_RUNS },
    },
  );
  if (run.status !== 0 || !existsSync(resultsFile)) {
    throw new Error("the suite did not pass; RELIABILITY.md was left as it was");
  }

  const results = vitestResultsSchema.parse(JSON.parse(readFileSync(resultsFile, "utf8")));
  const sections = new Map(
    readdirSync(sectionsDirectory).map((file) => [
      file.replace(/\.json$/, ""),
      JSON.parse(readFileSync(join(sectionsDirectory, file), "utf8")) as ReportSection,
    ]),
  );
  const ordered = [
    ...SECTION_ORDER.filter((name) => sections.has(name)),
    ...[...sections.keys()].filter((name) => !SECTION_ORDER.includes(name)).sort(),
  ];

  const files = results.testResults
    .map((file): [string, string] => {
      const passed = file.assertionResults.filter((test) => test.status === "passed").length;
      const seconds = ((file.endTime - file.startTime) / 1000).toFixed(1);
      return [
        `\`${relative(REPOSITORY_ROOT, file.name)}\``,
        `${passed}/${file.assertionResults.length} passed, ${seconds} s`,
      ];
    })
    .sort(([a], [b]) => a.localeCompare(b));

  const content = [
    `Measured on ${machineLine(describeMachine())}. Fuzzers at FUZZ_RUNS=${FUZZ_RUNS}.`,
    `**${results.numPassedTests} of ${results.numTotalTests} tests passed.**`,
    ...ordered.map((name) => sectionMarkdown(sections.get(name) as ReportSection)),
    CAMPAIGN_LIMITS,
    sectionMarkdown({ kind: "table", header: ["Test file", "Result"], rows: files }),
  ].join("\n\n");
  writeGeneratedBlock(join(REPOSITORY_ROOT, "RELIABILITY.md"), "reliability-report", content);
  console.log("reliability-report: RELIABILITY.md updated");
} catch (error) {
  console.error(`reliability-report: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
} finally {
  rmSync(workDirectory, { recursive: true, force: true });
}
