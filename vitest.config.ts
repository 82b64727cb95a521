import { defineConfig } from "vitest/config";
import { LongestFilesFirst } from "./test/support/sequencer.ts";

/*
 * Two projects. `test` is what `npm test` runs: unit and integration tests, meant to finish in under
 * two minutes on 2 cores. `reliability` is `npm run test:reliability`: the fault campaign and the
 * other runs against the synthesized bundles (test/reliability), and the fuzzers (test/fuzz and the
 * callback's), which take minutes. CI runs both. A path filter (`npx vitest run test/local`) picks
 * its files from either project.
 */
const RELIABILITY_FILES = [
  "test/reliability/**/*.test.ts",
  "test/fuzz/**/*.test.ts",
  "test/user-sync-callback/fuzz.test.ts",
];

export default defineConfig({
  test: {
    pool: "forks",
    /*
     * Two files at a time, also on 2 cores (vitest's default there is one): many files wait on child
     * processes, servers and worker threads rather than use their core.
     */
    maxWorkers: 2,
    sequence: { sequencer: LongestFilesFirst },
    projects: [
      {
        extends: true,
        test: {
          name: "test",
          /*
           * Files share their worker process instead of each loading Node, vitest, aws-cdk-lib and the
           * SDK afresh (about a third of the suite's time). Modules that read the environment when they
           * load are imported after vi.resetModules(), and whatever a file puts into process.env it
           * gives back when it ends.
           */
          isolate: false,
          include: ["test/**/*.test.ts"],
          exclude: RELIABILITY_FILES,
          /* For tests that only run code in this process; the slow ones set their own (test/support/timeouts.ts). */
          testTimeout: 20_000,
          /* Hooks start stand-ins, emulators and worker threads. */
          hookTimeout: 120_000,
        },
      },
      {
        extends: true,
        test: {
          name: "reliability",
          include: RELIABILITY_FILES,
          testTimeout: 120_000,
          /* Hooks synthesize the stack with its bundles and deploy it onto local stand-ins. */
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
