import { join } from "node:path";
import { DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { statusCommand } from "../../cli/commands/status.ts";
import { ExitCode } from "../../cli/io.ts";
import { createStatusStore } from "../../functions/config-sync/status-store.ts";
import type { ClientStatus } from "../../functions/contracts/config-sync.ts";
import { type DynamoDbStandIn, startDynamoDb } from "../../local/aws/dynamodb.ts";
import { runProcess } from "../support/child-process.ts";
import { PROCESS_WAIT_MS } from "../support/timeouts.ts";

const REPOSITORY = join(import.meta.dirname, "..", "..");
const AWS_ENVIRONMENT = {
  AWS_REGION: "eu-central-1",
  AWS_ACCESS_KEY_ID: "test",
  AWS_SECRET_ACCESS_KEY: "test",
};

const statuses: ClientStatus[] = [
  {
    client: "acme",
    at: "2026-05-22T16:44:49.000Z",
    trigger: "parameter-change",
    parameterVersion: 3,
    lambdaRequestId: "5f0c6c38-0d4f-4b7e-9d0a-6a1f1f6f7a01",
    outcome: "applied",
    changes: [
      { field: "refreshTokensValidityPeriod", from: 3600, to: 604800 },
      {
        field: "userSynchronizationCallbackUrl",
        from: null,
        to: "https://callbacks.example.com/user-sync/acme/***",
      },
    ],
    finapiRequestId: "finapi-config-sync-1",
  },
  {
    client: "globex",
    at: "2026-05-22T17:00:02.000Z",
    trigger: "schedule",
    parameterVersion: 7,
    outcome: "in-sync",
    finapiRequestId: "finapi-config-sync-2",
  },
];

const invalid: ClientStatus = {
  client: "initech",
  at: "2026-05-22T17:00:03.000Z",
  trigger: "schedule",
  parameterVersion: 2,
  outcome: "invalid",
  violations: [
    {
      path: "refreshTokensValidityPeriod",
      rule: "range",
      message: "must be 0 (never expires) or 60..2147483647 seconds (it is 30)",
    },
    { path: "userAccesTokensValidityPeriod", rule: "unknown-key", message: "is not a field" },
  ],
};

describe("finapi-config status", () => {
  let dynamo: DynamoDbStandIn;

  beforeAll(async () => {
    dynamo = await startDynamoDb();
    await dynamo.createTable("healthy", "client");
    await dynamo.createTable("troubled", "client");
    await dynamo.createTable("empty", "client");
    const document = DynamoDBDocumentClient.from(dynamo.client);
    for (const status of statuses) await createStatusStore(document, "healthy").record([status]);
    for (const status of [...statuses, invalid])
      await createStatusStore(document, "troubled").record([status]);
    await dynamo.client.send(
      new PutItemCommand({ TableName: "troubled", Item: { client: { S: "legacy" }, state: { S: "ok" } } }),
    );
  });

  afterAll(async () => {
    await dynamo.close();
  });

  async function run(args: readonly string[]) {
    let stdout = "";
    let stderr = "";
    const client = new DynamoDBClient({
      endpoint: dynamo.url,
      region: "eu-central-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
    const code = await statusCommand(
      args,
      {
        stdout: (text) => {
          stdout += text;
        },
        stderr: (text) => {
          stderr += text;
        },
        env: {},
      },
      client,
    );
    client.destroy();
    return { code, stdout, stderr };
  }

  it("prints one aligned line per client, sorted by name, and exits 0 when all are in sync or applied", async () => {
    const { code, stdout } = await run(["--table", "healthy"]);
    expect(stdout).toBe(
      [
        "acme    applied  2026-05-22T16:44:49.000Z  parameter-change  v3  2 field(s) changed: refreshTokensValidityPeriod, userSynchronizationCallbackUrl",
        "globex  in-sync  2026-05-22T17:00:02.000Z  schedule          v7  finAPI matches the document",
        "",
      ].join("\n"),
    );
    expect(code).toBe(ExitCode.Ok);
  });

  it("exits 1 when a client's last outcome needs a person, and skips items it cannot read", async () => {
    const { code, stdout, stderr } = await run(["--table", "troubled"]);
    expect(stdout).toContain(
      "initech  invalid  2026-05-22T17:00:03.000Z  schedule          v2  2 violation(s): refreshTokensValidityPeriod must be 0",
    );
    expect(stdout).toContain("(and 1 more)");
    expect(stderr).toBe(
      "The status of client legacy is not in a format this version understands; skipped.\n",
    );
    expect(code).toBe(ExitCode.Invalid);
  });

  it("shows one client with --client, and prints the stored status as JSON with --json", async () => {
    const { code, stdout } = await run(["--table", "healthy", "--client", "acme", "--json"]);
    expect(
      stdout
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([statuses[0]]);
    expect(code).toBe(ExitCode.Ok);
  });

  it("exits 1 with a hint when the client has no status, or the table has none", async () => {
    const missing = await run(["--table", "healthy", "--client", "nobody"]);
    expect(missing.stderr).toBe(
      "Client nobody has no status in healthy: no run has reconciled it yet, or the name is wrong.\n",
    );
    expect(missing.code).toBe(ExitCode.Invalid);
    expect((await run(["--table", "empty"])).code).toBe(ExitCode.Invalid);
  });

  it("exits 3 with the AWS error when the table cannot be read", async () => {
    const { code, stderr } = await run(["--table", "no-such-table"]);
    expect(stderr).toMatch(/^Cannot read the status table no-such-table: ResourceNotFoundException: /);
    expect(code).toBe(ExitCode.Error);
  });

  it(
    "runs from the CLI entry with the SDK's own endpoint and credential settings",
    async () => {
      const { code, stdout } = await runProcess(
        join(REPOSITORY, "node_modules", ".bin", "node"),
        ["cli/finapi-config.ts", "status", "--table", "healthy", "--client", "globex"],
        { env: { ...AWS_ENVIRONMENT, AWS_ENDPOINT_URL_DYNAMODB: dynamo.url } },
      );
      expect(code).toBe(ExitCode.Ok);
      expect(stdout).toMatch(/^globex {2}in-sync {2}2026-05-22T17:00:02.000Z/);
    },
    PROCESS_WAIT_MS,
  );

  it("refuses to run without --table", async () => {
    await expect(run([])).rejects.toThrow("--table is required");
  });
});
