import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FinapiEmulator, startFinapiEmulator } from "../../emulator/index.ts";
import { type LocalServer, startLocalServer } from "../support/local-servers.ts";
import { type CliRun as Run, runCli } from "./support/run-cli.ts";

const CLIENT_SECRET = "Cl1-S3cret-that-must-never-print";

/* The CLI runs in this process (support/run-cli.ts); conveniences.test.ts starts the bin itself. */
describe("finapi-config", () => {
  let emulator: FinapiEmulator;
  let workDir: string;
  const credentials = { FINAPI_CLIENT_ID: "cli-client", FINAPI_CLIENT_SECRET: CLIENT_SECRET };

  beforeAll(async () => {
    emulator = await startFinapiEmulator({
      clients: [
        {
          clientId: "cli-client",
          clientSecret: CLIENT_SECRET,
          configuration: {
            refreshTokensValidityPeriod: 3600,
            userAccessTokensValidityPeriod: 3600,
            clientAccessTokensValidityPeriod: 3600,
          },
        },
      ],
    });
    workDir = await mkdtemp(join(tmpdir(), "finapi-config-cli-"));
  });
  afterAll(() => emulator.close());

  async function documentFile(name: string, document: unknown): Promise<string> {
    const path = join(workDir, name);
    await writeFile(path, typeof document === "string" ? document : JSON.stringify(document));
    return path;
  }

  const expectNoSecret = (run: Run) => expect(run.stdout + run.stderr).not.toContain(CLIENT_SECRET);

  describe("validate", () => {
    it("accepts the example documents and exits 0", async () => {
      const run = await runCli(["validate", "examples/sandbox.json", "examples/live.json"]);
      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toBe(
        "examples/sandbox.json: valid (live rules)\nexamples/live.json: valid (live rules)\n2 document(s) valid.\n",
      );
    });

    it("prints every violation with its file, line, column and field path and exits 1", async () => {
      const file = "test/fixtures/desired-state/every-violation.json";
      const run = await runCli(["validate", "examples/live.json", file]);
      expect(run.code).toBe(1);
      const lines = run.stderr.trim().split("\n");
      expect(lines).toHaveLength(7);
      expect(lines[0]).toBe(
        `${file}:2:3: userNotificationCallbackUrl must not be null: use "" to clear it, or leave the field out to keep finAPI's value [not-null]`,
      );
      expect(lines).toContain(
        `${file}:7:3: clientAccesTokensValidityPeriod is not a field of ClientConfigurationParams; did you mean "clientAccessTokensValidityPeriod"? [unknown-key]`,
      );
      expect(lines.at(-1)).toBe("1 of 2 document(s) invalid.");
    });

    it("refuses a key the document repeats, at the line and column of the repetition", async () => {
      const file = "test/fixtures/desired-state/duplicate-key.json";
      const run = await runCli(["validate", file]);
      expect(run.code).toBe(1);
      expect(run.stderr.split("\n")).toContain(
        `${file}:4:3: clientAccessTokensValidityPeriod appears more than once in its object (first at line 2, column 3); JSON keeps only the last value, so remove the others [duplicate-key]`,
      );
    });

    it("applies sandbox rules when told, where http callback URLs are allowed", async () => {
      const file = await documentFile("http.json", {
        userNotificationCallbackUrl: "http://backend.example.com/n",
      });
      expect((await runCli(["validate", "--environment", "sandbox", file])).code).toBe(0);
      expect((await runCli(["validate", file])).stderr).toContain("[https-on-live]");
    });

    it("counts a missing file as invalid", async () => {
      const run = await runCli(["validate", "no-such-file.json"]);
      expect(run).toMatchObject({
        code: 1,
        stderr: "no-such-file.json: no such file\n1 of 1 document(s) invalid.\n",
      });
    });

    it("exits 64 with the usage for an unknown environment", async () => {
      const run = await runCli(["validate", "--environment", "prod", "examples/live.json"]);
      expect(run.code).toBe(64);
      expect(run.stderr).toContain("--environment must be one of sandbox, live, alpha");
      expect(run.stderr).toContain("Usage: finapi-config validate");
    });
  });

  describe("plan", () => {
    it("prints the diff and exits 2 when changes are pending, changing nothing", async () => {
      const file = await documentFile("plan.json", {
        clientAccessTokensValidityPeriod: 600,
        refreshTokensValidityPeriod: 3600,
      });
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url], credentials);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe(
        `finAPI at ${emulator.url} (sandbox) differs from ${file}:\n  ~ clientAccessTokensValidityPeriod: 3600 -> 600\nPlan: 1 field(s) to change.\n`,
      );
      expect(emulator.configurationOf("cli-client").clientAccessTokensValidityPeriod).toBe(3600);
      expectNoSecret(run);
    });

    it("exits 0 when finAPI matches", async () => {
      const file = await documentFile("same.json", { refreshTokensValidityPeriod: 3600 });
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url], credentials);
      expect(run).toMatchObject({
        code: 0,
        stdout: `No changes: finAPI at ${emulator.url} (sandbox) matches ${file}.\n`,
      });
    });

    it("exits 1 for an invalid document without calling finAPI", async () => {
      emulator.clearRequests();
      const file = await documentFile("invalid.json", "{ not json");
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url], credentials);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${file}:1:3: $ is not valid JSON at line 1, column 3 [json]`);
      expect(run.stderr).toContain("Nothing was sent to finAPI");
      expect(emulator.requests).toEqual([]);
    });

    it("exits 3 and says which variable is missing when credentials are not set", async () => {
      const file = await documentFile("creds.json", {});
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url], {
        FINAPI_CLIENT_ID: "cli-client",
      });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain("FINAPI_CLIENT_SECRET is not set");
    });

    it("exits 3 on bad credentials without printing the secret it was given", async () => {
      const file = await documentFile("bad-creds.json", {});
      const wrongSecret = "Wr0ng-S3cret-value-never-printed";
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url, "--verbose"], {
        FINAPI_CLIENT_ID: "cli-client",
        FINAPI_CLIENT_SECRET: wrongSecret,
      });
      expect(run.code).toBe(3);
      expect(run.stderr).toContain("Error: POST /oauth/token rejected the client credentials (HTTP 401)");
      expect(run.stdout + run.stderr).not.toContain(wrongSecret);
    });

    it("uses the live rules when the base URL is finAPI's live host", async () => {
      const file = await documentFile("live-http.json", {
        userNotificationCallbackUrl: "http://backend.example.com/n",
      });
      const run = await runCli(["plan", "--file", file, "--base-url", "https://live.finapi.io"], credentials);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain("[https-on-live]");
    });

    it("exits 1 for a document that repeats a key, without calling finAPI", async () => {
      emulator.clearRequests();
      const file = "test/fixtures/desired-state/duplicate-key.json";
      const run = await runCli(["plan", "--file", file, "--base-url", emulator.url], credentials);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`${file}:4:3: clientAccessTokensValidityPeriod appears more than once`);
      expect(emulator.requests).toEqual([]);
    });

    it.each([["plan"], ["apply"]])(
      "%s exits 64 naming --base-url for a plain-http base URL that is not loopback, before any request",
      async (command) => {
        const listening = await startLocalServer();
        try {
          /* 0.0.0.0 reaches this machine's listening server, but it is not a loopback name the rule allows. */
          const baseUrl = listening.url.replace("127.0.0.1", "0.0.0.0");
          const run = await runCli(
            [command, "--file", "examples/sandbox.json", "--base-url", baseUrl],
            credentials,
          );
          expect(run.code).toBe(64);
          expect(run.stderr).toMatch(
            /^--base-url must be an absolute https:\/\/ URL \(http:\/\/ only for a loopback host: localhost, 127\.0\.0\.0\/8, ::1\)\n/,
          );
          expect(listening.requests).toEqual([]);
          expectNoSecret(run);
        } finally {
          await listening.close();
        }
      },
    );

    it("exits 64 when --base-url is missing", async () => {
      const run = await runCli(["plan", "--file", "examples/sandbox.json"], credentials);
      expect(run.code).toBe(64);
      expect(run.stderr).toContain("--base-url is required");
    });
  });

  describe("apply", () => {
    it("applies the differing fields, then finds nothing to do on the next run", async () => {
      const file = await documentFile("apply.json", {
        userAccessTokensValidityPeriod: 900,
        userNotificationCallbackUrl: "",
      });
      const first = await runCli(
        ["apply", "--file", file, "--base-url", emulator.url, "--verbose"],
        credentials,
      );
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(
        /^Applied .*apply\.json to finAPI at .* \(sandbox\):\n {2}~ userAccessTokensValidityPeriod: 3600 -> 900\n1 field\(s\) changed \[X-Request-Id finapi-config-sync-[0-9a-f-]+\]\.\n$/,
      );
      expect(first.stderr).toMatch(
        /finAPI call: PATCH \/api\/v1\/clientConfiguration -> 200 \[X-Request-Id /,
      );
      expectNoSecret(first);
      expect(emulator.configurationOf("cli-client").userAccessTokensValidityPeriod).toBe(900);

      const second = await runCli(["apply", "--file", file, "--base-url", emulator.url], credentials);
      expect(second).toMatchObject({ code: 0, stdout: expect.stringMatching(/^No changes/) as string });
    });

    it("exits 3 with finAPI's message when finAPI refuses the change", async () => {
      emulator.enqueueFault({
        match: { method: "PATCH" },
        kind: "status",
        status: 400,
        body: {
          errors: [{ message: "Callback URL is not reachable", code: "BAD_REQUEST", type: "BUSINESS" }],
          date: "2026-11-21 10:00:00.000",
          requestId: "finapi-request-7",
          endpoint: "PATCH /api/v1/clientConfiguration",
          authContext: "1/1",
          bank: null,
        },
      });
      const file = await documentFile("refused.json", {
        userNotificationCallbackUrl: "https://unreachable.example.com/n",
      });
      const run = await runCli(["apply", "--file", file, "--base-url", emulator.url], credentials);
      expect(run.code).toBe(3);
      expect(run.stderr).toBe(
        "Error: PATCH /api/v1/clientConfiguration was rejected by finAPI (HTTP 400): Callback URL is not reachable (BAD_REQUEST) [X-Request-Id finapi-request-7]\n",
      );
    });
  });

  describe("against a finAPI that redirects", () => {
    let elsewhere: LocalServer;
    beforeAll(async () => {
      elsewhere = await startLocalServer();
    });
    afterAll(() => elsewhere.close());

    it.each([
      [301, "POST", "/oauth/token"],
      [307, "POST", "/oauth/token"],
      [308, "GET", "/api/v1/clientConfiguration"],
      [302, "PATCH", "/api/v1/clientConfiguration"],
    ])(
      "exits 3 on a %i answering %s %s, naming only the other origin, which hears nothing",
      async (status, method, path) => {
        emulator.clearRequests();
        emulator.enqueueFault({
          match: { method, path },
          kind: "status",
          status,
          headers: { Location: `${elsewhere.url}/steal?secret=${CLIENT_SECRET}` },
        });
        const file = await documentFile("redirected.json", { userAccessTokensValidityPeriod: 1200 });
        const run = await runCli(
          ["apply", "--file", file, "--base-url", emulator.url, "--verbose"],
          credentials,
        );
        expect(run.code).toBe(3);
        expect(run.stderr).toContain(
          `Error: ${method} ${path} answered HTTP ${status}, a redirect to ${elsewhere.url}: finAPI calls never follow redirects`,
        );
        expect(run.stderr).not.toContain("/steal");
        expectNoSecret(run);
        expect(elsewhere.requests).toEqual([]);
        expect(emulator.requests.filter((request) => request.method === method)).toHaveLength(1);
      },
    );
  });

  describe("help", () => {
    it.each([["validate"], ["plan"], ["apply"]])(
      "prints the usage of %s with --help and exits 0",
      async (command) => {
        const run = await runCli([command, "--help"]);
        expect(run.code).toBe(0);
        expect(run.stdout).toMatch(new RegExp(`^Usage: finapi-config ${command} `));
      },
    );

    it("lists the commands with --help", async () => {
      const run = await runCli(["--help"]);
      expect(run.code).toBe(0);
      for (const command of ["validate", "plan", "apply"]) expect(run.stdout).toContain(`  ${command}`);
    });

    it("exits 64 for an unknown command", async () => {
      const run = await runCli(["deploy"]);
      expect(run.code).toBe(64);
      expect(run.stderr).toMatch(/^Unknown command "deploy"/);
    });
  });
});
