import { copyFile, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runDemo } from "../../local/demo.ts";
import { formatActivity } from "../../local/live-log.ts";
import { type LocalLoop, startLocalLoop } from "../../local/loop.ts";
import { runTour } from "../../local/tour.ts";
import { startProcess } from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS } from "../support/timeouts.ts";

const DEMO = fileURLToPath(new URL("../../local/demo.ts", import.meta.url));
const EXAMPLES = fileURLToPath(new URL("../../examples", import.meta.url));
/* How long the tour waits for each step: as long as a test waits for a process (see timeouts.ts). */
const STEP_TIMEOUT_MS = PROCESS_WAIT_MS;

describe("the demo tour", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let stateDir: string;
  let loop: LocalLoop;
  const printed: string[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "demo-tour-"));
    loop = await startLocalLoop({
      stateDir,
      examplesDir: EXAMPLES,
      resetDocuments: true,
      emulatorPort: 0,
      callbackPort: 0,
      /* A short schedule runs beside the tour's own reconciles: the steps must hold with it too. */
      scheduleMs: 250,
      settleMs: 20,
      onActivity: (activity) => printed.push(formatActivity(activity, [], new Date())),
    });
  });

  afterAll(async () => {
    await loop.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("holds every step on free ports with a short schedule, and prints no secret", async () => {
    const report = await runTour(loop, { print: (text) => printed.push(text), timeoutMs: STEP_TIMEOUT_MS });
    expect(report.steps.map((step) => [step.ok, step.detail])).toEqual([
      [true, expect.stringMatching(/^finAPI holds every document and each client's hosted callback URL/)],
      [true, expect.stringMatching(/^every client in sync, no PATCH/)],
      [true, "patched back: clientAccessTokensValidityPeriod 7200 -> 3600"],
      [
        true,
        expect.stringMatching(
          /^3 violation\(s\) reported \(.+\), finAPI untouched; the restored document is in sync$/,
        ),
      ],
      [
        true,
        expect.stringMatching(
          /^finAPI called the 2 callbacks of user base sandbox \(none of live: another user base\); one "finAPI User Deleted" event on finapi-user-sync, 1 duplicate\(s\) dropped$/,
        ),
      ],
    ]);
    expect(report.ok).toBe(true);

    const output = printed.join("\n");
    expect(output).toMatch(/callback {2}\S+ +user demo-[0-9a-f]+: handed to the deletion queue \(202\)/);
    expect(output).toMatch(/callback {2}\S+ +user demo-[0-9a-f]+: duplicate, not forwarded again \(202\)/);
    for (const secret of loop.secrets) expect(output).not.toContain(secret);
  });
});

describe("the demo tour with one client", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it("reports the step that needs two clients as not held, after the steps before it held", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "demo-one-client-"));
    const examplesDir = await mkdtemp(join(tmpdir(), "demo-one-example-"));
    await copyFile(join(EXAMPLES, "sandbox.json"), join(examplesDir, "sandbox.json"));
    const loop = await startLocalLoop({
      stateDir,
      examplesDir,
      emulatorPort: 0,
      callbackPort: 0,
      scheduleMs: 0,
      settleMs: 20,
    });
    try {
      const report = await runTour(loop, { print: () => {}, timeoutMs: STEP_TIMEOUT_MS });
      expect(report.ok).toBe(false);
      expect(report.steps.map((step) => step.ok)).toEqual([true, true, true, true, false]);
      expect(report.steps[4]?.detail).toBe(
        "the tour needs two clients sharing a user base (two sandbox documents in examples/)",
      );
    } finally {
      await loop.close();
      await rm(stateDir, { recursive: true, force: true });
      await rm(examplesDir, { recursive: true, force: true });
    }
  });
});

describe("npm run demo (runDemo)", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it("runs the tour on a loop of its own and answers 0 when every step held", async () => {
    const stateDir = await mkdtemp(join(tmpdir(), "demo-run-"));
    let stdout = "";
    let stderr = "";
    try {
      const exitCode = await runDemo(
        ["--state-dir", stateDir, "--timeout-seconds", String(STEP_TIMEOUT_MS / 1000)],
        { write: (line) => (stdout += `${line}\n`), fail: (line) => (stderr += `${line}\n`) },
      );
      expect(exitCode).toBe(0);
      expect(stdout).toMatch(/=== Step 5\/5: Deletion/);
      expect(stdout).toContain("Every step held (5/5)");
      expect(stderr).toBe("");
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  });

  /* A process of its own: that npm run demo's exit code is what runDemo answers. */
  it("refuses an unknown option with its usage and exit 64", async () => {
    const demo = startProcess(DEMO, ["--fast"]);
    expect(await demo.exited(PROCESS_WAIT_MS)).toBe(64);
    expect(demo.stderr()).toContain("Usage: npm run demo");
  });
});
