import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listen } from "../../local/listen.ts";
import {
  ROOT,
  type RunningProcess,
  runProcess,
  startNpmScript,
  startProcess,
} from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS } from "../support/timeouts.ts";

const START = fileURLToPath(new URL("../../local/start.ts", import.meta.url));
const WAIT_MS = PROCESS_WAIT_MS;
const FREE_PORTS = ["--emulator-port", "0", "--callback-port", "0"];

async function takenPort(port = 0): Promise<{ port: number; server: Server }> {
  const server = createServer();
  return { port: (await listen(server, { port, purpose: "a test" })).port, server };
}

/** Whether something accepts connections on the port. */
function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Runs a command line as a person would paste it into a POSIX shell, from the repository root. */
async function runShell(command: string, timeoutMs: number): Promise<{ exitCode: number; stdout: string }> {
  const run = await runProcess("sh", ["-c", command], { env: { HOME: process.env.HOME ?? ROOT }, timeoutMs });
  if (run.code === null) throw new Error(`${command} ended by a signal\n${run.stderr}`);
  return { exitCode: run.code, stdout: run.stdout };
}

describe("npm start (local/start.ts)", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let stateDir: string;
  const started: RunningProcess[] = [];
  const start = (args: readonly string[], env: Record<string, string> = {}) => {
    const running = startProcess(START, ["--state-dir", stateDir, ...args], env);
    started.push(running);
    return running;
  };
  const npmStart = (args: readonly string[]) => {
    const running = startNpmScript("start", ["--state-dir", stateDir, ...args]);
    started.push(running);
    return running;
  };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "npm-start-"));
  });
  afterEach(async () => {
    for (const running of started.splice(0)) {
      /* The npm runs have a process group of their own: end all of it (a test that failed may leave the loop). */
      if (running.child.spawnargs[0] === "npm" && running.child.pid !== undefined) {
        try {
          process.kill(-running.child.pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      } else running.child.kill("SIGKILL");
    }
    await rm(stateDir, { recursive: true, force: true });
  });

  it("prints what it started, syncs the documents, turns a file edit into a sync line, and stops with 0 on SIGINT", async () => {
    const loop = start([...FREE_PORTS, "--schedule-seconds", "0"]);
    await loop.waitForOutput(
      /finAPI emulator {5}http:\/\/127\.0\.0\.1:\d+ {3}3 clients in 2 user base\(s\) \(live: live; sandbox: sandbox, sandbox-mobile\)/,
      WAIT_MS,
    );
    await loop.waitForOutput(
      /user-sync callback {2}https:\/\/127\.0\.0\.1:\d+\/user-sync\/\{client\}\/\*\*\*/,
      WAIT_MS,
    );
    await loop.waitForOutput(
      /client sandbox +sandbox +\/finapi-config-sync\/sandbox +<- .+parameters\/sandbox\.json \(from examples\/sandbox\.json\)/,
      WAIT_MS,
    );
    await loop.waitForOutput(/client live +live +\/finapi-config-sync\/live +<- /, WAIT_MS);
    await loop.waitForOutput(/sync +live +applied \d change\(s\) \[parameter-change\]/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox +applied \d change\(s\) \[parameter-change\]/, WAIT_MS);

    await writeFile(
      join(stateDir, "parameters", "sandbox.json"),
      '{"clientAccessTokensValidityPeriod": 900}\n',
    );
    await loop.waitForOutput(
      /params +sandbox +Parameter Store Change: Update \/finapi-config-sync\/sandbox → config-sync/,
      WAIT_MS,
    );
    await loop.waitForOutput(
      /sync +sandbox +applied 1 change\(s\) \[parameter-change\]\n +~ clientAccessTokensValidityPeriod: 3600 -> 900/,
      WAIT_MS,
    );

    loop.child.kill("SIGINT");
    expect(await loop.exited(WAIT_MS)).toBe(0);
    expect(loop.stdout()).toContain(
      "SIGINT: stopping the handlers, the emulator and the stand-ins...\nStopped.",
    );
    expect(loop.stderr()).toBe("");

    const credentials = JSON.parse(await readFile(join(stateDir, "clients.json"), "utf8")) as {
      clientSecret: string;
    }[];
    for (const { clientSecret } of credentials) expect(loop.stdout()).not.toContain(clientSecret);
    /* The hosted callback URL appears in the diff only with its path secret masked. */
    expect(loop.stdout()).toMatch(
      /userSynchronizationCallbackUrl: null -> "https:\/\/127\.0\.0\.1:\d+\/user-sync\/sandbox\/\*\*\*"/,
    );
    /* The live client's too: live takes only https callback URLs, and the local Function URL is https. */
    expect(loop.stdout()).toMatch(
      /userSynchronizationCallbackUrl: null -> "https:\/\/127\.0\.0\.1:\d+\/user-sync\/live\/\*\*\*"/,
    );
    expect(loop.stdout()).not.toMatch(/\/user-sync\/(live|sandbox|sandbox-mobile)\/[A-Za-z0-9]{22,}/);
  });

  it("runs the schedule on its own", async () => {
    const loop = start([...FREE_PORTS, "--schedule-seconds", "1"]);
    await loop.waitForOutput(
      /schedule +- +Scheduled Event → config-sync \(every client\)\n.*sync +\S+ +in sync, nothing to change \[schedule\]/,
      WAIT_MS,
    );
  });

  it("names the taken port and the flag that changes it, and exits 1", async () => {
    const { port, server } = await takenPort();
    try {
      const loop = start(["--emulator-port", String(port), "--callback-port", "0"]);
      expect(await loop.exited(WAIT_MS)).toBe(1);
      expect(loop.stderr()).toContain(
        `Cannot start: port ${port} on 127.0.0.1 is already in use (wanted by the finAPI emulator). Choose another port with --emulator-port N (or LOCAL_EMULATOR_PORT=N)`,
      );
    } finally {
      server.close();
    }
  });

  it("takes the callback port from LOCAL_CALLBACK_PORT and names that option when the port is taken", async () => {
    const { port, server } = await takenPort();
    try {
      const loop = start(["--emulator-port", "0"], { LOCAL_CALLBACK_PORT: String(port) });
      expect(await loop.exited(WAIT_MS)).toBe(1);
      expect(loop.stderr()).toContain(
        `port ${port} on 127.0.0.1 is already in use (wanted by the user-sync callback's Function URL)`,
      );
      expect(loop.stderr()).toContain("--callback-port N (or LOCAL_CALLBACK_PORT=N)");
    } finally {
      server.close();
    }
  });

  it("exits 0 through npm start on Ctrl-C: the terminal's SIGINT and npm's copy of it are one request to stop", async () => {
    const loop = npmStart([...FREE_PORTS, "--schedule-seconds", "0"]);
    await loop.waitForOutput(/sync +live +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox-mobile +applied/, WAIT_MS);
    /* What a terminal does on Ctrl-C: SIGINT to every process of the foreground group (npm, its shell, the loop). */
    process.kill(-(loop.child.pid ?? 0), "SIGINT");
    expect(await loop.exited(WAIT_MS)).toBe(0);
    expect(loop.stdout()).toContain(
      "SIGINT: stopping the handlers, the emulator and the stand-ins...\nStopped.",
    );
    expect(loop.stderr()).not.toContain("exiting without waiting");
  });

  it("stops the loop and frees its ports when npm gets SIGTERM, and exits 0", async () => {
    const loop = npmStart([...FREE_PORTS, "--schedule-seconds", "0"]);
    const [, emulatorPort] = await loop.waitForOutput(
      /finAPI emulator {5}http:\/\/127\.0\.0\.1:(\d+)/,
      WAIT_MS,
    );
    const [, callbackPort] = await loop.waitForOutput(
      /user-sync callback {2}https:\/\/127\.0\.0\.1:(\d+)/,
      WAIT_MS,
    );
    await loop.waitForOutput(/sync +live +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox-mobile +applied/, WAIT_MS);
    loop.child.kill("SIGTERM");
    expect(await loop.exited(WAIT_MS)).toBe(0);
    expect(loop.stdout()).toContain(
      "SIGTERM: stopping the handlers, the emulator and the stand-ins...\nStopped.",
    );
    for (const port of [emulatorPort, callbackPort]) {
      expect(await connects(Number(port))).toBe(false);
      const { server } = await takenPort(Number(port));
      server.close();
    }
  });

  it("prints the status table and a finapi-config status command that reads it from the running loop", async () => {
    const loop = start([...FREE_PORTS, "--schedule-seconds", "0"]);
    const [, command] = await loop.waitForOutput(
      /status table config-sync-status; read it from another terminal:\n {4}(.+)\n/,
      WAIT_MS,
    );
    await loop.waitForOutput(/sync +live +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
    expect(command).toMatch(/npm exec --no -- finapi-config status --table config-sync-status$/);

    const { exitCode, stdout } = await runShell(command ?? "", WAIT_MS);
    expect(stdout).toMatch(/^live +applied +\S+ +parameter-change +v1 /m);
    expect(stdout).toMatch(/^sandbox +applied +\S+ +parameter-change +v1 /m);
    expect(exitCode).toBe(0);
  });

  it.each([
    [["--emulator-port", "70000"], "--emulator-port (LOCAL_EMULATOR_PORT) must be 0..65535"],
    [["--schedule-seconds", "soon"], "--schedule-seconds (LOCAL_SCHEDULE_SECONDS) must be a number"],
    [["--verbose"], "Unknown option '--verbose'"],
  ])("refuses %j with the usage and exit 64", async (args, message) => {
    const loop = start(args);
    expect(await loop.exited(WAIT_MS)).toBe(64);
    expect(loop.stderr()).toContain(message);
    expect(loop.stderr()).toContain("Usage: npm start [-- options]");
  });
});
