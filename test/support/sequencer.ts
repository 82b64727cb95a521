import { existsSync } from "node:fs";
import { join } from "node:path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

/*
 * The files that start processes (cdk synth, npm start, the bin) or synthesize bundles, the longest
 * first. On a clean clone vitest knows no durations and runs the largest files first; these are
 * small, so they would start last and run alone on one core while the other has nothing left to do.
 */
const LONGEST_FILES = [
  "test/infra/cdk-synth.test.ts",
  "test/local/start.test.ts",
  "test/local/demo.test.ts",
  "test/infra/bundles.test.ts",
  "test/infra/thousand-clients.test.ts",
  "test/local/lambda-runtime.test.ts",
  "test/examples/github-actions.test.ts",
  "test/config-sync/status-command.test.ts",
  "test/emulator/emulator-command.test.ts",
];

const ROOT = join(import.meta.dirname, "../..");
const missing = LONGEST_FILES.filter((file) => !existsSync(join(ROOT, file)));
if (missing.length > 0)
  throw new Error(`test/support/sequencer.ts lists files that do not exist: ${missing.join(", ")}`);

/** Vitest's own order (failed first, then the longest by the last run, else the largest), these files ahead. */
export class LongestFilesFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const rank = (spec: TestSpecification) => {
      const index = LONGEST_FILES.findIndex((file) => spec.moduleId.endsWith(`/${file}`));
      return index === -1 ? LONGEST_FILES.length : index;
    };
    /* Array.prototype.sort is stable: the other files keep vitest's order. */
    return sorted.sort((a, b) => rank(a) - rank(b));
  }
}
