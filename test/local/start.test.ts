import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type RunningProcess, startProcess } from "./support/running-process.ts";

const START = fileURLToPath(new URL("../../local/start.ts", import.meta.url));
const WAIT_MS = 20_000;
const FREE_PORTS = ["--emulator-port", "0", "--callback-port", "0"];

async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  return { port: typeof address === "object" && address ? address.port : 0, server };
}

describe("npm start (local/start.ts)", () => {
  let stateDir: string;
  const started: RunningProcess[] = [];
  const start = (args: readonly string[], env: Record<string, string> = {}) => {
    const running = startProcess(START, ["--state-dir", stateDir, ...args], env);
    started.push(running);
    return running;
  };

  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "npm-start-"));
  });
  afterEach(async () => {
    for (const running of started.splice(0)) running.child.kill("SIGKILL");
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
