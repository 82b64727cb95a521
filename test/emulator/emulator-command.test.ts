import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { emulatorCommand } from "../../cli/commands/emulator.ts";
import { listen } from "../../local/listen.ts";
import { runCli } from "../cli/support/run-cli.ts";
import { type RunningProcess, startProcess } from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS } from "../support/timeouts.ts";
import { type CallbackReceiver, startCallbackReceiver } from "./user-calls.ts";

const CLI = fileURLToPath(new URL("../../cli/finapi-config.ts", import.meta.url));
const CLIENT_SECRET = "Emul4tor-S3cret-never-printed";
const CALLBACK_SECRET = "cb7Secret9InThePath0Abcdef12345";
const credentials = { FINAPI_CLIENT_ID: "walkthrough", FINAPI_CLIENT_SECRET: CLIENT_SECRET };
const STARTED = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Runs a finapi-config command to its end (plan, apply), in this process. */
async function runCommand(args: readonly string[]): Promise<{ code: number | null; output: string }> {
  const { code, stdout, stderr } = await runCli(args, credentials);
  return { code, output: stdout + stderr };
}

interface EmulatorInProcess {
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (now or later); the test's timeout bounds it. */
  waitForOutput(pattern: RegExp): Promise<RegExpMatchArray>;
  /** The stop signal (what Ctrl-C is to the process). */
  stop(): void;
  readonly exited: Promise<number>;
}

/**
 * `finapi-config emulator` in this process, stopped by the test instead of a signal: a process costs
 * seconds on a busy machine, and the walk-through below already proves the bin, SIGINT and exit 0.
 */
function startInProcess(args: readonly string[]): EmulatorInProcess {
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  let stop = () => {};
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  const exited = emulatorCommand(
    args,
    {
      stdout: (text) => {
        stdout += text;
        for (const watcher of watchers) watcher();
      },
      stderr: (text) => {
        stderr += text;
      },
      env: { PATH: process.env.PATH ?? "", ...credentials },
    },
    () => stopped,
  );
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    waitForOutput: (pattern) =>
      new Promise((resolve) => {
        const check = () => {
          const match = stdout.match(pattern);
          if (!match) return;
          watchers.delete(check);
          resolve(match);
        };
        watchers.add(check);
        check();
      }),
    stop,
    exited,
  };
}

describe("finapi-config emulator", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let receiver: CallbackReceiver;
  const started: RunningProcess[] = [];
  const startedInProcess: EmulatorInProcess[] = [];
  const start = (args: readonly string[]) => {
    const running = startProcess(CLI, ["emulator", ...args], credentials);
    started.push(running);
    return running;
  };
  const startHere = (args: readonly string[]) => {
    const running = startInProcess(args);
    startedInProcess.push(running);
    return running;
  };

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
  });
  afterEach(async () => {
    for (const running of started.splice(0)) running.child.kill("SIGKILL");
    for (const running of startedInProcess.splice(0)) {
      running.stop();
      await running.exited;
    }
  });
  afterAll(() => receiver.close());

  it("serves the walk-through: plan shows changes, apply makes them, plan is clean; it logs each request and stops with 0 on SIGINT", async () => {
    const emulator = start(["--port", "0"]);
    const [, url = ""] = await emulator.waitForOutput(STARTED, PROCESS_WAIT_MS);

    const before = await runCommand(["plan", "--file", "examples/sandbox.json", "--base-url", url]);
    expect(before.code).toBe(2);
    expect((await runCommand(["apply", "--file", "examples/sandbox.json", "--base-url", url])).code).toBe(0);
    const after = await runCommand(["plan", "--file", "examples/sandbox.json", "--base-url", url]);
    expect(after.code).toBe(0);

    await emulator.waitForOutput(
      /PATCH \/api\/v1\/clientConfiguration -> 200 \[X-Request-Id /,
      PROCESS_WAIT_MS,
    );
    emulator.child.kill("SIGINT");
    expect(await emulator.exited(PROCESS_WAIT_MS)).toBe(0);
    expect(emulator.stdout()).toContain("SIGINT: emulator stopped");
    expect(emulator.stdout()).toMatch(
      /client walkthrough \(credentials: FINAPI_CLIENT_ID, FINAPI_CLIENT_SECRET\)/,
    );
    for (const output of [emulator.stdout(), emulator.stderr(), before.output, after.output]) {
      expect(output).not.toContain(CLIENT_SECRET);
    }
  });

  it("prints each user-synchronization callback with the URL's secret masked", async () => {
    const emulator = startHere(["--port", "0"]);
    const [, url = ""] = await emulator.waitForOutput(STARTED);
    const callbackUrl = `${receiver.url}/user-sync/walkthrough/${CALLBACK_SECRET}`;
    const document = join(await mkdtemp(join(tmpdir(), "emulator-command-")), "callback.json");
    await writeFile(document, JSON.stringify({ userSynchronizationCallbackUrl: callbackUrl }));
    expect((await runCommand(["apply", "--file", document, "--base-url", url])).code).toBe(0);

    const token = await clientToken(url);
    const headers = {
      authorization: `Bearer ${token}`,
      "content-type": "application/json",
      "x-request-id": "t",
    };
    await fetch(`${url}/api/v1/users`, { method: "POST", headers, body: JSON.stringify({ id: "walker" }) });
    const deleted = await fetch(`${url}/api/v1/mandatorAdmin/deleteUsers`, {
      method: "POST",
      headers,
      body: JSON.stringify({ userIds: ["walker"] }),
    });
    expect(deleted.status).toBe(200);

    await emulator.waitForOutput(
      /user walker deleted: POST http:\/\/127\.0\.0\.1:\d+\/user-sync\/walkthrough\/\*\*\* \(client walkthrough\) -> 202/,
    );
    expect(receiver.received.at(-1)?.body).toEqual({ userId: "walker", event: "DELETED" });
    expect(emulator.stdout()).not.toContain(CALLBACK_SECRET);
    expect(emulator.stdout()).not.toContain(token);
  });

  it("names the port and the --port option when the port is in use, and exits 3", async () => {
    const blocker = createServer();
    const { port } = await listen(blocker);
    try {
      const emulator = startHere(["--port", String(port)]);
      expect(await emulator.exited).toBe(3);
      expect(emulator.stderr()).toContain(`port ${port} is already in use. Choose another with --port N`);
    } finally {
      blocker.close();
    }
  });

  it("refuses to start without FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET, with the usage and exit 64", async () => {
    const run = await runCli(["emulator", "--port", "0"]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET must be set");
    expect(run.stderr).toContain("Usage: finapi-config emulator");
  });

  it("refuses a port that is not a number with exit 64", async () => {
    const run = await runCli(["emulator", "--port", "eighty"], credentials);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain("--port must be a port number, 0..65535");
  });
});

async function clientToken(url: string): Promise<string> {
  const response = await fetch(`${url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      client_id: credentials.FINAPI_CLIENT_ID,
      client_secret: CLIENT_SECRET,
    }).toString(),
  });
  return ((await response.json()) as { access_token: string }).access_token;
}
