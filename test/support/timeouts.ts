/*
 * Timeouts of the tests that start processes, synthesize stacks or bundle handlers: the vitest default
 * (20 s a test, 30 s a hook) is for tests that only run code in this process. Sized from runs on a
 * 2-core machine at a load average of 20-25 (six other test runs beside it), with a wide margin:
 * one Node process that only prints its usage took up to 14 s there, `npm start` 66 s to its banner,
 * one `npm exec` 27 s, a test of start.test.ts up to 49 s, and a synth with bundling over 60 s. At a
 * load average of 30 with two busy loops beside `npm test`, `cdk synth` with bundling took over 300 s
 * and a `cdk synth` that fails on its context over 120 s. On an idle machine each takes a tenth of
 * that or less; the bounds only decide how long a hung test takes to fail.
 */

/** One wait for a child process's output or exit. */
export const PROCESS_WAIT_MS = 90_000;

/** A test that starts child processes (Node, npm, the CLI) and waits on them several times. */
export const PROCESS_TEST_TIMEOUT_MS = 4 * PROCESS_WAIT_MS;

/** Synthesizing the stack in this process, or with the CDK CLI, bundling both handlers with esbuild. */
export const SYNTH_TIMEOUT_MS = 600_000;

/** A test or hook that runs a Lambda handler in worker threads or a bundle in a child process. */
export const WORKER_TIMEOUT_MS = 120_000;

/**
 * Synthesizing a 1,000-client stack in this process (no bundling, no cdk-nag): 7 to 20 s on 2 cores
 * now that nothing in the template is per client (it took minutes when thousands of per-client alarms
 * and secrets had to be rendered); the bound is for a machine that is far busier.
 */
export const THOUSAND_CLIENT_SYNTH_TIMEOUT_MS = 900_000;
