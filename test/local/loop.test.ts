import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSqs } from "../../local/aws/sqs.ts";
import { clientToken, createUser, deleteAuthorizedUser, userToken } from "../../local/finapi-users.ts";
import { startLambda } from "../../local/lambda-runtime.ts";
import { listen, PortInUseError } from "../../local/listen.ts";
import {
  CALLBACK_PURPOSE,
  EMULATOR_PURPOSE,
  type LocalClient,
  type LocalLoop,
  LocalLoopStartError,
  startLocalLoop,
  startQueueEventSource,
} from "../../local/loop.ts";
import { standInClientConfig } from "../support/stand-in-client.ts";
import { PROCESS_WAIT_MS, WORKER_TIMEOUT_MS } from "../support/timeouts.ts";

const WAIT_MS = PROCESS_WAIT_MS;
const EXAMPLES = new URL("../../examples", import.meta.url).pathname;

const scratch = () => mkdtemp(join(tmpdir(), "local-loop-"));

async function takenPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  return { port: (await listen(server)).port, server };
}

describe("startLocalLoop", { timeout: WORKER_TIMEOUT_MS }, () => {
  let stateDir: string;
  let loop: LocalLoop;
  const EDITED = '{"clientAccessTokensValidityPeriod": 900}\n';

  beforeAll(async () => {
    stateDir = await scratch();
    /* An edit from an earlier run, which the loop keeps. */
    await mkdir(join(stateDir, "parameters"));
    await writeFile(join(stateDir, "parameters", "live.json"), EDITED);
    loop = await startLocalLoop({
      stateDir,
      examplesDir: EXAMPLES,
      emulatorPort: 0,
      callbackPort: 0,
      scheduleMs: 0,
      settleMs: 20,
    });
    await loop.activities.waitFor("the first syncs", {
      since: 0,
      kind: "sync",
      count: 3,
      timeoutMs: WAIT_MS,
    });
  });

  afterAll(async () => {
    await loop.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it("makes one client per example document, named after its file, with its parameter file in the state directory", async () => {
    expect(loop.clients.map((client) => [client.name, client.parameterName])).toEqual([
      ["live", "/finapi-config-sync/live"],
      ["sandbox", "/finapi-config-sync/sandbox"],
      ["sandbox-mobile", "/finapi-config-sync/sandbox-mobile"],
    ]);
    const sandbox = loop.clients[1];
    expect(await readFile(sandbox?.parameterFile ?? "", "utf8")).toBe(
      await readFile(join(EXAMPLES, "sandbox.json"), "utf8"),
    );
  });

  it("keeps a parameter file edited in an earlier run and applies it", async () => {
    expect(await readFile(join(stateDir, "parameters", "live.json"), "utf8")).toBe(EDITED);
    const live = loop.clients[0];
    expect(loop.emulator.configurationOf(live?.clientId ?? "").clientAccessTokensValidityPeriod).toBe(900);
  });

  it("writes the emulated clients' credentials to a file only its owner may read", async () => {
    const file = await stat(loop.credentialsFile);
    expect(file.mode & 0o777).toBe(0o600);
    const credentials = JSON.parse(await readFile(loop.credentialsFile, "utf8")) as {
      clientId: string;
      clientSecret: string;
    }[];
    expect(credentials.map(({ clientId, clientSecret }) => ({ clientId, clientSecret }))).toEqual(
      loop.clients.map(({ clientId, clientSecret }) => ({ clientId, clientSecret })),
    );
  });

  it("sets each client's userSynchronizationCallbackUrl to its own hosted callback", () => {
    for (const client of loop.clients) {
      expect(loop.emulator.configurationOf(client.clientId).userSynchronizationCallbackUrl).toBe(
        `${loop.callbackBaseUrl}/user-sync/${client.name}/${client.callbackSecret}`,
      );
    }
  });

  it("puts the live client into the live user base and the sandbox clients into the sandbox one", () => {
    expect(loop.clients.map(({ name, environment, userBase }) => ({ name, environment, userBase }))).toEqual([
      { name: "live", environment: "live", userBase: "live" },
      { name: "sandbox", environment: "sandbox", userBase: "sandbox" },
      { name: "sandbox-mobile", environment: "sandbox", userBase: "sandbox" },
    ]);
    expect(loop.callbackBaseUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it("calls back the clients of the deleting user base only: the same user id in sandbox and live is two users, two deletions", async () => {
    const userId = `customer-${Date.now().toString(36)}`;
    const client = (name: string) => loop.clients.find((candidate) => candidate.name === name) as LocalClient;
    const deleteThrough = async (creator: LocalClient, deleter: LocalClient) => {
      const password = `pw-${crypto.randomUUID()}`;
      await createUser(loop.emulator.url, await clientToken(loop.emulator.url, creator), userId, password);
      await deleteAuthorizedUser(
        loop.emulator.url,
        await userToken(loop.emulator.url, deleter, userId, password),
      );
      await loop.emulator.callbacksSettled();
    };
    const mark = loop.activities.mark();
    const delivered = () =>
      loop.activities
        .since(mark, "finapi-callback", (activity) => activity.delivery.userId === userId)
        .map(({ client: name, delivery }) => [name, delivery.userBase, delivery.status]);

    await deleteThrough(client("sandbox"), client("sandbox-mobile"));
    expect(delivered().sort()).toEqual([
      ["sandbox", "sandbox", 202],
      ["sandbox-mobile", "sandbox", 202],
    ]);
    await deleteThrough(client("live"), client("live"));
    /* 202 from the https Function URL: finAPI's live environment reached the hosted callback. */
    expect(delivered()).toContainEqual(["live", "live", 202]);
    expect(delivered()).toHaveLength(3);
  });

  it("refuses a callback with a wrong secret: 404, counted as unauthenticated, nothing forwarded", async () => {
    const mark = loop.activities.mark();
    const response = await fetch(`${loop.callbackBaseUrl}/user-sync/sandbox/${"x1".repeat(20)}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ userId: "guessed-user", event: "DELETED" }),
    });
    expect(response.status).toBe(404);
    const [refused] = await loop.activities.waitFor("the refused callback", {
      since: mark,
      kind: "callback",
      timeoutMs: WAIT_MS,
    });
    expect(refused).toEqual({
      kind: "callback",
      status: 404,
      outcome: "unauthenticated",
      userId: "guessed-user",
    });
    /* The publisher forwards asynchronously: an earlier test's deletion may still arrive, so look for this user's. */
    expect(
      loop.activities.since(
        mark,
        "deletion-forwarded",
        (event) => event.event.detail.userId === "guessed-user",
      ),
    ).toEqual([]);
  });

  it("reports a deleted parameter file as a Delete change that leaves finAPI as it is", async () => {
    const sandbox = loop.clients[1];
    if (!sandbox) throw new Error("no sandbox client");
    const before = loop.emulator.configurationOf(sandbox.clientId);
    const mark = loop.activities.mark();
    await rm(sandbox.parameterFile);
    const [skipped] = await loop.activities.waitFor("the deleted parameter", {
      since: mark,
      kind: "sync-skipped",
      timeoutMs: WAIT_MS,
    });
    expect(skipped?.reason).toMatch(/the parameter was deleted/);
    expect(skipped?.client).toBe("sandbox");
    expect(loop.activities.since(mark, "parameter-change")).toEqual([
      {
        kind: "parameter-change",
        client: "sandbox",
        parameterName: sandbox.parameterName,
        operation: "Delete",
      },
    ]);
    expect(loop.emulator.configurationOf(sandbox.clientId)).toEqual(before);
  });

  it("reports a parameter file that no client is named after, with where its document would make it one", async () => {
    const mark = loop.activities.mark();
    const file = join(stateDir, "parameters", "acme.json");
    await writeFile(file, '{"clientAccessTokensValidityPeriod": 900}\n');
    const [unknown] = await loop.activities.waitFor("the unknown parameter file", {
      since: mark,
      kind: "parameter-file-unknown",
      timeoutMs: WAIT_MS,
    });
    expect(unknown).toEqual({
      kind: "parameter-file-unknown",
      file: relative(process.cwd(), file),
      client: "acme",
      example: relative(process.cwd(), join(EXAMPLES, "acme.json")),
    });
    expect(loop.activities.since(mark, "parameter-change")).toEqual([]);
    await rm(file);
  });

  it("keeps every secret out of the handlers' logs", async () => {
    const logs =
      (await readFile(loop.logFiles.configSync, "utf8")) +
      (await readFile(loop.logFiles.userSyncCallback, "utf8"));
    expect(logs).toContain("reconcile outcome");
    for (const secret of loop.secrets) expect(logs).not.toContain(secret);
  });
});

describe("startLocalLoop on ports that are taken", () => {
  it.each([
    ["emulatorPort", EMULATOR_PURPOSE],
    ["callbackPort", CALLBACK_PURPOSE],
  ] as const)(
    "fails with PortInUseError naming the port when %s is taken, and leaves the state directory as it was",
    async (option, purpose) => {
      const stateDir = await scratch();
      /* What a first npm start, still running, has in the state directory. */
      await mkdir(join(stateDir, "logs"));
      await writeFile(join(stateDir, "clients.json"), "the running loop's credentials");
      await writeFile(join(stateDir, "logs", "config-sync.log"), "the running loop's log");
      const { port, server } = await takenPort();
      try {
        const starting = startLocalLoop({
          stateDir,
          examplesDir: EXAMPLES,
          resetDocuments: true,
          emulatorPort: 0,
          callbackPort: 0,
          [option]: port,
          scheduleMs: 0,
        });
        await expect(starting).rejects.toThrow(PortInUseError);
        await expect(starting).rejects.toMatchObject({ port, purpose });
        expect(await readFile(join(stateDir, "clients.json"), "utf8")).toBe("the running loop's credentials");
        expect(await readFile(join(stateDir, "logs", "config-sync.log"), "utf8")).toBe(
          "the running loop's log",
        );
        await expect(stat(join(stateDir, "parameters"))).rejects.toThrow(/ENOENT/);
      } finally {
        server.close();
        await rm(stateDir, { recursive: true, force: true });
      }
    },
  );
});

describe("startLocalLoop with unusable examples", () => {
  it("refuses an example whose file name is not a client name", async () => {
    const stateDir = await scratch();
    const examplesDir = await scratch();
    await writeFile(join(examplesDir, "my client.json"), "{}");
    try {
      await expect(
        startLocalLoop({ stateDir, examplesDir, emulatorPort: 0, callbackPort: 0, scheduleMs: 0 }),
      ).rejects.toThrow(
        new LocalLoopStartError(
          `${join(examplesDir, "my client.json")}: a client is named after its file, and "my client" is not a client name (1..64 characters of a-z A-Z 0-9 - _)`,
        ),
      );
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(examplesDir, { recursive: true, force: true });
    }
  });

  it("refuses a folder without documents", async () => {
    const stateDir = await scratch();
    const examplesDir = await scratch();
    try {
      await expect(
        startLocalLoop({ stateDir, examplesDir, emulatorPort: 0, callbackPort: 0, scheduleMs: 0 }),
      ).rejects.toThrow(`${examplesDir} holds no *.json document`);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
      await rm(examplesDir, { recursive: true, force: true });
    }
  });
});

describe("startQueueEventSource", () => {
  it("hands a queue's messages to a local Lambda and deletes the ones it processed, leaving the failed one", async () => {
    const sqs = await startSqs();
    const client = new SQSClient(standInClientConfig(sqs.url));
    const consumer = await startLambda({
      functionName: "fixture-sqs-batch",
      handlerModule: new URL("../fixtures/local/handlers/sqs-batch.ts", import.meta.url),
      environment: {},
      timeoutMs: 10_000,
    });
    sqs.createQueue("deletions-dlq.fifo", { FifoQueue: "true" });
    const queueUrl = sqs.createQueue("deletions.fifo", {
      FifoQueue: "true",
      RedrivePolicy: JSON.stringify({
        deadLetterTargetArn: sqs.queueArn("deletions-dlq.fifo"),
        maxReceiveCount: 5,
      }),
    });
    const eventSource = startQueueEventSource(sqs, "deletions.fifo", consumer);
    try {
      for (const body of ["processed", "fail"]) {
        await client.send(
          new SendMessageCommand({
            QueueUrl: queueUrl,
            MessageBody: body,
            MessageGroupId: body,
            MessageDeduplicationId: body,
          }),
        );
      }
      await eventSource.drain();
      expect(sqs.bodies("deletions.fifo")).toEqual(["fail"]);
      expect(eventSource.batches.flatMap((batch) => batch.deleted)).toHaveLength(1);
    } finally {
      await eventSource.close();
      await consumer.close();
      client.destroy();
      await sqs.close();
    }
  });
});
