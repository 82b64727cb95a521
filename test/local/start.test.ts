import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { listen } from "../../local/listen.ts";
import { type StartedLoop, type StartIo, startLoop } from "../../local/start.ts";
import {
  ROOT,
  type RunningProcess,
  runProcess,
  startNpmScript,
  startProcess,
} from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS, WORKER_TIMEOUT_MS } from "../support/timeouts.ts";

/*
 * What npm start prints and does runs here in this process (startLoop, what local/start.ts runs up to
 * its live log). Real `npm start` processes only where the process is what is tested: how it stops
 * through npm, on Ctrl-C and on SIGTERM. Each such process costs seconds of CPU to start.
 */

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

/** What startLoop writes, as a terminal would show it, and a way to wait for a line. */
function terminal(env: NodeJS.ProcessEnv = {}) {
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  const io: StartIo = {
    write: (line) => {
      stdout += `${line}\n`;
      for (const watcher of watchers) watcher();
    },
    fail: (line) => {
      stderr += `${line}\n`;
    },
    env,
  };
  const waitForOutput = (pattern: RegExp, timeoutMs: number) =>
    new Promise<RegExpMatchArray>((resolve, reject) => {
      const watcher = () => {
        const match = stdout.match(pattern);
        if (!match) return;
        clearTimeout(timer);
        watchers.delete(watcher);
        resolve(match);
      };
      const timer = setTimeout(() => {
        watchers.delete(watcher);
        reject(new Error(`output matching ${pattern}: not within ${timeoutMs} ms.\nstdout:\n${stdout}`));
      }, timeoutMs);
      watchers.add(watcher);
      watcher();
    });
  return { io, stdout: () => stdout, stderr: () => stderr, waitForOutput };
}

async function clientSecrets(stateDir: string): Promise<string[]> {
  const credentials = JSON.parse(await readFile(join(stateDir, "clients.json"), "utf8")) as {
    clientSecret: string;
  }[];
  return credentials.map(({ clientSecret }) => clientSecret);
}

describe("startLoop (npm start up to its live log, in this process)", { timeout: WORKER_TIMEOUT_MS }, () => {
  let stateDir: string;
  let started: StartedLoop | undefined;
  const output = terminal();

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "npm-start-"));
    const result = await startLoop(
      ["--state-dir", stateDir, ...FREE_PORTS, "--schedule-seconds", "0"],
      output.io,
    );
    if (typeof result === "number") throw new Error(`startLoop answered ${result}:\n${output.stderr()}`);
    started = result;
    await output.waitForOutput(/sync +live +applied/, WAIT_MS);
    await output.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
    await output.waitForOutput(/sync +sandbox-mobile +applied/, WAIT_MS);
  });

  afterAll(async () => {
    await started?.loop.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("prints what it started: the emulator's clients and user bases, the masked callback URL, each client's parameter file", () => {
    expect(output.stdout()).toMatch(
      /finAPI emulator {5}http:\/\/127\.0\.0\.1:\d+ {3}3 clients in 2 user base\(s\) \(live: live; sandbox: sandbox, sandbox-mobile\)/,
    );
    expect(output.stdout()).toMatch(
      /user-sync callback {2}https:\/\/127\.0\.0\.1:\d+\/user-sync\/\{client\}\/\*\*\*/,
    );
    expect(output.stdout()).toMatch(
      /client sandbox +sandbox +\/finapi-config-sync\/sandbox +<- .+parameters\/sandbox\.json \(from examples\/sandbox\.json\)/,
    );
    expect(output.stdout()).toMatch(/client live +live +\/finapi-config-sync\/live +<- /);
    expect(output.stderr()).toBe("");
  });

  it("syncs the documents at start, each hosted callback URL masked in the diff, and prints no secret", async () => {
    expect(output.stdout()).toMatch(/sync +live +applied \d change\(s\) \[parameter-change\]/);
    expect(output.stdout()).toMatch(/sync +sandbox +applied \d change\(s\) \[parameter-change\]/);
    /* The hosted callback URL appears in the diff only with its path secret masked. */
    expect(output.stdout()).toMatch(
      /userSynchronizationCallbackUrl: null -> "https:\/\/127\.0\.0\.1:\d+\/user-sync\/sandbox\/\*\*\*"/,
    );
    /* The live client's too: live takes only https callback URLs, and the local Function URL is https. */
    expect(output.stdout()).toMatch(
      /userSynchronizationCallbackUrl: null -> "https:\/\/127\.0\.0\.1:\d+\/user-sync\/live\/\*\*\*"/,
    );
    expect(output.stdout()).not.toMatch(/\/user-sync\/(live|sandbox|sandbox-mobile)\/[A-Za-z0-9]{22,}/);
    const secrets = [...(await clientSecrets(stateDir)), ...(started?.loop.secrets ?? [])];
    expect(secrets.length).toBeGreaterThan(3);
    for (const secret of secrets) expect(output.stdout()).not.toContain(secret);
  });

  it("turns a parameter file edit into a Parameter Store change line and a sync line with the change", async () => {
    /* sandbox-mobile, so that the status table test's rows (live, sandbox) stay at v1 whatever runs first. */
    await writeFile(
      join(stateDir, "parameters", "sandbox-mobile.json"),
      '{"clientAccessTokensValidityPeriod": 900}\n',
    );
    await output.waitForOutput(
      /params +sandbox-mobile +Parameter Store Change: Update \/finapi-config-sync\/sandbox-mobile → config-sync/,
      WAIT_MS,
    );
    await output.waitForOutput(
      /sync +sandbox-mobile +applied 1 change\(s\) \[parameter-change\]\n +~ clientAccessTokensValidityPeriod: 3600 -> 900/,
      WAIT_MS,
    );
  });

  it("prints the status table and a finapi-config status command that reads it from the running loop", async () => {
    const printed = output
      .stdout()
      .match(/status table config-sync-status; read it from another terminal:\n {4}(.+)\n/);
    const command = printed?.[1];
    expect(command).toMatch(/npm exec --no -- finapi-config status --table config-sync-status$/);

    const { exitCode, stdout } = await runShell(command ?? "", WAIT_MS);
    expect(stdout).toMatch(/^live +applied +\S+ +parameter-change +v1 /m);
    expect(stdout).toMatch(/^sandbox +applied +\S+ +parameter-change +v1 /m);
    expect(exitCode).toBe(0);
  });
});

describe("startLoop refusing to start", { timeout: WORKER_TIMEOUT_MS }, () => {
  let stateDir: string;

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "npm-start-refused-"));
  });
  afterEach(async () => {
    await rm(stateDir, { recursive: true, force: true });
  });

  it("names the taken port and the flag that changes it, and exits 1", async () => {
    const { port, server } = await takenPort();
    try {
      const output = terminal();
      const started = await startLoop(
        ["--state-dir", stateDir, "--emulator-port", String(port), "--callback-port", "0"],
        output.io,
      );
      expect(started).toBe(1);
      expect(output.stderr()).toContain(
        `Cannot start: port ${port} on 127.0.0.1 is already in use (wanted by the finAPI emulator). Choose another port with --emulator-port N (or LOCAL_EMULATOR_PORT=N)`,
      );
    } finally {
      server.close();
    }
  });

  it("takes the callback port from LOCAL_CALLBACK_PORT and names that option when the port is taken", async () => {
    const { port, server } = await takenPort();
    try {
      const output = terminal({ LOCAL_CALLBACK_PORT: String(port) });
      const started = await startLoop(["--state-dir", stateDir, "--emulator-port", "0"], output.io);
      expect(started).toBe(1);
      expect(output.stderr()).toContain(
        `port ${port} on 127.0.0.1 is already in use (wanted by the user-sync callback's Function URL)`,
      );
      expect(output.stderr()).toContain("--callback-port N (or LOCAL_CALLBACK_PORT=N)");
    } finally {
      server.close();
    }
  });

  it.each([
    [["--emulator-port", "70000"], "--emulator-port (LOCAL_EMULATOR_PORT) must be 0..65535"],
    [["--schedule-seconds", "soon"], "--schedule-seconds (LOCAL_SCHEDULE_SECONDS) must be a number"],
    [["--verbose"], "Unknown option '--verbose'"],
  ])("refuses %j with the usage and exit 64", async (args, message) => {
    const output = terminal();
    expect(await startLoop(["--state-dir", stateDir, ...args], output.io)).toBe(64);
    expect(output.stderr()).toContain(message);
    expect(output.stderr()).toContain("Usage: npm start [-- options]");
  });
});

describe("npm start, as a terminal runs it", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  const stateDirs: string[] = [];
  const started: RunningProcess[] = [];
  /** `npm start` in a process group of its own, with a state directory of its own. */
  const npmStart = async (args: readonly string[]) => {
    const stateDir = await mkdtemp(join(tmpdir(), "npm-start-process-"));
    stateDirs.push(stateDir);
    const running = startNpmScript("start", ["--state-dir", stateDir, ...FREE_PORTS, ...args]);
    started.push(running);
    return { running, stateDir };
  };

  afterAll(async () => {
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
    await Promise.all(stateDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it("exits 0 through npm start on Ctrl-C: the terminal's SIGINT and npm's copy of it are one request to stop", async () => {
    const { running: loop, stateDir } = await npmStart(["--schedule-seconds", "0"]);
    await loop.waitForOutput(/sync +live +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
    await loop.waitForOutput(/sync +sandbox-mobile +applied/, WAIT_MS);
    /* What a terminal does on Ctrl-C: SIGINT to every process of the foreground group (npm, its shell, the loop). */
    process.kill(-(loop.child.pid ?? 0), "SIGINT");
    expect(await loop.exited(WAIT_MS)).toBe(0);
    expect(loop.stdout()).toContain(
      "SIGINT: stopping the handlers, the emulator and the stand-ins...\nStopped.",
    );
    expect(loop.stderr()).toBe("");
    for (const secret of await clientSecrets(stateDir)) expect(loop.stdout()).not.toContain(secret);
  });

  it("exits with the code it answers when it cannot start: 64 and the usage for an unknown option", async () => {
    /* local/start.ts as npm start runs it (exec node), without npm's own start: a usage error loads no loop. */
    const refused = startProcess(START, ["--verbose"]);
    started.push(refused);
    expect(await refused.exited(WAIT_MS)).toBe(64);
    expect(refused.stderr()).toContain("Unknown option '--verbose'");
    expect(refused.stderr()).toContain("Usage: npm start [-- options]");
  });

  describe("with a schedule, stopped by SIGTERM to npm", () => {
    const SCHEDULED_RUN =
      /schedule +- +Scheduled Event → config-sync \(every client\)\n.*sync +\S+ +in sync, nothing to change \[schedule\]/;
    let loop: RunningProcess;
    let ports: number[];

    beforeAll(async () => {
      ({ running: loop } = await npmStart(["--schedule-seconds", "1"]));
      const [, emulatorPort] = await loop.waitForOutput(
        /finAPI emulator {5}http:\/\/127\.0\.0\.1:(\d+)/,
        WAIT_MS,
      );
      const [, callbackPort] = await loop.waitForOutput(
        /user-sync callback {2}https:\/\/127\.0\.0\.1:(\d+)/,
        WAIT_MS,
      );
      ports = [Number(emulatorPort), Number(callbackPort)];
      await loop.waitForOutput(/sync +live +applied/, WAIT_MS);
      await loop.waitForOutput(/sync +sandbox +applied/, WAIT_MS);
      await loop.waitForOutput(/sync +sandbox-mobile +applied/, WAIT_MS);
      /* Waited for here, so that the tests hold in either order: the SIGTERM test stops the loop. */
      await loop.waitForOutput(SCHEDULED_RUN, WAIT_MS);
    });

    it("runs the schedule on its own", () => {
      expect(loop.stdout()).toMatch(SCHEDULED_RUN);
    });

    it("stops the loop and frees its ports when npm gets SIGTERM, and exits 0", async () => {
      loop.child.kill("SIGTERM");
      expect(await loop.exited(WAIT_MS)).toBe(0);
      expect(loop.stdout()).toContain(
        "SIGTERM: stopping the handlers, the emulator and the stand-ins...\nStopped.",
      );
      for (const port of ports) {
        expect(await connects(port)).toBe(false);
        const { server } = await takenPort(port);
        server.close();
      }
    });
  });
});
