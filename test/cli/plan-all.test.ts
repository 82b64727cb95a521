import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LambdaApiStandIn, type LocalInvokeResult, startLambdaApi } from "../../local/aws/lambda-api.ts";
import { type SsmStandIn, startSsm } from "../../local/aws/ssm.ts";
import { runCli } from "./support/run-cli.ts";

const FIXTURES = "test/fixtures/cli/plan-all";
const CONTEXT = `${FIXTURES}/cdk.json`;
const DOCUMENTS = `${FIXTURES}/documents`;
const QUERY_SECRET = "do-not-print-me";

interface PlanJson {
  clients: {
    client: string;
    result: string;
    changes: { field: string; from?: unknown; to?: unknown }[];
  }[];
}

describe("finapi-config plan --all", () => {
  let ssm: SsmStandIn;
  let lambda: LambdaApiStandIn;
  let aws: Record<string, string>;
  /* What the deployed config-sync answers a dry run with, per client. */
  const finapiAnswers = new Map<string, LocalInvokeResult>();

  beforeAll(async () => {
    lambda = await startLambdaApi({
      functions: {
        "config-sync": async (payload) =>
          finapiAnswers.get((payload as { client: string }).client) ?? { payload: { results: [] } },
      },
    });
    ssm = await startSsm({
      parameters: {
        "/plan-all/owned": await readFile(`${FIXTURES}/owned.json`, "utf8"),
        "/plan-all/pipeline": JSON.stringify({ refreshTokensValidityPeriod: 3600 }),
      },
    });
    aws = {
      AWS_REGION: "eu-central-1",
      AWS_ACCESS_KEY_ID: "test",
      AWS_SECRET_ACCESS_KEY: "test",
      AWS_ENDPOINT_URL_SSM: ssm.url,
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      AWS_MAX_ATTEMPTS: "1",
    };
  });
  afterAll(async () => {
    await ssm.close();
    await lambda.close();
  });

  it("shows, per client, what merging its repository document changes in Parameter Store, and exits 2", async () => {
    const run = await runCli(
      ["plan", "--all", "--context", CONTEXT, "--documents", DOCUMENTS, "--json"],
      aws,
    );
    expect(run).toMatchObject({ code: 2, stderr: "" });
    const plan = JSON.parse(run.stdout) as PlanJson;
    expect(plan.clients.map((client) => [client.client, client.result])).toEqual([
      ["owned", "in-sync"],
      ["pipeline", "changes"],
      ["fresh", "created"],
      ["elsewhere", "skipped"],
    ]);
    const [owned, pipeline, fresh] = plan.clients;
    expect(owned?.changes).toEqual([]);
    expect(pipeline?.changes).toEqual([
      {
        field: "userNotificationCallbackUrl",
        to: "https://hooks.example.com/finapi/notifications?token=***",
      },
      { field: "refreshTokensValidityPeriod", from: 3600, to: 7200 },
    ]);
    expect(fresh?.changes).toEqual([{ field: "clientAccessTokensValidityPeriod", to: 0 }]);
    expect(run.stdout).not.toContain(QUERY_SECRET);
  });

  it("prints the plan for people, with URLs masked, and reads no finAPI credentials", async () => {
    const run = await runCli(["plan", "--all", "--context", CONTEXT, "--documents", DOCUMENTS], aws);
    expect(run.code).toBe(2);
    expect(run.stdout).toContain(
      `pipeline (/plan-all/pipeline): pushing ${DOCUMENTS}/pipeline.json changes version 1:\n  ~ userNotificationCallbackUrl: (unmanaged) -> "https://hooks.example.com/finapi/notifications?token=***"\n  ~ refreshTokensValidityPeriod: 3600 -> 7200`,
    );
    expect(run.stdout).toContain("fresh (/plan-all/fresh): the parameter does not exist yet");
    expect(run.stdout).toContain("elsewhere (/plan-all/elsewhere): skipped, no repository document");
    expect(run.stdout).toMatch(
      /Plan: 2 client\(s\) to change, 1 unchanged, 1 skipped, 0 invalid, 0 failed\.\n$/,
    );
    expect(run.stdout + run.stderr).not.toContain(QUERY_SECRET);
  });

  it("exits 0 when every repository document matches its parameter", async () => {
    const run = await runCli(["plan", "--all", "--context", CONTEXT, "--json"], aws);
    const plan = JSON.parse(run.stdout) as PlanJson;
    expect(plan.clients.map((client) => client.result)).toEqual(["in-sync", "skipped", "skipped", "skipped"]);
    expect(run.code).toBe(0);
  });

  it("exits 64 naming the file when --context is not a CDK context", async () => {
    const run = await runCli(["plan", "--all", "--context", `${FIXTURES}/owned.json`], aws);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain(`--context ${FIXTURES}/owned.json: has no "context" object`);
  });

  it("asks the deployed config-sync for finAPI's side with --via-function: a dry run of each document", async () => {
    finapiAnswers.set("owned", {
      payload: {
        results: [
          {
            client: "owned",
            outcome: "drift-reported",
            dryRun: true,
            changes: [{ field: "userAccessTokensValidityPeriod", from: 600, to: 3600 }],
          },
        ],
      },
    });
    const run = await runCli(
      ["plan", "--all", "--context", CONTEXT, "--via-function", "config-sync", "--json"],
      aws,
    );
    expect(run).toMatchObject({ code: 2, stderr: "" });
    const [owned] = (JSON.parse(run.stdout) as { clients: { finapi?: unknown }[] }).clients;
    expect(owned?.finapi).toEqual({
      outcome: "drift-reported",
      changes: [{ field: "userAccessTokensValidityPeriod", from: 600, to: 3600 }],
    });
    expect(lambda.invocations.at(-1)).toEqual({
      functionName: "config-sync",
      payload: {
        client: "owned",
        dryRun: true,
        document: JSON.parse(await readFile(`${FIXTURES}/owned.json`, "utf8")),
      },
    });
  });

  it("exits 3 naming the function when config-sync fails", async () => {
    finapiAnswers.set("owned", {
      functionError: { errorType: "TransientSyncFailure", errorMessage: "finAPI is down" },
    });
    const run = await runCli(["plan", "--all", "--context", CONTEXT, "--via-function", "config-sync"], aws);
    expect(run.code).toBe(3);
    expect(run.stderr).toContain("finAPI: failed: config-sync failed: TransientSyncFailure: finAPI is down");
  });
});
