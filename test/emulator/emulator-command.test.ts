import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { listen } from "../../local/listen.ts";
import { type RunningProcess, runProcess, startProcess } from "../support/child-process.ts";
import { PROCESS_TEST_TIMEOUT_MS, PROCESS_WAIT_MS } from "../support/timeouts.ts";
import { type CallbackReceiver, startCallbackReceiver } from "./user-calls.ts";

const CLI = fileURLToPath(new URL("../../cli/finapi-config.ts", import.meta.url));
const CLIENT_SECRET = "Emul4tor-S3cret-never-printed";
const CALLBACK_SECRET = "cb7Secret9InThePath0Abcdef12345";
const credentials = { FINAPI_CLIENT_ID: "walkthrough", FINAPI_CLIENT_SECRET: CLIENT_SECRET };
const STARTED = /listening on (http:\/\/127\.0\.0\.1:\d+)/;

/** Runs a finapi-config command to its end (plan, apply). */
const runCli = (args: readonly string[]) =>
  runProcess(process.execPath, [CLI, ...args], { env: credentials });

describe("finapi-config emulator", { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  let receiver: CallbackReceiver;
  const started: RunningProcess[] = [];
  const start = (args: readonly string[], env: Record<string, string> = credentials) => {
    const running = startProcess(CLI, ["emulator", ...args], env);
    started.push(running);
    return running;
  };

  beforeAll(async () => {
    receiver = await startCallbackReceiver();
  });
  afterEach(() => {
    for (const running of started.splice(0)) running.child.kill("SIGKILL");
  });
  afterAll(() => receiver.close());

  it("serves the walk-through: plan shows changes, apply makes them, plan is clean; it logs each request and stops with 0 on SIGINT", async () => {
    const emulator = start(["--port", "0"]);
    const [, url = ""] = await emulator.waitForOutput(STARTED, PROCESS_WAIT_MS);

    const before = await runCli(["plan", "--file", "examples/sandbox.json", "--base-url", url]);
    expect(before.code).toBe(2);
    expect((await runCli(["apply", "--file", "examples/sandbox.json", "--base-url", url])).code).toBe(0);
    const after = await runCli(["plan", "--file", "examples/sandbox.json", "--base-url", url]);
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
    const emulator = start(["--port", "0"]);
    const [, url = ""] = await emulator.waitForOutput(STARTED, PROCESS_WAIT_MS);
    const callbackUrl = `${receiver.url}/user-sync/walkthrough/${CALLBACK_SECRET}`;
    const document = join(await mkdtemp(join(tmpdir(), "emulator-command-")), "callback.json");
    await writeFile(document, JSON.stringify({ userSynchronizationCallbackUrl: callbackUrl }));
    expect((await runCli(["apply", "--file", document, "--base-url", url])).code).toBe(0);

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
      PROCESS_WAIT_MS,
    );
    expect(receiver.received.at(-1)?.body).toEqual({ userId: "walker", event: "DELETED" });
    expect(emulator.stdout()).not.toContain(CALLBACK_SECRET);
    expect(emulator.stdout()).not.toContain(token);
  });

  it("names the port and the --port option when the port is in use, and exits 3", async () => {
    const blocker = createServer();
    const { port } = await listen(blocker);
    try {
      const emulator = start(["--port", String(port)]);
      expect(await emulator.exited(PROCESS_WAIT_MS)).toBe(3);
      expect(emulator.stderr()).toContain(`port ${port} is already in use. Choose another with --port N`);
    } finally {
      blocker.close();
    }
  });

  it("refuses to start without FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET, with the usage and exit 64", async () => {
    const emulator = start(["--port", "0"], {});
    expect(await emulator.exited(PROCESS_WAIT_MS)).toBe(64);
    expect(emulator.stderr()).toContain("FINAPI_CLIENT_ID and FINAPI_CLIENT_SECRET must be set");
    expect(emulator.stderr()).toContain("Usage: finapi-config emulator");
  });

  it("refuses a port that is not a number with exit 64", async () => {
    const emulator = start(["--port", "eighty"]);
    expect(await emulator.exited(PROCESS_WAIT_MS)).toBe(64);
    expect(emulator.stderr()).toContain("--port must be a port number, 0..65535");
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
